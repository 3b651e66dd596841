# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Sourced, never executed.
#
# Layout (all overridable through the environment):
#   DOCSVC_RUN_DIR    runtime data, logs and pid files  (default <repo>/.cache/run, gitignored)
#   DOCSVC_CACHE_DIR  built binaries kept across runs   (default ~/.cache/docsvc)
#
# Every service script follows the same contract: `install`, `start`, `stop`,
# `status`; all idempotent; `start` implies `install` and only returns 0 once
# the service really answers.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_DIR/../.." && pwd)"
RUN_DIR="${DOCSVC_RUN_DIR:-$REPO_ROOT/.cache/run}"
CACHE_DIR="${DOCSVC_CACHE_DIR:-$HOME/.cache/docsvc}"

# CI has no stdin and no one to answer debconf questions.
export DEBIAN_FRONTEND=noninteractive

log() { printf '[%s] %s\n' "${SERVICE_NAME:-services}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------

# True when every named package is fully installed.
debs_installed() {
    local pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || return 1
    done
}

# apt-get with a wait on the dpkg lock: another apt run (an image bootstrap,
# unattended-upgrades, or our own scripts running in parallel from `up`) may
# hold it. Our own calls are additionally serialised with flock so that two
# of them never race each other for the lock.
_apt() {
    mkdir -p "$CACHE_DIR"
    flock "$CACHE_DIR/apt.lock" \
        apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold "$@"
}

# Install Debian packages if any is missing. `apt-get update` runs first
# because a fresh image has empty package lists (retried, since the lists
# lock is not covered by DPkg::Lock::Timeout on every apt version).
apt_install() {
    debs_installed "$@" && return 0
    if [[ $EUID -ne 0 ]]; then
        die "missing Debian packages: $* (run this script as root, or apt-get install them)"
    fi
    log "apt-get install $*"
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        _apt update && break
        [[ $try -lt 10 ]] || die "apt-get update failed"
        log "apt-get update failed (lock held?), retrying in 10s"
        sleep 10
    done
    _apt install --no-install-recommends "$@" || die "apt-get install $* failed"
    debs_installed "$@" || die "packages still not installed after apt-get: $*"
}

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

# Pid stored in a pid file, if that process is still alive.
pid_alive() {
    local pidfile="$1" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(head -n1 "$pidfile" | tr -dc '0-9')"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

# Stop the process of a pid file: TERM, wait up to $2 seconds, then KILL.
stop_pidfile() {
    local pidfile="$1" timeout="${2:-30}" pid i
    if ! pid="$(pid_alive "$pidfile")"; then
        log "not running"
        rm -f "$pidfile"
        return 0
    fi
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.1
    done
    log "pid $pid did not exit after ${timeout}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
    rm -f "$pidfile"
}

# Start a long-running command detached from this script: its own session
# (no SIGHUP when the calling terminal/CI step ends), stdin from /dev/null and
# output to a log file (so it never holds the caller's pipes open).
# Usage: daemonize PIDFILE LOGFILE cmd args...
daemonize() {
    local pidfile="$1" logfile="$2"
    shift 2
    # Without job control a background child is not a process-group leader,
    # so setsid does not fork again and $! is the daemon's own pid.
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
}

# Poll `check_cmd...` every 0.5s until it succeeds, for at most $1 seconds.
# Fails early if the pid file's process died. On failure prints the last
# lines of the log. Usage: wait_until TIMEOUT PIDFILE LOGFILE cmd args...
wait_until() {
    local timeout="$1" pidfile="$2" logfile="$3"
    shift 3
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n "$pidfile" ]] && ! pid_alive "$pidfile" >/dev/null; then
            log "process exited during startup; last log lines of $logfile:"
            tail -n 40 "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.5
    done
    log "did not answer within ${timeout}s; last log lines of $logfile:"
    tail -n 40 "$logfile" >&2 2>/dev/null || true
    return 1
}

# True if something already listens on 127.0.0.1:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Standard sub-command dispatch: the service script defines do_install,
# do_start, do_stop, do_status and do_env (prints `export NAME='value'`
# lines for .cache/services.env; `up` collects them).
dispatch() {
    local cmd="${1:-}"
    case "$cmd" in
        install) do_install ;;
        start) do_install && do_start ;;
        stop) do_stop ;;
        status) do_status ;;
        restart) do_stop && do_install && do_start ;;
        env) do_env ;;
        *)
            echo "usage: $(basename "$0") install|start|stop|status|restart|env" >&2
            exit 2
            ;;
    esac
}
