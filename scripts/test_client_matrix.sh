#!/usr/bin/env bash
# The store suites on every redis-py line traffik-redis accepts, each in its own
# .venv-redis-<version>: the declared lower bound (5.0.1), the newest 6.x and the
# newest 7.x. The newest release is .venv's own, which scripts/test.sh runs in
# full. So `redis>=5.0.1` is a tested promise, and so is the connection layer on
# each line (connect, reconnect, Sentinel, pool errors all changed between them).
#
# The oldest line installs with requirements/oldest.txt as constraints: every
# client and framework at the lower bound the distributions declare (redis-py
# 5.0.1, aiomcache 0.8.0, Starlette 0.41.0, FastAPI 0.115.3), and also runs the
# Memcached suites and the Starlette/FastAPI integration tests and docs examples.
#
# Run after scripts/test.sh, which installs redis-server and memcached. A venv is
# reused when present and reinstalled only when requirements/ or a pyproject.toml
# changed. Arguments go to every pytest run. `CLIENT_MATRIX="6.4.0"` runs one line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

REDIS_OLDEST="5.0.1" # packages/traffik-redis/pyproject.toml: redis>=5.0.1
OLDEST_CONSTRAINTS="requirements/oldest.txt"
read -r -a VERSIONS <<<"${CLIENT_MATRIX:-$REDIS_OLDEST 6.4.0 7.4.1}"

# What every line runs: the Redis suites and the Redis-relevant contract and
# resilience tests. The oldest line also runs the Memcached ones (aiomcache 0.8.0)
# and the framework integration (Starlette 0.41.0, FastAPI 0.115.3).
REDIS_SUITES=(
    tests/redis tests/resilience spec/test_contracts.py spec/test_event_loop_contracts.py
    tests/fastapi/test_testclient_loops.py
)
OLDEST_EXTRA=(tests/memcached tests/security tests/fastapi tests/core/throttles tests/docs/test_examples.py)

say() { printf '==> %s\n' "$*" >&2; }

stamp_inputs() {
    local files=(requirements/*.txt pyproject.toml packages/*/pyproject.toml)
    if [ -d tests/plugins/traffik-example-backend ]; then
        files+=(tests/plugins/traffik-example-backend/pyproject.toml)
    fi
    {
        python3 -c 'import sys; print(sys.version)'
        sha256sum "${files[@]}" scripts/test_client_matrix.sh
    } | sha256sum | cut -d' ' -f1
}

# ensure_venv VERSION: .venv-redis-VERSION with redis==VERSION and the local packages.
ensure_venv() {
    local version="$1" venv=".venv-redis-$1"
    local stamp="$venv/.traffik-matrix-stamp" wanted pins=("redis==$version")
    wanted="$(stamp_inputs)"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    if [ "$version" = "$REDIS_OLDEST" ]; then
        # Constraints, not requirements: they pin what the install pulls in anyway.
        if ! grep -qx "redis==$REDIS_OLDEST" "$OLDEST_CONSTRAINTS"; then
            say "$OLDEST_CONSTRAINTS does not pin redis==$REDIS_OLDEST"
            return 1
        fi
        pins+=(-c "$OLDEST_CONSTRAINTS")
    fi
    say "installing redis-py $version into $venv"
    local editables=(-e packages/traffik-core -e packages/traffik-redis -e packages/traffik-memcached
        -e packages/traffik-fastapi -e packages/traffik-testing -e packages/traffik-prometheus
        -e packages/traffik-opentelemetry)
    if [ -d tests/plugins/traffik-example-backend ]; then
        editables+=(-e tests/plugins/traffik-example-backend)
    fi
    "$venv/bin/python" -m pip install --quiet -r requirements/test.txt "${editables[@]}" "${pins[@]}"
    # aiomcache 0.8.0 also installs its own test suite as a top-level `tests` package,
    # which hides this repository's `tests` namespace package from the processes the
    # exactness tests spawn. aiomcache never imports it.
    "$venv/bin/python" - <<'PY'
import shutil, sysconfig
from pathlib import Path

stray = Path(sysconfig.get_paths()["purelib"]) / "tests"
if (stray / "commands_test.py").exists():  # aiomcache's, not anything else's
    shutil.rmtree(stray)
PY
    printf '%s\n' "$wanted" >"$stamp"
}

status=0
for version in "${VERSIONS[@]}"; do
    ensure_venv "$version"
    suites=("${REDIS_SUITES[@]}")
    select=(-m "not memcached")
    if [ "$version" = "$REDIS_OLDEST" ]; then
        suites+=("${OLDEST_EXTRA[@]}")
        select=() # the Memcached suites too (aiomcache 0.8.0)
    fi
    say "redis-py $version: ${suites[*]}"
    run=0
    ".venv-redis-$version/bin/python" -m pytest -n auto -q "${select[@]}" "${suites[@]}" "$@" || run=$?
    if [ "$run" -ne 0 ]; then
        say "redis-py $version: pytest exited with $run"
        status=1
    fi
done
exit "$status"
