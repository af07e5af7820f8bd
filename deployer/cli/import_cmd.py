"""`deployer import`: adopt live models deployer does not manage, and print their manifest."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, VarOpt, load
from deployer.core.errors import UsageError


@app.command("import")
def import_(
    target: Annotated[
        str | None, typer.Argument(help="MODEL or MODEL/VERSION to adopt (or --all).")
    ] = None,
    path: Annotated[
        Path, typer.Option("--manifests", help="Manifests directory (its deployer.yaml).")
    ] = Path("manifests"),
    region: Annotated[
        str | None,
        typer.Option("--region", help="Where the model lives (default: every region)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Import every unmanaged model (of --region, if given).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the manifest YAML here, not to stdout.")
    ] = None,
    env: EnvOpt = None,
    var: VarOpt = None,
) -> None:
    """Label live models as this stack's and print the manifest that declares them as they are.

    Add the printed YAML to the manifests: `deployer plan` then shows no changes for them.
    """
    from deployer.adopt import import_models
    from deployer.config.variables import parse_cli_vars
    from deployer.workflow import provider_for, scanned_endpoints

    if (target is None) == (not every):
        raise UsageError("name one MODEL[/VERSION] or pass --all (not both)")
    stack = load(path, env, var)
    provider = provider_for(stack.project, stack.backend)
    regions = [region] if region else list(scanned_endpoints(provider))
    result = import_models(
        stack,
        provider,
        target,
        regions=regions,
        every=every,
        environment=env,
        cli_vars=parse_cli_vars(var or []),
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if out is not None:
        out.write_text(result.yaml)
        print(f"Wrote the manifest of {', '.join(result.models)} to {out}.", file=sys.stderr)
    else:
        print(result.yaml, end="")
    if result.remaining:
        print("warning: after the import, a plan would still take these actions:", file=sys.stderr)
        for line in result.remaining:
            print(f"  {line}", file=sys.stderr)
        raise typer.Exit(1)
    print(
        f"Imported {', '.join(result.models)} into stack {stack.name!r}: add the manifest to "
        f"{path}/ and `deployer plan` shows no changes for them.",
        file=sys.stderr,
    )
