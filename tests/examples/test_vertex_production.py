"""examples/vertex-production/: the production-shaped Vertex AI stack of the README validates and
becomes what it says (issue 24)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deployer.providers.vertex import state
from deployer.stacks import load_stack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vertex-production"


def test_it_validates() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deployer", "validate", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "4 models, 5 versions" in result.stdout


def test_it_declares_a_private_gpu_ranker_a_spot_canary_and_a_shared_pool() -> None:
    stack = load_stack(EXAMPLE)
    sources = {m.artifact_source(v): "digest" for m in stack.models for v in m.spec.versions}
    desired = {r.key.address: r.fields for r in state.desired_resources(stack, sources)}
    ranker = desired["us-central1/ranker:endpoint"]
    assert ranker["privateServiceConnect"] is True
    assert ranker["clientConnectionConfig"] == {"inferenceTimeout": "600s"}
    v3, v4 = desired["us-central1/ranker/v3:deployed"], desired["us-central1/ranker/v4:deployed"]
    assert v3["machineSpec"] == {
        "machineType": "g2-standard-8",
        "acceleratorType": "NVIDIA_L4",
        "acceleratorCount": 1,
    }
    assert {m["metricName"].rsplit("/", 1)[1] for m in v3["autoscalingMetricSpecs"]} == {
        "request_count",
        "duty_cycle",
    }
    assert v3["rolloutStrategy"] == "rolling" and v4["spot"] is True
    assert desired["us-central1/ranker:endpoint"]["traffic"] == {"v3": 90, "v4": 10}
    assert "us-central1/small-cpu:pool" in desired
    for name in ("spam_filter/v1", "lang_id/v2"):
        assert desired[f"us-central1/{name}:deployed"]["sharedResources"] == "small-cpu"
    assert desired["us-central1/batch_scorer/v1:deployed"]["minReplicaCount"] == 0
