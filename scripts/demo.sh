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

step "Checking artifacts as the service would: deployer validate manifests/ --artifacts"
"$DEPLOYER" validate manifests/ --artifacts

step "deployer inspect export/iris/1   (signatures and an example request, no TensorFlow)"
"$DEPLOYER" inspect export/iris/1

step "deployer predict --local export/iris/1 = deployer predict iris   (same answers)"
printf '[5.1, 3.5, 1.4, 0.2]\n[6.7, 3.0, 5.2, 2.3]\n' > "$DATA/iris.jsonl"
"$DEPLOYER" predict --local export/iris/1 --instances "$DATA/iris.jsonl" --format json > "$DATA/local.json"
"$DEPLOYER" predict iris --instances "$DATA/iris.jsonl" --format json > "$DATA/online.json"
"$DEPLOYER" predict --local export/iris/1 --instances "$DATA/iris.jsonl" --format table
cmp -s "$DATA/local.json" "$DATA/online.json" && echo "local and online predictions agree"

step "Smoke tests: examples/smoke/ (v1), apply"
SMOKE="$DATA/smoke"
rm -rf "$SMOKE" && mkdir -p "$SMOKE" && cp -r examples/smoke/deployer.yaml examples/smoke/models "$SMOKE/"
cp examples/smoke/stages/iris_v1.yaml.in "$SMOKE/models/iris_gated.yaml"
"$DEPLOYER" apply "$SMOKE" --auto-approve

step "Record v2's expected answers with predict --local, declare v2 as the default, apply (promoted)"
"$DEPLOYER" predict --local export/iris/2 --instances "$SMOKE/models/smoke.jsonl" --format json \
  | "$VENV/bin/python" -c 'import json, sys; [print(json.dumps(p)) for p in json.load(sys.stdin)["predictions"]]' \
  > "$SMOKE/models/expect_v2.jsonl"
cp examples/smoke/stages/iris_v2.yaml.in "$SMOKE/models/iris_gated.yaml"
"$DEPLOYER" apply "$SMOKE" --auto-approve

step "Declare v3 (a wrong export held to v2's answers) as the default: its smoke test fails"
cp examples/smoke/stages/iris_v3.yaml.in "$SMOKE/models/iris_gated.yaml"
if "$DEPLOYER" apply "$SMOKE" --auto-approve; then
  echo "expected the apply to fail"; exit 1
else
  echo "apply exited $? : v3 was created but not promoted; the default stays v2"
fi

step "deployer plan: v3 is still not the default (the move is still pending)"
"$DEPLOYER" plan "$SMOKE" || true

step "Demo complete"
