#!/usr/bin/env bash
# The EU DSS library (Digital Signature Service, from Maven Central) as a
# second PAdES validator, independent of pyHanko, for the interop tests in
# tests/signing/test_dss_interop.py. The CLI lives in dss/ (a small Maven
# project: docsvc.dss.Validate); see its javadoc for the JSON it prints.
#
# Usage:
#   dss.sh install              build once, cache under $DOCSVC_CACHE_DIR/dss
#   dss.sh validate ARGS...     run the CLI: [--offline] --trust ROOT.pem [--trust ...] FILE.pdf [FILE.pdf ...]
#   dss.sh classpath            print the cached classpath (for java -cp)
#
# The build is cached per content of dss/ (pom.xml + sources): editing
# either gives a new key and a rebuild, nothing else does. The cache holds
# our jar and a copy of every runtime jar, so validation needs neither Maven
# nor ~/.m2 once built, and never the network beyond 127.0.0.1: no EU trusted
# list is loaded (trust comes only from --trust), and the CLI refuses to
# fetch OCSP/CRL/AIA from anything but loopback.
set -euo pipefail
SERVICE_NAME=dss
# lib.sh gives log/die/apt_install and CACHE_DIR (${DOCSVC_CACHE_DIR:-~/.cache/docsvc}).
# shellcheck source=../services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../services/lib.sh"

DSS_PROJECT="$REPO_ROOT/scripts/validators/dss"

build_key() {
    (cd "$DSS_PROJECT" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
        sha256sum | cut -c1-16
}
DSS_BUILD="$CACHE_DIR/dss/$(build_key)"

java_ok() {
    command -v java >/dev/null 2>&1 || return 1
    local v
    v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ -n "$v" && "${v%%.*}" -ge 17 ]]
}

# Complete = our jar and the jar list written last by build(); a build that
# died half-way never renames its temporary folder into place.
build_complete() {
    [[ -s "$DSS_BUILD/docsvc-dss-validate.jar" && -s "$DSS_BUILD/classpath.txt" ]] || return 1
    local jar
    while IFS= read -r jar; do
        [[ -z "$jar" || -f "$jar" ]] || return 1
    done < <(tr ':' '\n' <"$DSS_BUILD/classpath.txt")
}

build() {
    local out="$REPO_ROOT/.cache/build/dss-validate"
    local mvn_args=(-B -q -f "$DSS_PROJECT/pom.xml" "-Ddocsvc.build.directory=$out" clean package)
    mkdir -p "$out"
    log "building the DSS validator (Maven; the first run downloads ~60 MB of jars and plugins into ~/.m2)"
    # Offline first: once ~/.m2 has everything a rebuild needs no network.
    # Online only when something is missing (the first run, a new version).
    if ! mvn -o "${mvn_args[@]}" >"$out.log" 2>&1; then
        if ! mvn "${mvn_args[@]}" >"$out.log" 2>&1; then
            tail -n 40 "$out.log" >&2
            die "Maven build of $DSS_PROJECT failed (full log: $out.log)"
        fi
    fi
    local tmp="$DSS_BUILD.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp/lib"
    cp "$out/docsvc-dss-validate.jar" "$tmp/"
    cp "$out"/lib/*.jar "$tmp/lib/"
    # Absolute paths of the final location, ours first.
    {
        printf '%s' "$DSS_BUILD/docsvc-dss-validate.jar"
        local jar
        for jar in "$tmp"/lib/*.jar; do
            printf ':%s' "$DSS_BUILD/lib/$(basename "$jar")"
        done
        printf '\n'
    } >"$tmp/classpath.txt"
    rm -rf "$DSS_BUILD"
    mv "$tmp" "$DSS_BUILD"
}

do_install() {
    if ! java_ok || ! command -v mvn >/dev/null 2>&1; then
        apt_install openjdk-17-jdk-headless maven
        java_ok || die "java 17+ is required (java -version: $(java -version 2>&1 | head -n1))"
        command -v mvn >/dev/null 2>&1 || die "mvn is missing after installing maven"
    fi
    build_complete && return 0
    mkdir -p "$CACHE_DIR/dss" "$REPO_ROOT/.cache/build"
    # Two test runs (or xdist workers) installing at once build only once.
    exec 9>"$CACHE_DIR/dss/.build.lock"
    flock 9
    build_complete || build
    exec 9>&-
    build_complete || die "build finished but $DSS_BUILD is incomplete"
    log "DSS validator ready in $DSS_BUILD"
}

case "${1:-}" in
    install)
        do_install
        ;;
    validate)
        shift
        build_complete || die "not built: run $(basename "$0") install first"
        java_ok || die "java 17+ is required"
        # A small heap: the documents are small and startup dominates anyway.
        exec java -Xmx512m -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
            -cp "$(cat "$DSS_BUILD/classpath.txt")" docsvc.dss.Validate "$@"
        ;;
    classpath)
        build_complete || die "not built: run $(basename "$0") install first"
        cat "$DSS_BUILD/classpath.txt"
        ;;
    *)
        echo "usage: $(basename "$0") install | validate [--offline] --trust ROOT.pem [--trust ...] FILE.pdf ... | classpath" >&2
        exit 2
        ;;
esac
