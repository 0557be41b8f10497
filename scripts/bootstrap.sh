#!/usr/bin/env bash
# Prepare this machine to run the server (profile "run") or its tests
# (profile "test"): system libraries, then the virtualenv in .venv with the
# pinned requirements. A second call finds everything in place and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=${1:-run}
case "$profile" in
    run) requirements=requirements.txt ;;
    test) requirements=requirements-dev.txt ;;
    *) die "usage: scripts/bootstrap.sh run|test" ;;
esac

# GeoDjango loads GDAL, GEOS and PROJ (gdal-bin brings all three) and, for the
# embedded database, the SpatiaLite extension.
packages=(ca-certificates python3 python3-venv gdal-bin libsqlite3-mod-spatialite)
if [ "$profile" = test ]; then
    # Clients for the service checks, the browser for the admin map test and
    # the Compose file validator.
    packages+=(postgresql-client redis-tools chromium docker-compose)
fi
apt_install_missing "${packages[@]}"

if [ ! -x .venv/bin/python ] || ! python_usable .venv/bin/python; then
    python=$(find_python) || die "no Python 3.10+ that can load SQLite extensions; install Debian's python3 and python3-venv"
    log "creating .venv with $python"
    rm -rf .venv
    "$python" -m venv .venv
fi

stamp=.venv/.installed-$profile
wanted=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    log "installing $requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
    if [ "$profile" = test ]; then
        # The test requirements include the runtime ones.
        cat requirements.txt requirements.txt | sha256sum | cut -d' ' -f1 > .venv/.installed-run
    fi
fi
