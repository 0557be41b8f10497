# Shell functions shared by scripts/bootstrap.sh and scripts/test.sh.
# Each one checks first and only does work that is missing.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "root is needed to run: $*"
    fi
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# apt_install_missing PACKAGE...: install the Debian packages not installed yet.
APT_UPDATED=""
apt_install_missing() {
    local missing=() package
    for package in "$@"; do
        package_installed "$package" || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing system packages (${missing[*]}) and no apt-get to install them"
    log "installing system packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# True when the Python given can build the virtualenv: 3.10+, venv, and an
# sqlite3 module that loads extensions (SpatiaLite needs that).
python_usable() {
    "$1" - <<'PY' >/dev/null 2>&1
import sqlite3, sys, venv, ensurepip
assert sys.version_info >= (3, 10)
sqlite3.connect(":memory:").enable_load_extension(True)
PY
}

find_python() {
    local candidate
    for candidate in ${PYTHON:-} /usr/bin/python3 python3.12 python3.11 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_usable "$(command -v "$candidate")"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# url_host URL: the host part of a database or Redis URL.
url_host() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    case "$rest" in
        \[*) rest=${rest#[}; echo "${rest%%]*}" ;;
        *) echo "${rest%%:*}" ;;
    esac
}

url_port() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%/*}
    case "$rest" in
        *\]:*|[!\[]*:*) echo "${rest##*:}" ;;
        *) echo "$2" ;;
    esac
}

is_local_host() {
    case "$1" in 127.0.0.1|localhost|::1|"") return 0 ;; *) return 1 ;; esac
}
