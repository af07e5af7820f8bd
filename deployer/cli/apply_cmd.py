"""`deployer apply`, `deployer destroy` and `deployer force-unlock`."""

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load
from deployer.cli.plan_cmd import DowntimeOpt, OverQuotaOpt, TargetOpt
from deployer.core.errors import OptionError, UsageError

AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", help="Skip the confirmation (required off a terminal).")
]
ParallelismOpt = Annotated[
    int | None,
    typer.Option(
        "--parallelism",
        min=1,
        max=64,
        help="Actions in flight at once [default: as many as the quotas allow: 10 on ml v1, "
        "64 on Vertex].",
        show_default=False,
    ),
]
LockTimeoutOpt = Annotated[
    str,
    typer.Option("--lock-timeout", help="How long to wait for the stack lock, e.g. 30s, 5m."),
]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise OptionError(f"--lock-timeout {text!r}: expected a duration like 30s, 5m or 1h")
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


MANIFEST_SUFFIXES = (".yaml", ".yml")


def _read_plan_file(path: Path) -> dict | None:
    """The parsed document when `path` is a plan saved with `plan --out`; None for a manifests
    path (a directory or a .yaml/.yml file); UsageError for any other file, which can only have
    been meant as a saved plan and is not a valid one."""
    from deployer.core import jsonfile

    if not path.is_file():
        return None
    manifest = path.suffix.lower() in MANIFEST_SUFFIXES
    try:
        text = jsonfile.read_text(path)
    except jsonfile.InputError as exc:
        if manifest:
            return None  # the manifest loader reports it in its own terms
        raise UsageError(f"{path}: not a valid saved plan ({exc.reason})") from None
    why = "it is not a JSON document written by `deployer plan --out`"
    try:
        doc = jsonfile.parse(text, str(path))
    except jsonfile.InputError as exc:
        why = "it is truncated" if "too early" in exc.reason else exc.reason
        doc = None
    if isinstance(doc, dict) and "format_version" in doc:
        return doc
    if manifest:
        return None
    if isinstance(doc, dict):
        why = "it has no format_version"
    raise UsageError(
        f"{path}: not a valid saved plan ({why}); pass a manifests directory or .yaml file, "
        "or a plan written by `deployer plan --out`"
    )


