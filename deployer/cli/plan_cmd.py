"""`deployer plan`: read the live state, diff it against the manifests, show what would change."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load

TargetOpt = Annotated[
    list[str] | None,
    typer.Option("--target", help="Limit to MODEL or MODEL/VERSION (repeatable)."),
]
DowntimeOpt = Annotated[
    bool,
    typer.Option(
        "--allow-downtime", help="Allow replacing a default version that stays the default."
    ),
]

OverQuotaOpt = Annotated[
    bool,
    typer.Option(
        "--allow-over-quota",
        help="Plan even when the rollout's peak needs more serving quota than is free (a quota "
        "increase is on its way): a warning instead of an error.",
    ),
]


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def write_plan_file(plan, out: Path) -> None:  # plan: deployer.core.plan.Plan
    from deployer.core.errors import UsageError
    from deployer.render.jsonplan import dumps_saved_plan

    try:
        out.write_text(dumps_saved_plan(plan) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write plan to {out}: {exc.strerror or exc}") from None


def show(plan, fmt: Format, regions: tuple[str, ...] = ()) -> None:
    if fmt is Format.json:
        from deployer.render.jsonplan import dumps_plan

        print(dumps_plan(plan))
    elif fmt is Format.markdown:
        from deployer.render.markdown import render_markdown

        print(render_markdown(plan, regions=regions))
    else:
        from deployer.render.text import render_text

        render_text(plan)


@app.command()
def plan(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    target: TargetOpt = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan for `deployer apply FILE`.")
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 0: no changes, 1: error, 2: changes."),
    ] = False,
    allow_downtime: DowntimeOpt = False,
    allow_over_quota: OverQuotaOpt = False,
) -> None:
    """Show what apply would change, without changing anything."""
    from deployer.apply.smoke import pin
    from deployer.core.errors import DeployerError
    from deployer.workflow import compute_plan, provider_for

    stack = None
    try:
        stack = load(path, env, var)
        result = compute_plan(
            stack,
            provider_for(stack.project, stack.backend),
            allow_downtime=allow_downtime,
            targets=target or (),
            allow_over_quota=allow_over_quota,
        )
        result = pin(stack, result)  # a saved plan runs the same smoke tests, or is stale
    except DeployerError as exc:
        # CI posts what `--format markdown` prints and keeps the `--out` file: both say the
        # plan failed and why, at the manifests' FILE:LINE:COL, instead of being empty.
        failed = failed_plan(path, env, stack, exc)
        if fmt is not Format.text:
            show(failed, fmt)
        if out is not None:
            write_plan_file(failed, out)
        raise
    result = with_manifest_warnings(result, stack)
    show(result, fmt, stack.regions())
    if out is not None:
        write_plan_file(result, out)
        if result.errors:
            print(
                f"Saved the plan to {out}, but it has errors and cannot be applied: fix them and "
                "run `deployer plan --out` again.",
                file=sys.stderr,
            )
        else:
            print(
                f"Saved the plan to {out}; run `deployer apply {out}` to execute it.",
                file=sys.stderr,
            )
    if result.errors:
        raise typer.Exit(1)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def with_manifest_warnings(plan, stack):  # -> deployer.core.plan.Plan
    """The plan with the manifests' warnings first, so the PR comment shows them too (they are
    on stderr already)."""
    import dataclasses

    found = tuple(str(w) for w in stack.warnings)
    return dataclasses.replace(plan, warnings=found + plan.warnings) if found else plan


def failed_plan(path: Path, env, stack, exc):  # -> deployer.core.plan.Plan
    """A plan that only says it failed and why: every problem of a ManifestError on its own
    `FILE:LINE:COL` line, else the error's message; the header from whatever loaded."""
    from deployer.core.diagnostics import ManifestError
    from deployer.core.plan import Plan
    from deployer.workflow import emulator_url, git_commit

    if isinstance(exc, ManifestError):
        errors = tuple(str(d) for d in exc.diagnostics) or (str(exc),)
        warnings = tuple(str(w) for w in exc.warnings)
    else:
        errors, warnings = (str(exc),), ()
    if stack is not None:
        name, project, backend = stack.name, stack.project, stack.backend
        warnings = tuple(str(w) for w in stack.warnings) + warnings
    else:
        name, project, backend = _settings_header(path, env)
    root = path if path.is_dir() else path.parent
    return Plan(
        stack=name,
        project=project,
        errors=errors,
        warnings=warnings,
        backend=backend,
        environment=env or "",
        emulator=emulator_url(),
        commit=git_commit(root),
    )


def _settings_header(path: Path, env: str | None) -> tuple[str, str, str]:
    """(stack, project, backend) read plainly from deployer.yaml when the manifests did not
    load; what cannot be read (a missing file, a variable) stays unknown."""
    import yaml

    unknown = "(unknown: the manifests did not load)"
    root = path if path.is_dir() else path.parent
    for folder in (root, *root.parents):
        settings = folder / "deployer.yaml"
        if settings.is_file():
            break
    else:
        return unknown, unknown, ""
    try:
        doc = yaml.safe_load(settings.read_text(encoding="utf-8")[:1_000_000])
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        doc = None
    doc = doc if isinstance(doc, dict) else {}
    chosen = (doc.get("environments") or {}).get(env) if env else None
    chosen = chosen if isinstance(chosen, dict) else {}

    def plain(value: object) -> str:
        return value if isinstance(value, str) and "${" not in value else unknown

    backend = chosen.get("backend") or doc.get("backend") or ""
    return plain(doc.get("stack")), plain(doc.get("project")), str(backend)


class ShowFormat(StrEnum):
    markdown = "markdown"
    text = "text"


def read_plan_files(files: list[Path]):  # -> list[deployer.core.plan.Plan]
    """Saved plans, each read with the guards of deployer.core.jsonfile (size, kind of file,
    nesting, finite numbers), so a hostile file is one line naming it."""
    from deployer.core import jsonfile
    from deployer.core.errors import DeployerError, UsageError
    from deployer.render.jsonplan import plan_from_json
    from deployer.workflow import resolved

    plans = []
    for path in files:
        try:
            doc = jsonfile.read_json(path)
        except jsonfile.InputError as exc:
            raise UsageError(f"cannot read plan {exc}") from None
        try:
            plans.append(resolved(plan_from_json(doc)))
        except DeployerError as exc:
            raise DeployerError(f"{path}: {exc}") from None
        except RecursionError:
            raise DeployerError(f"{path}: plan document nested too deeply") from None
    return plans


@app.command("show-plans")
def show_plans(
    files: Annotated[
        list[Path],
        typer.Argument(help="Plans saved with `deployer plan --out`, one per environment."),
    ],
    fmt: Annotated[
        ShowFormat, typer.Option("--format", help="Output format.")
    ] = ShowFormat.markdown,
) -> None:
    """Show saved plans together: one pull-request comment for every environment."""
    plans = read_plan_files(files)
    if fmt is ShowFormat.markdown:
        from deployer.render.markdown import render_markdown_many

        print(render_markdown_many(plans))
        return
    from deployer.render.text import render_text, total_line

    for i, saved in enumerate(plans):
        if i:
            print()
        render_text(saved)
    total = total_line(plans)
    if total:
        print(f"\n{total}")
