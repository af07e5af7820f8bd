# ruff: noqa: B023  (each lambda is called inside its loop iteration)
"""Benchmark 1: a no-change plan of 100 models x 2 regions x 2 versions, both backends.

For each backend: starts a twin (operations instant), applies the generated repo once (set-up,
not timed), then times a no-change `compute_plan` (artifact hashing, reads, diff) with no added
latency and with LATENCY_MS per call, counting API calls. In the same run it times the baseline,
a sequential loop over the same discovery client reading the same resources in the declared
regions, and computes the critical-path bound: the zero-latency plan plus two sequential round
trips (list models, then list versions).

Usage: python bench/plan.py [MODELS] [LATENCY_MS] [BACKEND...]   (default 100 50 mlengine vertex)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _support import (
    PROJECT,
    REGIONS,
    Counter,
    apply,
    ensure_bucket,
    load,
    per_backend,
    provider,
    write_repo,
)
from _support import twin as start_twin


def pages(request, item: str) -> tuple[list, int]:
    """Every item of a paged list, one page after another; (items, calls)."""
    items, token, calls = [], None, 0
    while True:
        page = request(token).execute()
        calls += 1
        items.extend(page.get(item, []))
        token = page.get("nextPageToken")
        if not token:
            return items, calls


def sequential_read(backend: str, stack_name: str) -> int:
    """What a team writes without deployer: one request after another, declared regions."""
    from deployer.providers.mlengine.client import MLClient
    from deployer.providers.retry import NO_RETRY
    from deployer.providers.vertex.client import VertexClient

    calls = 0
    if backend == "mlengine":
        ml = MLClient(PROJECT, retry=NO_RETRY)
        for region in REGIONS:
            models, n = pages(
                lambda t: ml.models(region).list(parent=f"projects/{PROJECT}", pageToken=t),
                "models",
            )
            calls += n
            for body in models:
                calls += pages(
                    lambda t: ml.models(region).versions().list(parent=body["name"], pageToken=t),
                    "versions",
                )[1]
        return calls
    vx = VertexClient(PROJECT, retry=NO_RETRY)
    flt = f'labels.managed-by="deployer" AND labels.deployer-stack="{stack_name}"'
    for region in REGIONS:
        loc = vx.locations(region)
        parent = vx.location(region)
        models, n = pages(
            lambda t: loc.models().list(parent=parent, filter=flt, pageToken=t), "models"
        )
        calls += (
            n
            + pages(
                lambda t: loc.endpoints().list(parent=parent, filter=flt, pageToken=t), "endpoints"
            )[1]
        )
        for body in models:
            calls += pages(
                lambda t: loc.models().listVersions(name=body["name"], pageToken=t), "models"
            )[1]
    return calls


def timed_plan(stack, prov) -> tuple[float, int]:
    from deployer.workflow import compute_plan

    started = time.perf_counter()
    plan = compute_plan(stack, prov)
    seconds = time.perf_counter() - started
    if plan.actions:
        raise SystemExit(f"expected a no-change plan, got {len(plan.actions)} actions")
    return seconds, len(plan.actions)


def run(backend: str, models: int, latency: float) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp,
        start_twin(
            op_seconds=0, max_models=10_000, max_versions=10_000, vertex_lro_per_minute=1_000_000
        ) as handle,
    ):
        ensure_bucket()
        stack = load(write_repo(Path(tmp), backend, models, 2))
        apply(stack, provider(stack, unpaced=True), parallelism=32)
        counter = Counter()
        # a fresh provider per plan, as each `deployer plan` process has (its own request quota
        # limiter); the first plan warms imports, parsed discovery documents and the hash cache
        timed_plan(stack, provider(stack))
        counter.take()
        zero, _ = timed_plan(stack, provider(stack))
        calls = counter.take()
        handle.knobs(latency_ms=latency)
        slow, _ = timed_plan(stack, provider(stack))
        counter.take()
        started = time.perf_counter()
        seq_calls = sequential_read(backend, stack.name)
        sequential = time.perf_counter() - started
    bound = zero + 2 * latency / 1000
    print(
        f"\n[{backend}] {models} models x {len(REGIONS)} regions x 2 versions, {latency:g} ms/call"
    )
    print(f"  plan, no latency:        {zero:7.2f} s   {calls} API calls")
    print(f"  plan, {latency:g} ms/call:       {slow:7.2f} s   (+{slow - zero:.2f} s from latency)")
    print(f"  sequential read:         {sequential:7.2f} s   {seq_calls} calls (declared regions)")
    print(f"  critical-path bound:     {bound:7.2f} s   (no-latency plan + 2 round trips)")
    print(f"  ratio sequential/plan:   {sequential / slow:7.1f}x")
    print(f"  ratio plan/bound:        {slow / bound:7.2f}x   (target <= 1.5x)")
    print(f"  latency cost / 2 RTTs:   {(slow - zero) / (2 * latency / 1000):7.1f}x")
    return {"zero": zero, "slow": slow, "sequential": sequential, "bound": bound}


if __name__ == "__main__":
    sys.exit(per_backend(sys.argv, run, 100, 50.0))