def _execute(
    plan: Any,
    provider: Any,
    storage: Any,
    parallelism: int | None,
    verb: str,
    guard: Any,
    smoke: Any = None,
    recorder: Any = None,
) -> None:
    from deployer.apply.interrupt import Interrupted
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
    guard.armed = True
    with progress:
        report = run_plan(
            plan, provider, storage, progress, progress.note, parallelism, gate, stop=guard.stop
        )
    guard.armed = False
    if recorder is not None:
        recorder.report = report
    if guard.stop.requested.is_set():
        for outcome in report.failed:
            if outcome not in report.interrupted:
                print(f"  {outcome.action.address}: {outcome.error}", file=sys.stderr)
        raise Interrupted(
            f"Interrupted: {len(report.interrupted)} of {len(report.outcomes)} actions were not "
            f"started, {len(report.outcomes) - len(report.failed)} done, the actions in flight "
            "finished. The stack lock was released; run the command again to converge."
        )
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
    parallelism: int | None,
    lock_timeout: str,
    backend: str,
    saved_plan: str = "",
) -> None:
    from deployer import backends_used
    from deployer.apply.interrupt import interruptible
    from deployer.apply.lock import StackLock
    from deployer.apply.smoke import pinned_tests
    from deployer.artifacts.gcs import storage_client
    from deployer.cli.plan_cmd import Format, show
    from deployer.history import recording
    from deployer.providers import registry
    from deployer.workflow import provider_for

    timeout = parse_duration(lock_timeout)
    provider = provider_for(project, backend)
    storage = storage_client(project)

    def waiting(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    lock = StackLock(storage, artifacts, stack_name, operation, timeout=timeout, on_wait=waiting)
    with (
        interruptible() as guard,
        lock,
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
            if operation == "destroy":
                backends_used.unmark(storage, artifacts, stack_name, backend)
            return
        # read again, as apply will run them: stale if edited
        smoke = pinned_tests(plan, registry.backend(backend).key_name)
        question = (
            "Do you really want to destroy all resources of this stack?"
            if operation == "destroy"
            else "Do you want to perform these actions?"
        )
        _confirm(auto_approve, question)
        if operation == "apply":
            backends_used.mark(storage, artifacts, stack_name, backend)
        _execute(plan, provider, storage, parallelism, operation, guard, smoke, recorder)
        if operation == "destroy":  # everything went (a failure exits above)
            backends_used.unmark(storage, artifacts, stack_name, backend)


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
    parallelism: ParallelismOpt = None,
    lock_timeout: LockTimeoutOpt = "0s",
    allow_downtime: DowntimeOpt = False,
    allow_over_quota: OverQuotaOpt = False,
) -> None:
    """Make the live cloud match the manifests (or execute exactly a saved plan)."""
    saved_doc = _read_plan_file(path)
    if saved_doc is not None:
        _apply_saved(path, saved_doc, parallelism, lock_timeout, env, var)
        return
    from deployer.apply.smoke import pin
    from deployer.workflow import compute_plan

    stack = load(path, env, var)
    _run(
        stack.name,
        stack.project,
        stack.settings.artifacts,
        "apply",
        lambda provider: pin(
            stack,
            compute_plan(
                stack,
                provider,
                allow_downtime=allow_downtime,
                targets=target or (),
                allow_over_quota=allow_over_quota,
            ),
        ),
        auto_approve,
        parallelism,
        lock_timeout,
        stack.backend,
    )


def _apply_saved(
    path: Path,
    doc: dict,
    parallelism: int | None,
    lock_timeout: str,
    env: str | None = None,
    var: list[str] | None = None,
) -> None:
    from deployer.apply.run import check_current, check_ownership
    from deployer.artifacts import digest_sources
    from deployer.core.errors import DeployerError
    from deployer.core.ownership import fingerprint
    from deployer.render.jsonplan import plan_from_json, verify_checksum
    from deployer.workflow import read_observed, resolved

    try:
        verify_checksum(doc)
        saved = resolved(plan_from_json(doc))
    except DeployerError as exc:
        raise UsageError(
            f"{path}: not a valid saved plan: {exc}; run `deployer plan --out FILE` again"
        ) from None
    if not saved.artifacts_uri:
        raise UsageError(f"{path}: the plan file does not name its artifacts location")

    def make_plan(provider: Any) -> Any:
        # A local artifact that is gone has no digest, so the plan is refused as stale.
        present = [s for s in saved.artifacts if s.startswith("gs://") or Path(s).is_dir()]
        digests = digest_sources(present, saved.project)
        observed = read_observed(provider, saved.stack)
        check_current(saved, fingerprint(observed), digests)
        check_ownership(saved, observed)
        return _with_secrets(saved, env, var)

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


def _with_secrets(saved: Any, env: str | None, var: list[str] | None) -> Any:
    """The saved plan with the sensitive values it holds only as digests filled in from the
    manifests it was made from (same environment; `--var` as for `deployer plan`); stale when
    one of them is not what the manifests give now."""
    import dataclasses

    from deployer.apply.run import StalePlanError
    from deployer.core.sensitive import Redacted, digest, resolve, secrets_in

    wanted = {
        s.digest
        for action in saved.actions
        for s in secrets_in(action.desired or {})
        if isinstance(s, Redacted)
    }
    if not wanted:
        return saved
    if env is not None and env != (saved.environment or None):
        raise OptionError(
            f"--env {env}: the saved plan was made for "
            f"{f'--env {saved.environment}' if saved.environment else 'no --env'}"
        )
    where = Path(saved.manifests or "manifests")
    stack = load(where, saved.environment or None, var)
    known = {digest(value, saved.fingerprint): value for value in stack.sensitive_values()}
    missing = wanted - known.keys()
    if missing:
        raise StalePlanError(
            f"saved plan is stale: {len(missing)} of its sensitive values are not what {where}/ "
            "gives now (pass the same --var values as to `deployer plan`); run `deployer plan "
            "--out FILE` again"
        )
    actions = tuple(
        dataclasses.replace(a, desired=resolve(a.desired, known)) if a.desired else a
        for a in saved.actions
    )
    return dataclasses.replace(saved, actions=actions)


@app.command()
def destroy(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    auto_approve: AutoApproveOpt = False,
    parallelism: ParallelismOpt = None,
    lock_timeout: LockTimeoutOpt = "0s",
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="Destroy what the stack has on this backend instead of the one it names now "
            "(after a switch of `backend:`, plans name what is left on the old one).",
        ),
    ] = None,
) -> None:
    """Delete every model and version this stack manages (honoring protect)."""
    from deployer.providers import registry
    from deployer.workflow import compute_plan

    stack = load(path, env, var)
    if backend is not None:
        registry.backend(backend)  # UsageError naming the known ones
    _run(
        stack.name,
        stack.project,
        stack.settings.artifacts,
        "destroy",
        lambda provider: compute_plan(stack, provider, destroy=True),
        auto_approve,
        parallelism,
        lock_timeout,
        backend or stack.backend,
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
