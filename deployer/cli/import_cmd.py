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
    sink = _Output(out) if out is not None else None  # refused now, before any label is written
    provider = provider_for(stack.project, stack.backend)
    regions = [region] if region else list(scanned_endpoints(provider))
    try:
        result = import_models(
            stack,
            provider,
            target,
            regions=regions,
            every=every,
            environment=env,
            cli_vars=parse_cli_vars(var or []),
        )
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if sink is not None:
        try:
            sink.commit(result.yaml)
        except UsageError as exc:
            left = result.undo()
            undone = (
                "the labels written were removed again"
                if not left
                else f"could not undo: {'; '.join(left)}"
            )
            raise UsageError(f"{exc}; nothing was imported ({undone})") from None
        print(f"Wrote the manifest of {', '.join(result.models)} to {out}.", file=sys.stderr)
    else:
        print(result.yaml, end="")
    for skipped in result.skipped:
        print(f"warning: not imported: {skipped}", file=sys.stderr)
    print(
        f"Imported {', '.join(result.models)} into stack {stack.name!r}: add the manifest to "
        f"{path}/ and `deployer plan` shows no changes for them.",
        file=sys.stderr,
    )
    if result.skipped:
        raise typer.Exit(1)


class _Output:
    """The --out file, proven writable before anything is imported: a temporary file beside
    it, renamed over it once the manifest is written (so a failure leaves no half file)."""

    def __init__(self, out: Path) -> None:
        import os
        import tempfile

        self.out = out
        if out.is_dir() or (out.exists() and not out.is_file()):
            raise UsageError(f"--out {out}: not a regular file")
        try:
            fd, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or Path("."))
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
        os.close(fd)
        self.tmp = Path(name)

    def commit(self, text: str) -> None:
        import os

        try:
            self.tmp.write_text(text)
            os.replace(self.tmp, self.out)
        except OSError as exc:
            self.discard()
            raise UsageError(f"cannot write {self.out}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)
