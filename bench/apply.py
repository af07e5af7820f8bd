"""Benchmark 2: an apply of 40 new versions at 2 s per operation, both backends.

For each backend: starts a twin, applies MODELS models in two regions with one version each
(set-up, operations instant), then makes every operation take OP_SECONDS and times a deployer
apply that adds a second version to each model (40 new versions; on Vertex each is uploaded and
deployed at 0% traffic). In the same run it times the baseline, a sequential loop over the same
discovery clients doing the same work for a third version (create, then poll every second until
done; on Vertex upload, wait, deploy, wait), and computes the bound the service's quotas set:

- mlengine: at most 10 version operations at once per project: ceil(40 / 10) x OP_SECONDS;
- vertex: operations on one endpoint run one at a time (upload, then deploy: 2 x OP_SECONDS per
  model) and each region takes 60 operation submissions a minute: the larger of the two.

Usage: python bench/apply.py [MODELS] [OP_SECONDS] [BACKEND...]   (default 20 2 mlengine vertex)
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _support import PROJECT, REGIONS, apply, ensure_bucket, load, per_backend, provider, write_repo
from _support import twin as start_twin

SEQUENTIAL_POLL = 1.0
"""The baseline's loop: look at the operation once a second until it is done."""


def _until_done(get: Any, operation: dict) -> dict:
    while not operation.get("done"):
        time.sleep(SEQUENTIAL_POLL)
        operation = get(operation["name"]).execute()
    if operation.get("error"):
        raise SystemExit(f"baseline operation failed: {operation['error']}")
    return operation


def sequential_mlengine(stack: Any, version: str) -> int:
    """Create `version` of every model, one after another: create, poll until done."""
    from deployer.providers.mlengine.client import MLClient
    from deployer.providers.retry import NO_RETRY

    ml = MLClient(PROJECT, retry=NO_RETRY)
    done = 0
    for model in stack.models:
        for region in model.regions:
            api = ml.resource(region).projects()
            parent = f"projects/{PROJECT}/models/{model.spec.name}"
            source = api.models().versions().get(name=f"{parent}/versions/v0").execute()
            keep = ("deploymentUri", "runtimeVersion", "framework", "pythonVersion", "machineType")
            body = {"name": version, **{k: source[k] for k in keep if k in source}}
            operation = api.models().versions().create(parent=parent, body=body).execute()
            _until_done(lambda n, a=api: a.operations().get(name=n), operation)
            done += 1
    return done


def sequential_vertex(stack: Any, version: str) -> int:
    """Upload `version` of every model and deploy it at 0%, one operation after another."""
    from deployer.providers.retry import NO_RETRY
    from deployer.providers.vertex.client import VertexClient

    vx = VertexClient(PROJECT, retry=NO_RETRY)
    done = 0
    for model in stack.models:
        for region in model.regions:
            loc = vx.locations(region)
            parent = vx.model_name(region, model.spec.name)
            live = loc.models().get(name=parent).execute()
            model_body = {
                "displayName": model.spec.name,
                "artifactUri": live.get("artifactUri"),
                "containerSpec": live.get("containerSpec"),
            }
            operation = (
                loc.models()
                .upload(
                    parent=vx.location(region), body={"parentModel": parent, "model": model_body}
                )
                .execute()
            )
            uploaded = _until_done(lambda n, c=loc: c.models().operations().get(name=n), operation)
            vid = uploaded["response"]["modelVersionId"]
            endpoint = (
                loc.endpoints()
                .list(
                    parent=vx.location(region), filter=f'labels.deployer-model="{model.spec.name}"'
                )
                .execute()["endpoints"][0]
            )
            deployed = {
                "model": f"{parent}@{vid}",
                "displayName": f"{model.spec.name}/{version}",
                "dedicatedResources": {
                    "machineSpec": {"machineType": "n1-standard-2"},
                    "minReplicaCount": 1,
                    "maxReplicaCount": 1,
                },
            }
            operation = (
                loc.endpoints()
                .deployModel(endpoint=endpoint["name"], body={"deployedModel": deployed})
                .execute()
            )
            _until_done(lambda n, c=loc: c.endpoints().operations().get(name=n), operation)
            done += 1
    return done


def bound(backend: str, models: int, op_seconds: float) -> tuple[float, str]:
    versions = models * len(REGIONS)
    if backend == "mlengine":
        waves = math.ceil(versions / 10)
        return waves * op_seconds, f"ceil({versions}/10) x {op_seconds:g} s"
    per_region = 2 * models  # an upload and a deploy per model
    windows = math.ceil(per_region / 60) - 1
    chain = 2 * op_seconds
    why = f"upload + deploy per endpoint, {per_region} submissions per region"
    return max(chain, windows * 60 + chain), why


def run(backend: str, models: int, op_seconds: float) -> None:
    knobs = {"op_seconds": 0, "max_models": 10_000, "max_versions": 10_000}
    with (
        tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp,
        start_twin(**knobs, vertex_lro_per_minute=1_000_000) as handle,
    ):
        ensure_bucket()
        root = Path(tmp)
        first = load(write_repo(root, backend, models, 1))
        apply(first, provider(first, unpaced=True), parallelism=32)
        handle.knobs(op_seconds=op_seconds)
        stack = load(write_repo(root, backend, models, 2, deployed=True))
        seconds, report, _ = apply(stack, provider(stack))
        started = time.perf_counter()
        loop = sequential_mlengine if backend == "mlengine" else sequential_vertex
        base = loop(stack, "v2")
        sequential = time.perf_counter() - started
    limit, why = bound(backend, models, op_seconds)
    actions = len(report.outcomes)
    print(f"\n[{backend}] {models * len(REGIONS)} new versions, {op_seconds:g} s per operation")
    print(f"  deployer apply:          {seconds:7.2f} s   ({actions} actions)")
    every = f"poll every {SEQUENTIAL_POLL:g} s"
    print(f"  sequential loop:         {sequential:7.2f} s   ({base} versions, {every})")
    print(f"  quota bound:             {limit:7.2f} s   ({why})")
    print(f"  ratio sequential/apply:  {sequential / seconds:7.1f}x")
    print(f"  ratio apply/bound:       {seconds / limit:7.2f}x   (target <= 1.25x)")


if __name__ == "__main__":
    sys.exit(per_backend(sys.argv, run, 20, 2.0))
