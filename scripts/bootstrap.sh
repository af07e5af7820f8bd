#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with everything the demo and tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[tensorflow,test,sdk]' 2>&1 \
  | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c 'import deployer, tensorflow, pytest, google.cloud.aiplatform' 2>/dev/null \
  || { echo "bootstrap: installation into $VENV failed" >&2; exit 1; }
