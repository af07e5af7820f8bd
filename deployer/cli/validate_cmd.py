"""`deployer validate`: check manifests offline, with every problem and its position."""

from __future__ import annotations

from pathlib import Path

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load


@app.command()
def validate(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
) -> None:
    """Check manifests without calling any API; print each problem as FILE:LINE:COL: message."""
    stack = load(path, env, var)
    versions = sum(len(m.spec.versions) for m in stack.models)
    regions = stack.regions()
    print(
        f"Valid: stack '{stack.name}' (project {stack.project}): {len(stack.models)} "
        f"model{'s' if len(stack.models) != 1 else ''}, {versions} "
        f"version{'s' if versions != 1 else ''} in {len(regions)} "
        f"region{'s' if len(regions) != 1 else ''} ({', '.join(regions) or 'none'})."
    )
