#!/usr/bin/env bash
# Elasticsearch 8 for the test suite: one real node (the official server jar
# from Maven Central) run in-process by the small Maven project in
# scripts/services/elasticsearch/, since no Elasticsearch download site or
# Docker is reachable. HTTP on 127.0.0.1:${DOCSVC_ES_PORT:-59200}, no
# security, single-node discovery, disk watermarks off, data in
# .cache/run/elasticsearch. See elasticsearch/pom.xml for what is (and is not)
# on the node's classpath.
# Usage: elasticsearch.sh install|start|stop|status|restart
set -euo pipefail
SERVICE_NAME=elasticsearch
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ES_PORT="${DOCSVC_ES_PORT:-59200}"
ES_TRANSPORT_PORT="${DOCSVC_ES_TRANSPORT_PORT:-59300}"
ES_HEAP="${DOCSVC_ES_HEAP:-1g}"
ES_START_TIMEOUT="${DOCSVC_ES_START_TIMEOUT:-120}"

ES_PROJECT="$SERVICES_DIR/elasticsearch"
ES_HOME="$RUN_DIR/elasticsearch"
ES_PID="$ES_HOME/elasticsearch.pid"
ES_LOG="$ES_HOME/elasticsearch.log"

# The built runner is cached per content of the Maven project: editing the
# pom or a source file gives a new key and so a rebuild, nothing else does.
build_key() {
    (cd "$ES_PROJECT" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
        sha256sum | cut -c1-16
}
ES_BUILD="$CACHE_DIR/elasticsearch/$(build_key)"

java_ok() {
    command -v java >/dev/null 2>&1 || return 1
    local v
    v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ -n "$v" && "${v%%.*}" -ge 17 ]]
}

# True if the cached runner jar and every jar of its classpath still exist
# (~/.m2 may have been cleaned since the build).
build_complete() {
    [[ -s "$ES_BUILD/docsvc-es-runner.jar" && -s "$ES_BUILD/classpath.txt" ]] || return 1
    local jar
    while IFS= read -r jar; do
        [[ -z "$jar" || -f "$jar" ]] || return 1
    done < <(tr ':' '\n' <"$ES_BUILD/classpath.txt")
}

build_runner() {
    local out="$REPO_ROOT/.cache/build/es-runner"
    local mvn_args=(-B -q -f "$ES_PROJECT/pom.xml" "-Ddocsvc.build.directory=$out"
        clean package dependency:build-classpath "-Dmdep.outputFile=$out/classpath.txt")
    log "building the Elasticsearch runner (Maven; the first run downloads ~100 MB of jars into ~/.m2)"
    # Offline first: after one successful build everything is in ~/.m2 and a
    # build needs no network at all. Online only when something is missing.
    if ! mvn -o "${mvn_args[@]}" >"$out.log" 2>&1; then
        if ! mvn "${mvn_args[@]}" >"$out.log" 2>&1; then
            tail -n 40 "$out.log" >&2
            die "Maven build of $ES_PROJECT failed (full log: $out.log)"
        fi
    fi
    local tmp="$ES_BUILD.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cp "$out/docsvc-es-runner.jar" "$out/classpath.txt" "$tmp/"
    rm -rf "$ES_BUILD"
    mv "$tmp" "$ES_BUILD"
}

do_install() {
    # curl: the health and analysis checks (not in a minimal Debian image).
    command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
    if ! java_ok || ! command -v mvn >/dev/null 2>&1; then
        apt_install openjdk-17-jdk-headless maven
        java_ok || die "java 17+ is required (java -version: $(java -version 2>&1 | head -n1))"
    fi
    build_complete && return 0
    mkdir -p "$CACHE_DIR/elasticsearch" "$REPO_ROOT/.cache/build"
    exec 9>"$CACHE_DIR/elasticsearch/.build.lock"
    flock 9
    build_complete || build_runner
    exec 9>&-
    build_complete || die "runner build finished but $ES_BUILD is incomplete"
}

health() {
    # 200 once the cluster is at least yellow; 408 (curl -f fails) before.
    curl -fsS -o /dev/null --max-time 3 \
        "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s"
}

# The analysis docsvc's index template relies on (mapping char_filter,
# lowercase + asciifolding filters) must be there: a node without it would
# only fail later, in the middle of a test run.
check_analysis() {
    local body tokens
    body='{"tokenizer":"standard","filter":["lowercase","asciifolding"],'
    body+='"char_filter":[{"type":"mapping","mappings":["Đ => D","đ => d"]}],'
    body+='"text":"Quyết định Đồng Nai"}'
    tokens="$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
        "http://127.0.0.1:$ES_PORT/_analyze" -d "$body" |
        grep -o '"token":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')" || true
    if [[ "$tokens" != "quyet dinh dong nai " ]]; then
        die "analysis check failed: _analyze of 'Quyết định Đồng Nai' gave [${tokens}], expected [quyet dinh dong nai]"
    fi
}

do_start() {
    if pid_alive "$ES_PID" >/dev/null && health; then
        log "already running on 127.0.0.1:$ES_PORT"
        return 0
    fi
    local port
    for port in "$ES_PORT" "$ES_TRANSPORT_PORT"; do
        port_busy "$port" && die "port $port is taken by another process (not our node, pid file $ES_PID)"
    done
    mkdir -p "$ES_HOME/tmp"
    : >"$ES_LOG"
    log "starting on 127.0.0.1:$ES_PORT (heap $ES_HEAP)"
    # JVM flags: a subset of Elasticsearch's own jvm.options that matters here.
    # log4j.shutdownHookEnabled=false keeps logging alive while the node closes
    # on SIGTERM (the runner's own shutdown hook does that).
    daemonize "$ES_PID" "$ES_LOG" java \
        "-Xms$ES_HEAP" "-Xmx$ES_HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        "-Djava.io.tmpdir=$ES_HOME/tmp" -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
        -Dlog4j2.formatMsgNoLookups=true -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
        -Des.networkaddress.cache.ttl=60 -Des.networkaddress.cache.negative.ttl=10 \
        -cp "$ES_BUILD/docsvc-es-runner.jar:$(cat "$ES_BUILD/classpath.txt")" \
        docsvc.es.Runner --home "$ES_HOME" --http-port "$ES_PORT" --transport-port "$ES_TRANSPORT_PORT"
    wait_until "$ES_START_TIMEOUT" "$ES_PID" "$ES_LOG" health || die "Elasticsearch did not come up"
    check_analysis
    log "ready: http://127.0.0.1:$ES_PORT"
}

do_stop() {
    stop_pidfile "$ES_PID" 30
}

do_status() {
    if pid_alive "$ES_PID" >/dev/null && health; then
        echo "elasticsearch: running on 127.0.0.1:$ES_PORT (pid $(pid_alive "$ES_PID"), home $ES_HOME)"
    else
        echo "elasticsearch: not running"
        return 3
    fi
}

do_env() {
    echo "export DOCSVC_TEST_ELASTICSEARCH_URL='http://127.0.0.1:$ES_PORT'"
}

dispatch "$@"
