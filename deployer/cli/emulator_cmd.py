"""`deployer emulator`: run the local twin of AI Platform Prediction and Cloud Storage."""

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer.cli.app import app
from deployer.core.errors import DeployerError, OptionError, UsageError


def _check_data_dir(data_dir: Path) -> None:
    """One line, before anything starts, when --data-dir cannot hold the twin's state."""
    if data_dir.exists() and not data_dir.is_dir():
        raise OptionError(f"--data-dir {data_dir}: exists and is not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptionError(
            f"--data-dir {data_dir}: cannot create it ({exc.strerror or exc})"
        ) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise OptionError(f"--data-dir {data_dir}: not writable")


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the ml v1 API (0: any free port).")
    ] = 8780,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where state, artifacts and GCS objects persist.")
    ] = Path(".deployer/emulator"),
    gcs_port: Annotated[
        int,
        typer.Option(
            "--gcs-port", min=0, max=65535, help="Port of the Cloud Storage emulator (0: any free)."
        ),
    ] = 4443,
    no_gcs: Annotated[
        bool,
        typer.Option(
            "--no-gcs",
            help="Start no Cloud Storage emulator; read artifacts from STORAGE_EMULATOR_HOST.",
        ),
    ] = False,
    op_seconds: Annotated[
        float, typer.Option("--op-seconds", help="How long version operations take.")
    ] = 2.0,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Delay added to every API call.")
    ] = 0.0,
    fault_rate: Annotated[
        float, typer.Option("--fault-rate", help="Share of API calls answered 429 or 503.")
    ] = 0.0,
    op_failure_rate: Annotated[
        float, typer.Option("--op-failure-rate", help="Share of operations that end in error.")
    ] = 0.0,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for the injected faults.")
    ] = None,
    vertex_lro_per_minute: Annotated[
        int,
        typer.Option(
            "--vertex-lro-per-minute",
            help="Vertex long-running-operation submissions allowed per minute and region.",
        ),
    ] = 60,
    vertex_undeploy_settle_s: Annotated[
        float,
        typer.Option(
            "--vertex-undeploy-settle-s",
            help="Seconds after an undeploy during which Vertex deleteVersion is refused.",
        ),
    ] = 0.0,
    vertex_realism: Annotated[
        bool,
        typer.Option(
            "--vertex-realism",
            help="Turn on the Vertex realism profile: undeploys settle for 2 s, names carry the "
            "project number, model labels win over version labels, 64 serving CPUs per region.",
        ),
    ] = False,
    vertex_service_names: Annotated[
        bool,
        typer.Option(
            "--vertex-service-names",
            help="Vertex names carry the project number; deployed-model IDs have 19 digits.",
        ),
    ] = False,
    vertex_label_precedence: Annotated[
        str,
        typer.Option(
            "--vertex-label-precedence",
            help="Which labels win when a Vertex read merges model and version labels: "
            "version or model.",
        ),
    ] = "version",
    vertex_serving_cpus: Annotated[
        int,
        typer.Option(
            "--vertex-serving-cpus",
            help="Custom model serving CPUs per project and region (0: the twin's default, "
            "1024): short for --quota custom_model_serving_cpus=N. Service Usage reports it, "
            "and a deploy past it fails inside its operation with RESOURCE_EXHAUSTED.",
        ),
    ] = 0,
    vertex_deploy_failure_rate: Annotated[
        float,
        typer.Option(
            "--vertex-deploy-failure-rate",
            help="Share of Vertex deploys that fail inside their operation (image pull, model "
            "server crash).",
        ),
    ] = 0.0,
    bucket: Annotated[
        list[str] | None,
        typer.Option("--bucket", help="Create this bucket in the GCS emulator (repeatable)."),
    ] = None,
    quota: Annotated[
        list[str] | None,
        typer.Option(
            "--quota",
            help="A serving quota limit: METRIC[@REGION]=LIMIT, e.g. "
            "custom_model_serving_cpus@us-central1=24 (repeatable; -1: unlimited).",
        ),
    ] = None,
    deny_permission: Annotated[
        list[str] | None,
        typer.Option(
            "--deny-permission",
            help="testIamPermissions never grants this permission (pattern, repeatable).",
        ),
    ] = None,
    disable_service: Annotated[
        list[str] | None,
        typer.Option(
            "--disable-service",
            help="Report this API disabled, e.g. aiplatform.googleapis.com (repeatable).",
        ),
    ] = None,
    bucket_location: Annotated[
        list[str] | None,
        typer.Option(
            "--bucket-location",
            help="The location a bucket reports: BUCKET=LOCATION (default US-CENTRAL1).",
        ),
    ] = None,
) -> None:
    """Run the local twin of AI Platform (ml v1), Vertex AI (aiplatform v1) and Cloud Storage."""
    import signal
    import sqlite3
    import threading

    from deployer.emulator import Knobs, start
    from deployer.emulator.knobs import VERTEX_REALISM
    from deployer.emulator.project_knobs import from_flags

    vertex: dict[str, Any] = {
        "vertex_undeploy_settle_s": vertex_undeploy_settle_s,
        "vertex_service_names": vertex_service_names,
        "vertex_label_precedence": vertex_label_precedence,
        "vertex_deploy_failure_rate": vertex_deploy_failure_rate,
    }
    if vertex_realism:  # the profile, except where a flag asks for more
        defaults = Knobs()
        vertex = {
            k: (VERTEX_REALISM.get(k, v) if v == getattr(defaults, k) else v)
            for k, v in vertex.items()
        }
    try:
        project = from_flags(
            quota or [],
            deny_permission or [],
            disable_service or [],
            bucket_location or [],
            serving_cpus=vertex_serving_cpus,
            under=VERTEX_REALISM["quotas"] if vertex_realism else None,
        )
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    knobs = Knobs(
        op_seconds=op_seconds,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        op_failure_rate=op_failure_rate,
        seed=seed,
        vertex_lro_per_minute=vertex_lro_per_minute,
        **vertex,
        **project,
    )
    try:
        knobs.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    storage_url = os.environ.get("STORAGE_EMULATOR_HOST") if no_gcs else None
    _check_data_dir(data_dir)
    try:
        handle = start(
            data_dir,
            host=host,
            port=port,
            gcs_port=None if no_gcs else gcs_port,
            knobs=knobs,
            storage_url=storage_url,
        )
    except (OSError, sqlite3.Error) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise DeployerError(f"the emulator could not start in {data_dir}: {why}") from None
    if bucket:
        from deployer.emulator.gcs import ensure_bucket

        if handle.gcs_url is None:
            handle.stop()
            raise UsageError("--bucket needs the Cloud Storage emulator (drop --no-gcs)")
        for name in bucket:
            ensure_bucket(handle.gcs_url, name)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"deployer emulator: ml v1 API at {handle.url} (data in {handle.data_dir})")
        print(f"  global endpoint:   {handle.url}/v1/...")
        print(f"  regional endpoint: {handle.url}/REGION/v1/...")
        print(f"  Vertex AI (aiplatform v1): {handle.url}/v1/projects/P/locations/REGION/...")
        print(f"  project services:  {handle.url}/HOST/... (serviceusage, cloudbilling, ...)")
        if handle.gcs_url and not no_gcs:
            print(f"  Cloud Storage:     {handle.gcs_url}")
        elif not handle.gcs_url:
            print("  Cloud Storage:     none (--no-gcs and no STORAGE_EMULATOR_HOST)")
        print(f"export AIPLATFORM_EMULATOR_HOST={handle.url}")
        if handle.gcs_url:
            print(f"export STORAGE_EMULATOR_HOST={handle.gcs_url}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        handle.stop()
        print("deployer emulator: stopped.", flush=True)
