#!/usr/bin/env bash
# The Colyseus side-by-side: installs the pinned packages (npm ci), then runs
#   run.sh test
#   run.sh server --mode messages|state [--patch-ms 50|100] [--nearest 50] [--port 2567]
#   run.sh load   --url ws://… --server-pid PID --players N [--radius M] [--mode state] …
#   run.sh bench  --mode messages|state --players 1000,1500 [--radius 5000] [--idle 1000] …
# (see README.md beside this file).
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "run.sh needs Node.js 20 or later and npm" >&2; exit 1; }
# Install when nothing is installed yet or the lockfile is newer than the install.
if ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
    npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error >&2
fi

what="${1:-}"
shift || true
case "$what" in
    install) ;;
    test) exec node --test test/ "$@" ;;
    server) exec node src/server.mjs "$@" ;;
    load) exec node src/load.mjs "$@" ;;
    bench) exec node src/bench.mjs "$@" ;;
    *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac
