"""`deployer validate`: check manifests offline, with every problem and its position."""

from pathlib import Path
from typing import Annotated

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load


@app.command()
def validate(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    artifacts: Annotated[
        bool,
        typer.Option(
            "--artifacts",
            help="Also check each artifact as the service would: SavedModel tag, signature, "
            "batch dimensions, size and file limits, model file names (reads gs:// objects).",
        ),
    ] = False,
) -> None:
    """Check manifests without calling any API; print each problem as FILE:LINE:COL: message."""
    stack = load(path, env, var)
    if artifacts:
        from deployer.workflow import check_artifacts

        check_artifacts(stack)
    versions = sum(len(m.spec.versions) for m in stack.models)
    regions = stack.regions()
    print(
        f"Valid: stack '{stack.name}' (project {stack.project}): {len(stack.models)} "
        f"model{'s' if len(stack.models) != 1 else ''}, {versions} "
        f"version{'s' if versions != 1 else ''} in {len(regions)} "
        f"region{'s' if len(regions) != 1 else ''} ({', '.join(regions) or 'none'})."
    )
