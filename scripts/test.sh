#!/usr/bin/env bash
# The project's one test command: `bash scripts/test.sh [pytest arguments...]`.
#
# On a fresh Debian 12 (Python 3.11, root) it installs the servers the suite runs on,
# creates .venv with the project and its test tools, then runs ruff, mypy and pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k devservers -x`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/setup.sh

# --- Checks -------------------------------------------------------------------------------------
say "ruff check"
"$VENV/bin/ruff" check . || fail "ruff check found problems (many are fixed by: $VENV/bin/ruff check --fix)"
say "ruff format --check"
"$VENV/bin/ruff" format --check . || fail "files need formatting: run $VENV/bin/ruff format"
say "mypy"
"$VENV/bin/mypy" || fail "mypy found type errors"
say "pytest $*"
exec "$VENV/bin/pytest" "$@"
