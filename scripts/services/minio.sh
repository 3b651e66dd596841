#!/usr/bin/env bash
# MinIO for the test suite, built from source with `go install` (MinIO ships
# no Debian package and nothing but the Go module proxy is reachable), pinned
# to one release. The binary is cached in $DOCSVC_CACHE_DIR/bin, so only the
# first run on a machine pays for the build (a few minutes on 2 cores).
# One server, one drive: versioning and object lock both work in that mode.
# Usage: minio.sh install|start|stop|status|restart
set -euo pipefail
SERVICE_NAME=minio
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The pinned build. The Go proxy knows MinIO only by pseudo-version (its
# tags are not semver). RELEASE.2025-10-15T17-29-55Z fixed CVE-2025-62506
# (IAM privilege escalation through a session policy) and was MinIO's last
# release: the community edition has been source-only since, and the
# repository is in maintenance mode. The proxy reachable here serves neither
# that tag's commit nor any commit up to 2026-02, only the repository's last
# one, 7aac2a2c5b7c: the release plus four fixes, among them the PostPolicy
# upload's enforcement of tagging conditions (fa18589d1). With no release
# tag on it, it is stamped the way MinIO's own `make` stamps such a commit,
# DEVELOPMENT.<commit time>.
MINIO_RELEASE=DEVELOPMENT.2026-02-12T20-18-48Z
MINIO_RELEASE_TIME=2026-02-12T20:18:48Z
MINIO_MODULE_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_COMMIT=7aac2a2c5b7c882e68c1ce017d8256be2feea27f

MINIO_BIN="$CACHE_DIR/bin/minio-$MINIO_RELEASE"

MINIO_PORT="${DOCSVC_MINIO_PORT:-59000}"
MINIO_CONSOLE_PORT="${DOCSVC_MINIO_CONSOLE_PORT:-59001}"
S3_ACCESS_KEY="${DOCSVC_MINIO_ACCESS_KEY:-docsvc-minio}"
S3_SECRET_KEY="${DOCSVC_MINIO_SECRET_KEY:-docsvc-minio-secret}"

MINIO_DIR="$RUN_DIR/minio"
MINIO_DATA="$MINIO_DIR/data"
MINIO_PID="$MINIO_DIR/minio.pid"
MINIO_LOG="$MINIO_DIR/minio.log"

# A Go toolchain that can build the pinned release (go.mod says go 1.24).
find_go() {
    local go
    for go in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
        [[ -n "$go" && -x "$go" ]] && { echo "$go"; return 0; }
    done
    return 1
}

build_minio() {
    local go
    if ! go="$(find_go)"; then
        # Debian's golang-go is older than 1.24; GOTOOLCHAIN=auto then fetches
        # the toolchain named in MinIO's go.mod, itself a module on the proxy.
        apt_install golang-go ca-certificates
        go="$(find_go)" || die "no go binary after installing golang-go"
    fi
    local toolchain=local gover
    gover="$("$go" env GOVERSION)"
    if [[ "$(printf '%s\n' go1.24 "$gover" | sort -V | head -n1)" != go1.24 ]]; then
        toolchain=auto
    fi
    log "building MinIO $MINIO_RELEASE with $gover (first run only, takes a few minutes)"
    mkdir -p "$CACHE_DIR/bin"
    local tmp
    tmp="$(mktemp -d "$CACHE_DIR/bin/.minio-build.XXXXXX")"
    # Same version stamps as MinIO's own release build (buildscripts/gen-ldflags.go),
    # so `minio --version` and the server's reported version are the release's.
    local ldflags="-s -w"
    ldflags+=" -X github.com/minio/minio/cmd.Version=$MINIO_RELEASE_TIME"
    ldflags+=" -X github.com/minio/minio/cmd.ReleaseTag=$MINIO_RELEASE"
    ldflags+=" -X github.com/minio/minio/cmd.CommitID=$MINIO_COMMIT"
    ldflags+=" -X github.com/minio/minio/cmd.ShortCommitID=${MINIO_COMMIT:0:12}"
    ldflags+=" -X github.com/minio/minio/cmd.CopyrightYear=${MINIO_RELEASE_TIME:0:4}"
    if ! GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN="$toolchain" \
        "$go" install -trimpath -ldflags "$ldflags" "github.com/minio/minio@$MINIO_MODULE_VERSION"; then
        rm -rf "$tmp"
        die "go install github.com/minio/minio@$MINIO_MODULE_VERSION failed"
    fi
    # Rename last: a half-written binary must never look like a cached one.
    mv -f "$tmp/minio" "$MINIO_BIN"
    rm -rf "$tmp"
}

do_install() {
    # curl: the health checks below (not in a minimal Debian image).
    command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
    [[ -x "$MINIO_BIN" ]] && return 0
    mkdir -p "$CACHE_DIR/bin"
    # Two concurrent installs (e.g. two checkouts) build once.
    exec 9>"$CACHE_DIR/bin/.minio-build.lock"
    flock 9
    [[ -x "$MINIO_BIN" ]] || build_minio
    exec 9>&-
    "$MINIO_BIN" --version | head -n1 >&2
}

health() {
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$MINIO_PORT/minio/health/$1"
}

do_start() {
    if pid_alive "$MINIO_PID" >/dev/null && health live; then
        log "already running on 127.0.0.1:$MINIO_PORT"
        return 0
    fi
    local port
    for port in "$MINIO_PORT" "$MINIO_CONSOLE_PORT"; do
        port_busy "$port" && die "port $port is taken by another process (not our minio, pid file $MINIO_PID)"
    done
    mkdir -p "$MINIO_DATA"
    log "starting on 127.0.0.1:$MINIO_PORT (console 127.0.0.1:$MINIO_CONSOLE_PORT)"
    # MINIO_UPDATE=off: no update checks (no network to reach anyway).
    MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" \
        MINIO_UPDATE=off MINIO_BROWSER=on \
        daemonize "$MINIO_PID" "$MINIO_LOG" "$MINIO_BIN" server \
        --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
        "$MINIO_DATA"
    # live = HTTP is up; ready = the object layer (the drive) is initialised.
    wait_until 30 "$MINIO_PID" "$MINIO_LOG" health live || die "MinIO did not come up"
    wait_until 30 "$MINIO_PID" "$MINIO_LOG" health ready || die "MinIO is live but not ready"
    log "ready: http://127.0.0.1:$MINIO_PORT"
}

do_stop() {
    stop_pidfile "$MINIO_PID" 30
}

do_status() {
    if pid_alive "$MINIO_PID" >/dev/null && health live; then
        echo "minio: running on 127.0.0.1:$MINIO_PORT (pid $(pid_alive "$MINIO_PID"), $MINIO_RELEASE, data $MINIO_DATA)"
    else
        echo "minio: not running"
        return 3
    fi
}

do_env() {
    echo "export DOCSVC_TEST_MINIO_ENDPOINT='127.0.0.1:$MINIO_PORT'"
    echo "export DOCSVC_TEST_MINIO_ACCESS_KEY='$S3_ACCESS_KEY'"
    echo "export DOCSVC_TEST_MINIO_SECRET_KEY='$S3_SECRET_KEY'"
}

dispatch "$@"
