#!/usr/bin/env bash
# PostgreSQL for the test suite: Debian's server binaries, but our OWN cluster
# (initdb) under .cache/run/postgres on a non-default port, not the system's
# "main" cluster. Usage: postgres.sh install|start|stop|status|restart
#
# Connection: 127.0.0.1:${DOCSVC_PG_PORT:-55432}, password auth (scram):
#   superuser  postgres / postgres   (DOCSVC_TEST_PG_ADMIN_URL: creates/drops databases)
#   app role   docsvc   / docsvc     (DOCSVC_TEST_DATABASE_URL, owns docsvc_test)
# docsvc is a superuser too: the tests create a fresh database per test as
# postgres and then migrate it as docsvc, which on PostgreSQL 15 (no CREATE on
# schema public for non-owners) only works for a superuser. Test cluster only.
set -euo pipefail
SERVICE_NAME=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${DOCSVC_PG_PORT:-55432}"
PG_SUPERUSER_PASSWORD=postgres
PG_APP_USER=docsvc
PG_APP_PASSWORD=docsvc
PG_APP_DB=docsvc_test

PG_DIR="$RUN_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

# Newest installed server version's binaries (Debian keeps them out of PATH).
pg_bin() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    [[ -n "$d" && -x "$d/initdb" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    echo "$d"
}

# The server refuses to run as root, so as root we run every server-side
# command as the `postgres` system user that the Debian package creates.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# psql as the superuser over TCP (the cluster has no unix socket: a socket
# path inside a deep checkout can exceed the 107-byte limit).
admin_psql() {
    PGPASSWORD="$PG_SUPERUSER_PASSWORD" "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

do_install() {
    apt_install postgresql postgresql-contrib
}

# The postgres user must be able to reach the data directory. A checkout under
# a private home (e.g. /root, mode 700) is not reachable: then keep the cluster
# in /var/tmp and leave a symlink at .cache/run/postgres. The server is always
# given the resolved path, since it cannot walk through the private directory.
use_pg_dir() {
    PG_DIR="$1"
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
}
[[ -L "$PG_DIR" ]] && use_pg_dir "$(readlink -f "$PG_DIR")"

prepare_dir() {
    mkdir -p "$RUN_DIR"
    if [[ $EUID -ne 0 ]]; then
        mkdir -p "$PG_DIR"
        return
    fi
    if [[ ! -e "$PG_DIR" ]]; then
        mkdir -p "$PG_DIR"
        chown postgres:postgres "$PG_DIR"
        chmod 700 "$PG_DIR"
    fi
    if ! runuser -u postgres -- test -w "$PG_DIR/"; then
        local link="$PG_DIR" alt
        alt="/var/tmp/docsvc-postgres-$(printf '%s' "$link" | cksum | cut -d' ' -f1)"
        log "user postgres cannot reach $link; keeping the cluster in $alt"
        mkdir -p "$alt"
        chown postgres:postgres "$alt"
        chmod 700 "$alt"
        rm -rf "$link"
        ln -s "$alt" "$link"
        use_pg_dir "$alt"
    fi
}

init_cluster() {
    local bin
    bin="$(pg_bin)"
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        local have want
        have="$(cat "$PG_DATA/PG_VERSION")"
        want="$(basename "$(dirname "$bin")")"
        [[ "$have" == "$want" ]] || die "cluster in $PG_DATA is PostgreSQL $have but server is $want; remove $PG_DIR to recreate it"
        return 0
    fi
    log "initdb in $PG_DATA"
    local pwfile="$PG_DIR/.pwfile"
    printf '%s\n' "$PG_SUPERUSER_PASSWORD" >"$pwfile"
    [[ $EUID -ne 0 ]] || chown postgres:postgres "$pwfile"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
        { tail -n 20 "$PG_DIR/initdb.log" >&2; rm -f "$pwfile"; die "initdb failed"; }
    rm -f "$pwfile"
    # Our settings live in a separate file rewritten at every start, so a
    # change of port here needs no re-initdb.
    echo "include_if_exists = 'docsvc.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

write_config() {
    # fsync/full_page_writes off: this is throw-away test data, speed matters.
    as_pg tee "$PG_DATA/docsvc.conf" >/dev/null <<EOF
# Written by scripts/services/postgres.sh at every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = '128MB'
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
EOF
}

is_ready() {
    "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
}

ensure_database() {
    admin_psql -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER;
  END IF;
END \$\$;
ALTER ROLE $PG_APP_USER LOGIN SUPERUSER PASSWORD '$PG_APP_PASSWORD';
SELECT 'CREATE DATABASE $PG_APP_DB OWNER $PG_APP_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_APP_DB') \gexec
SQL
}

do_start() {
    prepare_dir
    init_cluster
    if pid_alive "$PG_DATA/postmaster.pid" >/dev/null && is_ready; then
        log "already running on 127.0.0.1:$PG_PORT"
        ensure_database
        return 0
    fi
    if port_busy "$PG_PORT"; then
        die "port $PG_PORT is taken by another process (not our cluster in $PG_DATA)"
    fi
    write_config
    log "starting on 127.0.0.1:$PG_PORT"
    # setsid: its own session, so the server outlives this script's terminal.
    # pg_ctl -w waits until the server accepts connections (-t seconds).
    local as_pg_prefix=()
    [[ $EUID -ne 0 ]] || as_pg_prefix=(runuser -u postgres --)
    if ! setsid "${as_pg_prefix[@]}" "$(pg_bin)/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 30 -s </dev/null >/dev/null 2>&1; then
        log "pg_ctl start failed; last lines of $PG_LOG:"
        tail -n 40 "$PG_LOG" >&2 || true
        exit 1
    fi
    wait_until 30 "$PG_DATA/postmaster.pid" "$PG_LOG" is_ready || die "PostgreSQL did not come up"
    ensure_database
    log "ready: postgresql://$PG_APP_USER:***@127.0.0.1:$PG_PORT/$PG_APP_DB"
}

do_stop() {
    if [[ ! -d "$PG_DATA" ]] || ! pid_alive "$PG_DATA/postmaster.pid" >/dev/null; then
        log "not running"
        return 0
    fi
    log "stopping"
    # Fast shutdown: roll back open transactions, no waiting for clients.
    as_pg "$(pg_bin)/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 30 -s ||
        stop_pidfile "$PG_DATA/postmaster.pid" 10
}

do_status() {
    if [[ -d "$PG_DATA" ]] && pid_alive "$PG_DATA/postmaster.pid" >/dev/null && is_ready; then
        echo "postgres: running on 127.0.0.1:$PG_PORT (pid $(pid_alive "$PG_DATA/postmaster.pid"), data $PG_DATA)"
    else
        echo "postgres: not running"
        return 3
    fi
}

do_env() {
    echo "export DOCSVC_TEST_DATABASE_URL='postgresql+psycopg://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/$PG_APP_DB'"
    echo "export DOCSVC_TEST_PG_ADMIN_URL='postgresql+psycopg://postgres:$PG_SUPERUSER_PASSWORD@127.0.0.1:$PG_PORT/postgres'"
}

dispatch "$@"
