#!/bin/sh
# Set up iredapi-ldap on a fresh Debian machine (run as root) and either serve or test.
#   ./bootstrap.sh serve [iredapi-ldap serve options]   API on the embedded default
#   ./bootstrap.sh test  [pytest options]               import layering, style, whole test suite
set -eu
cd "$(dirname "$0")"
mode="${1:-}"
[ $# -gt 0 ] && shift

# mlmmj: the embedded default keeps its lists' spool in --data-dir (/api/ml works at once).
# postfix: the mail queue routes act on a private instance (docs/operations.md).
RUNTIME_DEBS="slapd ldap-utils mlmmj postfix"
# The tests also drive the real mail stack and real PostgreSQL and MariaDB servers
# (mariadb-server brings mariadb-client), and the real sudo (the mail host helper's
# sudoers drop-in is checked with visudo and used through sudo).
TEST_DEBS="dovecot-core dovecot-ldap postfix postfix-ldap postgresql mariadb-server redis-server sudo"
PYTHON_DEBS="python3 python3-venv python3-pip"

apt_install() {
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "bootstrap: missing Debian packages:$missing (run as root or apt-get install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Postfix must install without asking; no system mail configuration is needed.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
}

python_ok() {
    command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

case "$mode" in
    serve) debs="$RUNTIME_DEBS" ; extra="" ;;
    test)  debs="$RUNTIME_DEBS $TEST_DEBS" ; extra="[test]" ;;
    *) echo "usage: $0 serve|test [options]" >&2; exit 2 ;;
esac

python_ok || apt_install $PYTHON_DEBS
# shellcheck disable=SC2086
apt_install $debs

# Debian starts system daemons on install; the project runs its own private ones.
for svc in slapd dovecot postfix postgresql mariadb mlmmj redis-server; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" 2>/dev/null || true; fi
    if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".$extra"
# The message catalogs (.po) compiled to what the app reads (.mo); docs/operations.md#languages.
.venv/bin/pybabel -q compile -d iredapi_ldap/translations

if [ "$mode" = serve ]; then
    exec .venv/bin/iredapi-ldap serve "$@"
fi
# The checks that need no server first (setup.cfg [importlinter], ruff.toml), then the tests.
.venv/bin/lint-imports
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
