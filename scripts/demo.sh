#!/usr/bin/env bash
# Set everything up and run the demo: build the example models and validate the example stack.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/bootstrap.sh
export NO_GCE_CHECK=true
"$VENV/bin/python" scripts/build_example_artifacts.py
"$VENV/bin/deployer" validate manifests/
