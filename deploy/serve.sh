#!/bin/sh
# The production ASGI server of one process: uvicorn on uvloop (with the
# servers of mmo/servers/event_loop.py, which accept up to 64 waiting
# connections a turn of the loop, not one), httptools for
# HTTP and the sans-I/O websockets implementation for the game's socket
# (docs/performance.md has the figures that chose it over daphne, which
# `make run` keeps). Scale out with more processes behind the load balancer,
# never with --workers: each process is one event loop with its own players.
#
#   deploy/serve.sh [uvicorn options, which override these]
#
# ASGI_APP: the application (mmo.asgi:application; the benchmarks serve others).
# FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-* headers are believed
# (127.0.0.1 by default; docker-compose.yml sets '*', where only the load
# balancer reaches the server). LOG_LEVEL as for the application, except that
# the server's own log stays at info or above: at debug it writes every
# handshake's headers, bearer tokens included.
#
# No permessage-deflate: its compressor and decompressor hold about 48 KiB per
# connection for as long as it lasts, more than all the rest of an idle
# player; frames are small JSON, and daphne never compressed them either.
set -eu
log_level=$(printf '%s' "${LOG_LEVEL:-info}" | tr '[:upper:]' '[:lower:]')
case "$log_level" in debug | trace) log_level=info ;; esac
exec uvicorn "${ASGI_APP:-mmo.asgi:application}" \
    --host 0.0.0.0 --port 8000 \
    --loop mmo.servers.event_loop:new_event_loop --http httptools --ws websockets-sansio \
    --lifespan off \
    --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --ws-max-size 1048576 \
    --ws-per-message-deflate false \
    --timeout-graceful-shutdown 20 \
    --log-level "$log_level" \
    "$@"
