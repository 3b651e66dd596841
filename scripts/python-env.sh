# shellcheck shell=bash
# Sourced by scripts/serve and scripts/test: make .venv at the repository root
# hold docsvc (installed editable, so the checkout is what runs) and its
# dependencies, exactly as locked in requirements/ (scripts/lock writes those
# files; every download is checked against its hash). Fast when nothing
# changed: pip is only run when a lock file or pyproject.toml is newer than
# the last install.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"

find_python() {
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local extras="$1" stamp="$VENV/.docsvc-installed-$1"
    # A run cut off while pip upgraded itself leaves a venv whose pip is broken:
    # start that one again rather than fail in every later run.
    if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        echo "the virtual environment in $VENV is damaged; making it again" >&2
        rm -rf "$VENV"
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        local python
        python="$(find_python)" || { echo "docsvc needs Python 3.11 or newer" >&2; exit 1; }
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            # Debian splits venv out of the interpreter package.
            if [[ $EUID -eq 0 ]]; then
                DEBIAN_FRONTEND=noninteractive apt-get update -q
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
                rm -rf "$VENV"
                "$python" -m venv "$VENV"
            else
                echo "Python's venv module is missing: sudo apt-get install python3-venv" >&2
                exit 1
            fi
        fi
    fi
    local lock="$REPO_ROOT/requirements/$extras.txt" build_lock="$REPO_ROOT/requirements/build.txt"
    if [[ ! -f "$stamp" || "$REPO_ROOT/pyproject.toml" -nt "$stamp" ||
          "$lock" -nt "$stamp" || "$build_lock" -nt "$stamp" ]]; then
        install_locked "$extras"
        touch "$stamp"
    fi
}

# pip and the build backend first (a pip that upgrades itself does nothing
# else in that run), then the locked dependencies, then docsvc itself. Every
# step is --no-deps and hash-checked, and docsvc is built without isolation
# from the locked setuptools: nothing is resolved or downloaded unpinned.
install_locked() {
    local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" --require-hashes --no-deps -r "$REPO_ROOT/requirements/build.txt"
    "${pip[@]}" --require-hashes --no-deps -r "$REPO_ROOT/requirements/$1.txt"
    "${pip[@]}" --no-deps --no-build-isolation -e "$REPO_ROOT"
}
