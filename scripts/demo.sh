#!/usr/bin/env bash
# Set everything up and run the demo end to end on the local twin of Google Cloud:
# build the example models, start `deployer emulator`, plan and apply manifests/, show that a
# second plan is empty, and ask the deployed models for predictions.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/bootstrap.sh
export NO_GCE_CHECK=true
DEPLOYER="$VENV/bin/deployer"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building the example SavedModels into export/"
"$VENV/bin/python" scripts/build_example_artifacts.py

step "deployer validate manifests/"
"$DEPLOYER" validate manifests/

step "Starting the local twin (deployer emulator)"
DATA=.deployer/demo
rm -rf "$DATA" && mkdir -p "$DATA"
read -r ML_PORT GCS_PORT < <("$VENV/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
"$DEPLOYER" emulator --port "$ML_PORT" --gcs-port "$GCS_PORT" --data-dir "$DATA" \
  --op-seconds 1 --bucket demo-models > "$DATA/emulator.out" 2>&1 &
TWIN_PID=$!
trap 'kill "$TWIN_PID" 2>/dev/null; wait "$TWIN_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  grep -q '^export STORAGE_EMULATOR_HOST' "$DATA/emulator.out" && break
  kill -0 "$TWIN_PID" 2>/dev/null || { cat "$DATA/emulator.out"; exit 1; }
  sleep 0.1
done
eval "$(grep '^export ' "$DATA/emulator.out")"
echo "AIPLATFORM_EMULATOR_HOST=$AIPLATFORM_EMULATOR_HOST STORAGE_EMULATOR_HOST=$STORAGE_EMULATOR_HOST"

step "deployer plan manifests/"
"$DEPLOYER" plan manifests/

step "deployer apply manifests/ --auto-approve"
"$DEPLOYER" apply manifests/ --auto-approve

step "deployer plan manifests/ --detailed-exitcode   (nothing left to do: exit 0)"
"$DEPLOYER" plan manifests/ --detailed-exitcode

step "deployer predict iris (global endpoint, default version)"
"$DEPLOYER" predict iris --instances '[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]'

step "deployer predict fashion_mnist/v1 --region europe-west4"
"$VENV/bin/python" -c 'import json; print(json.dumps([[0.5] * 784]))' > "$DATA/instances.json"
"$DEPLOYER" predict fashion_mnist/v1 --region europe-west4 --instances "@$DATA/instances.json"

step "Vertex AI: deployer plan examples/vertex/   (backend: vertex; a 90/10 canary)"
"$DEPLOYER" plan examples/vertex/

step "deployer apply examples/vertex/ --auto-approve"
"$DEPLOYER" apply examples/vertex/ --auto-approve

step "deployer plan examples/vertex/ --detailed-exitcode   (nothing left to do: exit 0)"
"$DEPLOYER" plan examples/vertex/ --detailed-exitcode

step "deployer predict fashion_mnist --manifests examples/vertex   (the endpoint picks by its split)"
"$DEPLOYER" predict fashion_mnist --manifests examples/vertex --instances "@$DATA/instances.json"

step "Demo complete"
