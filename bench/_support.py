"""Shared by the bench scripts: a twin in a temp dir, a generated manifests repo, in-process
plan and apply with deployer's own code (no CLI), and a sequential 'what a team writes without
deployer' client.

Every script measures its baseline and its bound in the same run: on a shared machine only the
ratios of one run mean anything.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_GCE_CHECK", "true")
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PROJECT = "bench-project"
BUCKET = "bench-models"
REGIONS = ("us-central1", "europe-west4")


def machine() -> str:
    cpus = os.cpu_count()
    try:
        load = f"load {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    python = platform.python_version()
    return f"{platform.node()} {platform.machine()} {cpus} cpu {load}, Python {python}"


@contextlib.contextmanager
def twin(**knobs: Any) -> Iterator[Any]:
    """A twin (with its GCS emulator) in a temp dir; AIPLATFORM/STORAGE_EMULATOR_HOST set."""
    from deployer.emulator import Knobs, start

    with tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp:
        handle = start(Path(tmp) / "twin", port=0, gcs_port=0, knobs=Knobs(**knobs))
        saved = {k: os.environ.get(k) for k in handle.env}
        os.environ.update(handle.env)
        try:
            yield handle
        finally:
            handle.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def storage_client() -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


def write_repo(
    root: Path,
    backend: str,
    models: int,
    versions: int,
    regions: tuple[str, ...] = REGIONS,
    stack: str = "bench",
    deployed: bool = False,
) -> Path:
    """A manifests repo: `models` models in `regions`, `versions` versions each (a tiny
    scikit-learn artifact per version, so the twin never imports TensorFlow). On Vertex the
    first version is deployed and takes the traffic; with `deployed` the others are at 0%."""
    import yaml

    export = root / "export"
    for v in range(versions):
        art = export / f"v{v}"
        art.mkdir(parents=True, exist_ok=True)
        (art / "model.joblib").write_bytes(f"model bytes {v}\n".encode())
    manifests = root / "manifests"
    (manifests / "models").mkdir(parents=True, exist_ok=True)
    (manifests / "deployer.yaml").write_text(
        yaml.safe_dump(
            {
                "stack": stack,
                "backend": backend,
                "project": PROJECT,
                "artifacts": f"gs://{BUCKET}/deployer",
                "region": regions[0],
            }
        )
    )
    entries = []
    for m in range(models):
        entry: dict[str, Any] = {
            "name": f"model{m:03d}",
            "regions": list(regions),
            "default_version": "v0",
            "versions": [
                {
                    "name": f"v{v}",
                    "artifact": f"../../export/v{v}",
                    "framework": "scikit-learn",
                    "framework_version": "1.0",
                    "runtime_version": "2.11",
                    "python_version": "3.7",
                    "machine_type": "n1-standard-2",
                    **({"deployed": deployed or v == 0} if backend == "vertex" else {}),
                }
                for v in range(versions)
            ],
        }
        if backend == "mlengine":
            for version in entry["versions"]:
                del version["framework_version"]
        else:
            for version in entry["versions"]:
                del version["python_version"]
        entries.append(entry)
    (manifests / "models" / "all.yaml").write_text(yaml.safe_dump({"models": entries}))
    return manifests


def load(manifests: Path) -> Any:
    from deployer.config import load_stack

    return load_stack(manifests, None, {})


def provider(stack: Any, *, unpaced: bool = False) -> Any:
    """deployer's provider for the stack; `unpaced` lifts the request and LRO quota pacing
    (set-up only: the twin enforces no request quota, and set-up is not what is measured)."""
    from deployer.providers.pacing import UNLIMITED
    from deployer.workflow import provider_for

    prov = provider_for(stack.project, stack.backend)
    if unpaced:
        prov.client.request_limiter = UNLIMITED
        if stack.backend == "vertex":
            prov.client.limiter = UNLIMITED
    return prov


class Recorder:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.outcomes: list[tuple[float, Any]] = []

    def started(self, action: Any) -> None:
        pass

    def finished(self, outcome: Any) -> None:
        self.outcomes.append((time.monotonic() - self.t0, outcome))


def apply(stack: Any, prov: Any, parallelism: int | None = None) -> tuple[float, Any, Recorder]:
    """Plan and apply `stack` in-process; (seconds of the apply alone, report, recorder)."""
    from deployer.apply.run import run_plan
    from deployer.workflow import compute_plan

    plan = compute_plan(stack, prov)
    events = Recorder()
    started = time.monotonic()
    report = run_plan(plan, prov, storage_client(), events, lambda _: None, parallelism)
    seconds = time.monotonic() - started
    if report.failed:
        first = report.failed[0]
        raise SystemExit(
            f"apply failed ({len(report.failed)} actions), first: {first.action.address}: "
            f"{first.error}"
        )
    return seconds, report, events


def ensure_bucket() -> None:
    client = storage_client()
    with contextlib.suppress(Exception):
        client.create_bucket(BUCKET)


class Counter:
    """Counts the twin's API calls (HTTP requests to its port) by wrapping its handler."""

    def __init__(self, handle: Any) -> None:
        self.count = 0
        server = handle._server
        handler = server.RequestHandlerClass
        counter = self

        class Counting(handler):  # type: ignore[misc, valid-type]
            def _handle(self, method: str) -> None:
                counter.count += 1
                super()._handle(method)

        server.RequestHandlerClass = Counting

    def take(self) -> int:
        value, self.count = self.count, 0
        return value
