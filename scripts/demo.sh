#!/usr/bin/env bash
# Show every throttling strategy at work: `bash scripts/demo.sh`
#
# Needs only python3: creates .venv if missing, installs the local traffik-core
# (the in-memory backend has no other dependency) and runs examples/demo.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; }; then
    rm -rf "$VENV"
    echo "==> creating $VENV" >&2
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        echo "python3 -m venv failed: on Debian/Ubuntu install the venv module (apt-get install python3-venv)" >&2
        exit 1
    fi
fi

# Installed from its path, never by name: `traffik` on the index is an unrelated 1.x.
if ! "$VENV/bin/python" -c 'import traffik.backends.inmemory' >/dev/null 2>&1; then
    echo "==> installing packages/traffik-core into $VENV" >&2
    "$VENV/bin/python" -m pip install -q -e packages/traffik-core
fi

# First the strategies side by side, then a small app driven by a client: what
# a user of a throttled API sees (200s, then 429s with their headers).
"$VENV/bin/python" examples/demo.py "$@"
echo
exec "$VENV/bin/python" examples/demo_app.py
