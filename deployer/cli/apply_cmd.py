"""`deployer apply`, `deployer destroy` and `deployer force-unlock`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load
from deployer.cli.plan_cmd import DowntimeOpt, TargetOpt
from deployer.errors import UsageError

AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", help="Skip the confirmation (required off a terminal).")
]
ParallelismOpt = Annotated[
    int,
    typer.Option("--parallelism", min=1, max=64, help="Actions in flight at once."),
]
LockTimeoutOpt = Annotated[
    str,
    typer.Option("--lock-timeout", help="How long to wait for the stack lock, e.g. 30s, 5m."),
]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(f"--lock-timeout {text!r}: expected a duration like 30s, 5m or 1h")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _confirm(auto_approve: bool, question: str) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError("not on a terminal: pass --auto-approve to apply without confirmation")
    answer = input(f"{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
    if answer.strip() != "yes":
        raise UsageError("cancelled: nothing was changed")


def _read_plan_file(path: Path) -> dict | None:
    """The parsed document when `path` is a plan saved with `plan --out`, else None."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            if not handle.read(4096).lstrip().startswith(b"{"):
                return None
        # Keys are sorted, so `format_version` comes after the actions: read it all.
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "format_version" in doc else None


def _execute(
    plan: Any,
    provider: Any,
    storage: Any,
    parallelism: int,
    verb: str,
    smoke: Any = None,
    recorder: Any = None,
) -> None:
    from deployer.apply.progress import LiveProgress, PlainProgress
    from deployer.apply.run import run_plan
    from deployer.apply.smoke import SmokeGate

    console = _console()
    progress = LiveProgress(console) if console.is_terminal else PlainProgress()
    gate = SmokeGate(provider, smoke, progress.note, plan) if smoke else None
    if hasattr(provider, "on_stage"):  # deployments report their stage as they go
        provider.on_stage = lambda key, stage: progress.note(
            f"{key.address}: {stage.lower().replace('_', ' ')}"
        )
    with progress:
        report = run_plan(plan, provider, storage, progress, progress.note, parallelism, gate)
    if recorder is not None:
        recorder.report = report
    for outcome in report.failed:
        print(f"  {outcome.action.address}: {outcome.error}", file=sys.stderr)
    for line in report.unmoved_defaults:
        print(line)
    summary = report.summary()
    if verb == "destroy":
        summary = summary.replace("Apply", "Destroy")
    print(summary)
    if report.failed:
        raise typer.Exit(1)


def _run(
    stack_name: str,
    project: str,
    artifacts: str,
    operation: str,
    make_plan: Any,
    auto_approve: bool,
    parallelism: int,
    lock_timeout: str,
    backend: str = "mlengine",
    smoke: Any = None,
    saved_plan: str = "",
) -> None:
    from deployer.apply.lock import StackLock
    from deployer.artifacts.gcs import storage_client
    from deployer.cli.plan_cmd import Format, show
    from deployer.history import recording
    from deployer.workflow import provider_for

    timeout = parse_duration(lock_timeout)
    provider = provider_for(project, backend)
    storage = storage_client(project)
    with (
        StackLock(storage, artifacts, stack_name, operation, timeout=timeout),
        recording(
            storage,
            artifacts,
            stack_name,
            operation,
            project=project,
            backend=backend,
            saved_plan=saved_plan,
        ) as recorder,  # history: one record per run, whatever its outcome
    ):
        plan = recorder.plan = make_plan(provider)
        show(plan, Format.text)
        if plan.errors:
            raise typer.Exit(1)
        if not plan.has_changes:
            return
        question = (
            "Do you really want to destroy all resources of this stack?"
            if operation == "destroy"
            else "Do you want to perform these actions?"
        )
        _confirm(auto_approve, question)
        _execute(plan, provider, storage, parallelism, operation, smoke, recorder)


@app.command()
def apply(
    path: Annotated[
        Path,
        typer.Argument(help="Manifests directory or file, or a plan saved with `plan --out`."),
    ] = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    target: TargetOpt = None,
    auto_approve: AutoApproveOpt = False,
    parallelism: ParallelismOpt = 10,
    lock_timeout: LockTimeoutOpt = "0s",
    allow_downtime: DowntimeOpt = False,
) -> None:
    """Make the live cloud match the manifests (or execute exactly a saved plan)."""
    saved_doc = _read_plan_file(path)
    if saved_doc is not None:
        _apply_saved(path, saved_doc, auto_approve, parallelism, lock_timeout)
        return
    from deployer.apply.smoke import smoke_tests
    from deployer.workflow import compute_plan

    stack = load(path, env, var)
    _run(
        stack.name,
        stack.project,
        stack.settings.artifacts,
        "apply",
        lambda provider: compute_plan(
            stack, provider, allow_downtime=allow_downtime, targets=target or ()
        ),
        auto_approve,
        parallelism,
        lock_timeout,
        stack.backend,
        smoke_tests(stack),
    )


def _apply_saved(
    path: Path, doc: dict, auto_approve: bool, parallelism: int, lock_timeout: str
) -> None:
    from deployer.apply.run import check_current
    from deployer.artifacts import digest_sources
    from deployer.render.jsonplan import plan_from_json
    from deployer.workflow import current_fingerprint

    saved = plan_from_json(doc)
    if not saved.artifacts_uri:
        raise UsageError(f"{path}: the plan file does not name its artifacts location")

    def make_plan(provider: Any) -> Any:
        # A local artifact that is gone has no digest, so the plan is refused as stale.
        present = [s for s in saved.artifacts if s.startswith("gs://") or Path(s).is_dir()]
        digests = digest_sources(present, saved.project)
        check_current(saved, current_fingerprint(saved, provider), digests)
        return saved

    _run(
        saved.stack,
        saved.project,
        saved.artifacts_uri,
        "apply",
        make_plan,
        True,  # as Terraform: reviewing the saved plan was the approval; no second question
        parallelism,
        lock_timeout,
        saved.backend,
        saved_plan=str(path),
    )


@app.command()
def destroy(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    auto_approve: AutoApproveOpt = False,
    parallelism: ParallelismOpt = 10,
    lock_timeout: LockTimeoutOpt = "0s",
) -> None:
    """Delete every model and version this stack manages (honoring protect)."""
    from deployer.workflow import compute_plan

    stack = load(path, env, var)
    _run(
        stack.name,
        stack.project,
        stack.settings.artifacts,
        "destroy",
        lambda provider: compute_plan(stack, provider, destroy=True),
        auto_approve,
        parallelism,
        lock_timeout,
        stack.backend,
    )


@app.command("force-unlock")
def force_unlock(
    lock_id: Annotated[str, typer.Argument(help="The lock ID named by the error message.")],
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
) -> None:
    """Remove a stack lock left behind by a run that is gone."""
    from deployer.apply.lock import force_unlock as remove
    from deployer.artifacts.gcs import storage_client

    stack = load(path, env, var)
    removed = remove(storage_client(stack.project), stack.settings.artifacts, stack.name, lock_id)
    print(f"Removed {removed.describe()}.")
