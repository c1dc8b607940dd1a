#!/usr/bin/env bash
# Run the whole test suite: `bash scripts/test.sh [pytest arguments...]`
#
# On a fresh Debian machine with python3 it installs what the suite needs
# (redis-server and memcached with apt-get, a .venv with the test requirements and
# every local package editable), then runs pytest on every core. Run again, it only
# reinstalls when requirements/ or a pyproject.toml changed. Exits with pytest's
# status; "no tests collected" (status 5) counts as a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
STAMP="$VENV/.traffik-test-stamp"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        say "need root (or sudo) to run: $*"
        return 1
    fi
}

# apt-get install, refreshing the package lists only when the install needs it
# (a fresh image has none; an old list may point at versions no longer served).
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "apt-get not found: install $* with your system's package manager"
        return 1
    fi
    say "installing $* with apt-get"
    if ! as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    fi
}

ensure_servers() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v memcached >/dev/null 2>&1 || missing+=(memcached)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the Redis TLS tests make their certificates
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$VENV"
    say "creating $VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian ships venv's pip bootstrap in a separate package (python3.X-venv).
        rm -rf "$VENV"
        local version
        version="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        apt_install "python${version}-venv" || apt_install python3-venv
        python3 -m venv "$VENV"
    fi
}

# Everything whose change means pip must run again.
stamp_inputs() {
    local files=(requirements/*.txt pyproject.toml packages/*/pyproject.toml)
    if [ -d tests/plugins/traffik-example-backend ]; then
        files+=(tests/plugins/traffik-example-backend/pyproject.toml)
    fi
    {
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
        sha256sum "${files[@]}" scripts/test.sh
    } | sha256sum | cut -d' ' -f1
}

ensure_packages() {
    local wanted
    wanted="$(stamp_inputs)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return 0
    fi
    local editables=(
        -e packages/traffik-core
        -e packages/traffik-redis
        -e packages/traffik-memcached
        -e packages/traffik-fastapi
        -e packages/traffik-testing
        -e packages/traffik-prometheus
        -e packages/traffik-opentelemetry
    )
    if [ -d tests/plugins/traffik-example-backend ]; then
        editables+=(-e tests/plugins/traffik-example-backend)
    fi
    say "installing requirements/test.txt and the local packages into $VENV"
    # One resolver run for both, so the local traffik-core satisfies the plugins'
    # `traffik-core` requirement instead of a release from the index.
    "$VENV/bin/python" -m pip install -q -r requirements/test.txt "${editables[@]}"
    # Guard against the index's unrelated traffik 1.x shadowing the local tree.
    "$VENV/bin/python" - "$ROOT" <<'PY'
import pathlib
import sys

import traffik

root = pathlib.Path(sys.argv[1]).resolve()
where = pathlib.Path(traffik.__file__).resolve()
if root / "packages" / "traffik-core" / "src" not in where.parents:
    sys.exit(f"traffik is imported from {where}, not from this checkout: remove .venv and run again")
PY
    printf '%s\n' "$wanted" >"$STAMP"
}

ensure_servers
ensure_venv
ensure_packages

say "running pytest"
status=0
"$VENV/bin/python" -m pytest -n auto "$@" || status=$?
if [ "$status" -eq 5 ]; then
    say "pytest collected no tests: counted as a failure"
fi
exit "$status"
