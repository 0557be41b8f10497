# Make PostGIS and Redis reachable for the tests; sourced by scripts/test.sh.
# Uses DATABASE_URL and REDIS_URL when set, otherwise the standard local ports,
# installing and starting local servers where nothing answers.

DEFAULT_DATABASE_URL="postgis://mmo:mmo@127.0.0.1:5432/mmo"
DEFAULT_REDIS_URL="redis://127.0.0.1:6379/1"

libpq_url() { echo "postgresql://${1#*://}"; }

postgres_major() {
    ls /etc/postgresql 2>/dev/null | sort -n | tail -1
}

start_local_postgres() {
    local port=$1 major
    if [ -z "$(postgres_major)" ]; then
        apt_install_missing postgresql
    fi
    major=$(postgres_major)
    [ -n "$major" ] || die "PostgreSQL is installed but has no cluster"
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $2}' | grep -qx main; then
        as_root pg_createcluster "$major" main --port "$port" >/dev/null
    fi
    log "starting PostgreSQL $major"
    as_root pg_ctlcluster --skip-systemctl-redirect "$major" main start || true
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1 && return 0
        sleep 1
    done
    die "PostgreSQL did not start on port $port"
}

ensure_postgis() {
    local given=${DATABASE_URL:-}
    export DATABASE_URL=${DATABASE_URL:-$DEFAULT_DATABASE_URL}
    local url host port
    url=$(libpq_url "$DATABASE_URL")
    host=$(url_host "$DATABASE_URL")
    port=$(url_port "$DATABASE_URL" 5432)

    if ! pg_isready -d "$url" -t 3 >/dev/null 2>&1; then
        if [ -n "$given" ] && ! is_local_host "$host"; then
            die "the database at DATABASE_URL does not answer"
        fi
        start_local_postgres "$port"
    fi

    if ! psql "$url" -Atqc "select 1" >/dev/null 2>&1; then
        is_local_host "$host" || die "cannot log in to the database at DATABASE_URL"
        # A local server without our role and database yet: create them as
        # the postgres superuser. The role must create the test database and
        # the postgis extension, hence SUPERUSER (local test servers only).
        local user password database
        user=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.unquote(p.username or "postgres"))' "$DATABASE_URL")
        password=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.unquote(p.password or ""))' "$DATABASE_URL")
        database=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.unquote(p.path.lstrip("/")) or "postgres")' "$DATABASE_URL")
        log "creating database role $user and database $database"
        # From /, which the postgres user can enter (the checkout may not be).
        (cd / && as_root runuser -u postgres -- psql -p "$port" -qv ON_ERROR_STOP=1 \
            -v user="$user" -v password="$password") <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER PASSWORD %L', :'user', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SQL
        (cd / && as_root runuser -u postgres -- psql -p "$port" -qv ON_ERROR_STOP=1 \
            -v user="$user" -v database="$database") <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
SQL
        psql "$url" -Atqc "select 1" >/dev/null || die "cannot log in to the database at $host:$port"
    fi

    if [ -z "$(psql "$url" -Atqc "select 1 from pg_available_extensions where name = 'postgis'")" ]; then
        is_local_host "$host" || die "the database server at DATABASE_URL has no PostGIS"
        local major
        major=$(psql "$url" -Atqc "select current_setting('server_version_num')::int / 10000")
        apt_install_missing "postgresql-$major-postgis-3"
    fi
    PGOPTIONS="-c client_min_messages=warning" psql "$url" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    log "PostGIS ready at $host:$port"
}

ensure_redis() {
    local given=${REDIS_URL:-}
    export REDIS_URL=${REDIS_URL:-$DEFAULT_REDIS_URL}
    local host port
    host=$(url_host "$REDIS_URL")
    port=$(url_port "$REDIS_URL" 6379)
    if [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" != PONG ]; then
        if [ -n "$given" ] && ! is_local_host "$host"; then
            die "Redis at REDIS_URL does not answer"
        fi
        apt_install_missing redis-server
        log "starting Redis on port $port"
        mkdir -p /tmp/mmo-redis
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" \
            --appendonly no --dir /tmp/mmo-redis --logfile /tmp/mmo-redis/redis.log
        for _ in $(seq 1 20); do
            [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = PONG ] && break
            sleep 0.5
        done
        [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = PONG ] || die "Redis did not start on port $port"
    fi
    log "Redis ready at $host:$port"
}
