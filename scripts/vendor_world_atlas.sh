#!/usr/bin/env bash
# Refreshes mmo/static/vendor/world-atlas/ from the npm package world-atlas: Natural
# Earth's 1:50m countries and land (public domain) as TopoJSON, which OpenLayers reads
# as it is (ol.format.TopoJSON), so nothing is converted. Needs npm; run it by hand.
set -euo pipefail
VERSION="${1:-2.0.2}"
TARGET="$(cd "$(dirname "$0")/.." && pwd)/mmo/static/vendor/world-atlas"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "world-atlas@$VERSION" >/dev/null && tar xzf world-atlas-*.tgz)
mkdir -p "$TARGET"
cp "$WORK/package/countries-50m.json" "$WORK/package/LICENSE" "$TARGET/"
echo "world-atlas@$VERSION copied to $TARGET"
