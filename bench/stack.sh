#!/usr/bin/env bash
# The shape of docker-compose.yml on one machine, without a container engine:
# PostGIS and Redis, a migrate + seed, WEB_PROCESSES production server
# processes (deploy/serve.sh) with the production settings, and nginx in front
# of them on PORT with the proxy settings of deploy/nginx.conf. For load runs
# against a production set-up:
#
#   THROTTLE_REGISTER=100000/minute FLAG_PLACEMENT_RANGE_M=5100 FLAG_SEPARATION_M=0 \
#       FLAG_RADIUS_M=1 bench/stack.sh &
#   .venv/bin/python -m loadtest --server http://127.0.0.1:8000 …
#
# (a registration throttle that lets the players in, and placement rules that
# let each player's flag stand within the load tool's default --radius of
# 5,000 m: see `python -m loadtest --help`). Ctrl-C or SIGTERM stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/services.sh

processes=${WEB_PROCESSES:-2}
port=${PORT:-8000}

scripts/bootstrap.sh run
ensure_postgis
ensure_redis
apt_install_missing nginx-light

run_dir=$(mktemp -d -t mmo-stack.XXXXXX)
export DJANGO_SETTINGS_MODULE=mmo.settings.production
export DEBUG=false
export SECRET_KEY=${SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
# Plain HTTP on localhost, as .env.example has it for the Compose stack.
export SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
export SECURE_HSTS_SECONDS=0
export STATIC_ROOT="$run_dir/static" LOG_LEVEL=${LOG_LEVEL:-WARNING}

.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_world
.venv/bin/python manage.py collectstatic --noinput -v0

pids=()
stop_all() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait
    rm -rf "$run_dir"
}
trap stop_all EXIT INT TERM

upstream=""
for n in $(seq 1 "$processes"); do
    web_port=$((port + 100 + n))
    PATH="$PWD/.venv/bin:$PATH" deploy/serve.sh --host 127.0.0.1 --port "$web_port" \
        >"$run_dir/web-$n.log" 2>&1 &
    pids+=($!)
    upstream+="    server 127.0.0.1:$web_port;"$'\n'
done

# deploy/nginx.conf, with the processes above instead of Docker's resolver.
awk -v upstream="$upstream" -v port="$port" '
    /^resolver / { next }
    /server web:8000 resolve;/ { printf "%s", upstream; next }
    /listen 8000;/ { sub("8000", port) }
    { print }
' deploy/nginx.conf >"$run_dir/site.conf"
cat >"$run_dir/nginx.conf" <<EOF
worker_processes 1;
pid $run_dir/nginx.pid;
error_log $run_dir/nginx-error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $run_dir/client-body;
    proxy_temp_path $run_dir/proxy;
    include $run_dir/site.conf;
}
EOF
nginx -c "$run_dir/nginx.conf" -g 'daemon off;' &
pids+=($!)

for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1; then
        log "serving on http://127.0.0.1:$port/ ($processes processes behind nginx; logs in $run_dir)"
        wait
        exit 0
    fi
    sleep 1
done
die "the stack did not become healthy; see $run_dir"
