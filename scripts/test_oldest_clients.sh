#!/usr/bin/env bash
# The store suites against the oldest client libraries the packages accept
# (redis-py and aiomcache at their declared lower bounds), in their own
# .venv-oldest, so a range like `redis>=5.0.1` is a tested promise.
#
# Run after scripts/test.sh, which installs redis-server and memcached.
# Arguments go to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REDIS_OLDEST="5.0.1"     # packages/traffik-redis/pyproject.toml: redis>=5.0.1
AIOMCACHE_OLDEST="0.8.0" # packages/traffik-memcached/pyproject.toml: aiomcache>=0.8
VENV=.venv-oldest

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r requirements/test.txt \
    -e packages/traffik-core -e packages/traffik-redis -e packages/traffik-memcached -e packages/traffik-fastapi \
    -e tests/plugins/traffik-example-backend \
    "redis==$REDIS_OLDEST" "aiomcache==$AIOMCACHE_OLDEST"

# aiomcache 0.8.0 also installs its own test suite as a top-level `tests` package,
# which hides this repository's `tests` namespace package from the processes the
# exactness tests spawn. aiomcache never imports it.
"$VENV/bin/python" - <<'PY'
import shutil, sysconfig
from pathlib import Path

stray = Path(sysconfig.get_paths()["purelib"]) / "tests"
if (stray / "commands_test.py").exists():  # aiomcache's, not anything else's
    shutil.rmtree(stray)
PY
"$VENV/bin/python" -m pytest -n auto -q -p no:randomly \
    tests/redis tests/memcached tests/resilience tests/security \
    spec/test_contracts.py spec/test_event_loop_contracts.py tests/fastapi/test_testclient_loops.py \
    "$@"
