"""Benchmark: reading the live state with the concurrent reader vs one request at a time.

Starts the local twin with a per-call latency (default 25 ms, a modest stand-in for the real
API's round trips), creates M models with V versions on each of E endpoints, then times
`read_state` with parallelism 1 (the baseline) and with the default 8, in this process. Prints
both and the ratio.

Usage: python bench/read_state.py [MODELS_PER_ENDPOINT] [LATENCY_MS]   (default 10 25)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("NO_GCE_CHECK", "true")

ENDPOINTS = ("global", "us-central1", "europe-west4")


def main(argv: list[str]) -> int:
    from google.auth.credentials import AnonymousCredentials
    from googleapiclient import discovery

    from deployer import catalog
    from deployer.emulator import Knobs, start
    from deployer.providers.mlengine.client import MLClient
    from deployer.providers.mlengine.reader import read_state

    per_endpoint = int(argv[1]) if len(argv) > 1 else 10
    latency = float(argv[2]) if len(argv) > 2 else 25.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        start(tmp, port=0, gcs_port=None, knobs=Knobs(op_seconds=0)) as twin,
    ):
        for endpoint in ENDPOINTS:
            ml = discovery.build(
                "ml",
                "v1",
                static_discovery=True,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": twin.api_endpoint(endpoint)},
            )
            for i in range(per_endpoint):
                ml.projects().models().create(
                    parent="projects/bench-project",
                    body={
                        "name": f"m{i}",
                        "labels": {"managed-by": "deployer", "deployer-stack": "bench"},
                    },
                ).execute()
        twin.knobs.update({"latency_ms": latency})
        timings = {}
        for parallelism in (1, 8):
            client = MLClient("bench-project", emulator=twin.url)
            started = time.perf_counter()
            observed = read_state(
                "bench-project", catalog.ENDPOINTS, "bench", parallelism, client=client
            )
            timings[parallelism] = time.perf_counter() - started
        models = sum(1 for r in observed if r.key.version is None)
    print(
        f"{models} models on {len(ENDPOINTS)} of {len(catalog.ENDPOINTS)} endpoints, "
        f"{latency:g} ms per call"
    )
    print(f"sequential (parallelism 1): {timings[1] * 1000:8.0f} ms")
    print(f"concurrent (parallelism 8): {timings[8] * 1000:8.0f} ms")
    print(f"ratio sequential/concurrent: {timings[1] / timings[8]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
