#!/usr/bin/env bash
# Lint and run the whole test suite (sets up the virtual environment first if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/bootstrap.sh
export NO_GCE_CHECK=true
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache
"$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
