"""Shared by the bench scripts: a twin in a temp dir, a generated manifests repo, in-process
plan and apply with deployer's own code (no CLI), and a sequential 'what a team writes without
deployer' client.

Every script measures its baseline and its bound in the same run: on a shared machine only the
ratios of one run mean anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
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


class Twin:
    """A twin running in its own process, as the real service runs on its own machines: its
    CPU never competes with deployer's for one interpreter lock."""

    def __init__(self, process: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.process = process
        self.env = env
        self.url = env["AIPLATFORM_EMULATOR_HOST"]

    def knobs(self, **values: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_emulator/config",
            data=json.dumps(values).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


@contextlib.contextmanager
def twin(**knobs: Any) -> Iterator[Twin]:
    """`deployer emulator` (with its GCS emulator) in a temp dir; its env vars set meanwhile."""
    with tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp:
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in knobs.items() if k in CLI_KNOBS]
        process = subprocess.Popen(
            [sys.executable, "-m", "deployer", "emulator", "--port=0", "--gcs-port=0",
             f"--data-dir={tmp}/twin", *flags],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        env: dict[str, str] = {}
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while "STORAGE_EMULATOR_HOST" not in env and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the twin exited before it was ready")
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                env[key] = value
        handle = Twin(process, env)
        rest = {k: v for k, v in knobs.items() if k not in CLI_KNOBS}
        if rest:
            handle.knobs(**rest)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield handle
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


CLI_KNOBS = ("op_seconds", "latency_ms", "vertex_lro_per_minute")


@contextlib.contextmanager
def latency_proxy(upstream: str, latency_ms: float) -> Iterator[str]:
    """`bench/_latency_proxy.py` in front of `upstream`, in its own process; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "_latency_proxy.py"), upstream, str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


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
    from deployer.stacks import load_stack

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
    """Counts deployer's API calls (HTTP requests to the twin) on the client side."""

    def __init__(self) -> None:
        import httplib2

        self.count = 0
        self._lock = threading.Lock()
        counter = self
        original = httplib2.Http.request

        def request(http: Any, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.count += 1
            return original(http, *args, **kwargs)

        httplib2.Http.request = request  # type: ignore[method-assign]

    def take(self) -> int:
        with self._lock:
            value, self.count = self.count, 0
        return value


def per_backend(argv: list[str], run: Any, models: int, second: float) -> int:
    """`script [MODELS] [SECOND] [BACKEND...]`: `run(backend, models, second)` for each backend
    (both by default), after the machine line."""
    count = int(argv[1]) if len(argv) > 1 else models
    value = float(argv[2]) if len(argv) > 2 else second
    print(f"machine: {machine()}")
    for backend in argv[3:] or ["mlengine", "vertex"]:
        run(backend, count, value)
    return 0
