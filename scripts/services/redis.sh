#!/usr/bin/env bash
# Redis for the test suite: Debian's redis-server binary running our OWN
# process (own config, port, pid file) under .cache/run/redis; the system
# service, if any, is left alone. No persistence: data is throw-away.
# Usage: redis.sh install|start|stop|status|restart
set -euo pipefail
SERVICE_NAME=redis
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${DOCSVC_REDIS_PORT:-56379}"
REDIS_DIR="$RUN_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

do_install() {
    # redis-tools (redis-cli) comes with redis-server as a dependency.
    apt_install redis-server redis-tools
}

ping() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

write_config() {
    mkdir -p "$REDIS_DIR"
    cat >"$REDIS_CONF" <<EOF
# Written by scripts/services/redis.sh at every start; edits are lost.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
# redis forks itself into the background and writes its own pid file.
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
dir $REDIS_DIR
# No RDB snapshots, no AOF: tests flush what they need.
save ""
appendonly no
databases 16
EOF
}

do_start() {
    if pid_alive "$REDIS_PID" >/dev/null && ping; then
        log "already running on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    if port_busy "$REDIS_PORT"; then
        die "port $REDIS_PORT is taken by another process (not our redis, pid file $REDIS_PID)"
    fi
    write_config
    rm -f "$REDIS_PID"
    log "starting on 127.0.0.1:$REDIS_PORT"
    # setsid: own session; daemonize yes detaches it from our stdio.
    setsid redis-server "$REDIS_CONF" </dev/null >>"$REDIS_LOG" 2>&1 ||
        { tail -n 20 "$REDIS_LOG" >&2 || true; die "redis-server failed to start"; }
    # The pid file appears once the daemon has forked; then wait for PONG.
    wait_until 30 "" "$REDIS_LOG" test -s "$REDIS_PID" || die "redis did not write $REDIS_PID"
    wait_until 30 "$REDIS_PID" "$REDIS_LOG" ping || die "redis did not answer PING"
    log "ready: redis://127.0.0.1:$REDIS_PORT/0"
}

do_stop() {
    stop_pidfile "$REDIS_PID" 15
}

do_status() {
    if pid_alive "$REDIS_PID" >/dev/null && ping; then
        echo "redis: running on 127.0.0.1:$REDIS_PORT (pid $(pid_alive "$REDIS_PID"))"
    else
        echo "redis: not running"
        return 3
    fi
}

do_env() {
    echo "export DOCSVC_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
}

dispatch "$@"
