#!/usr/bin/env bash
# The whole test run behind `make test`: prepare the machine, make PostGIS and
# Redis reachable, validate the Compose file, run the suite on PostGIS + Redis,
# then its smoke subset on the embedded default (SpatiaLite, in-memory layers).
# Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/services.sh

scripts/bootstrap.sh test
ensure_postgis
ensure_redis

log "lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

log "validating docker-compose.yml"
docker-compose --env-file .env.example -f docker-compose.yml config -q

log "full suite on PostGIS + Redis"
.venv/bin/python -m pytest "$@"

log "smoke subset on the embedded default"
embedded_var=$(mktemp -d)
trap 'rm -rf "$embedded_var"' EXIT
env -u DATABASE_URL -u REDIS_URL MMO_VAR_DIR="$embedded_var" \
    .venv/bin/python -m pytest -m smoke "$@"
