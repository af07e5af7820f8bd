"""`deployer inspect ARTIFACT`: a SavedModel's signatures and an example request body."""

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from deployer.cli.app import app
from deployer.core.errors import UsageError


class InspectFormat(StrEnum):
    text = "text"
    json = "json"


def artifact_files(artifact: str):  # -> deployer.artifacts.checks.Files
    """The files of a local directory or a gs:// prefix."""
    from deployer.artifacts.checks import gcs_files, local_files

    if artifact.startswith("gs://"):
        from deployer.artifacts.gcs import storage_client

        project = os.environ.get("GOOGLE_CLOUD_PROJECT", "deployer-inspect")
        files = gcs_files(storage_client(project), artifact)
        if not files.sizes:
            raise UsageError(f"{artifact}: no objects under this prefix")
        return files
    path = Path(artifact)
    if not path.is_dir():
        raise UsageError(f"{artifact}: not a directory or a gs:// URI")
    return local_files(path)


@app.command()
def inspect(
    artifact: Annotated[str, typer.Argument(help="A SavedModel directory or gs:// URI.")],
    fmt: Annotated[
        InspectFormat, typer.Option("--format", help="Output format.")
    ] = InspectFormat.text,
) -> None:
    """Show a SavedModel's signatures (inputs, outputs, dtypes, shapes), the one the service
    uses, and an example request body in the service's format. No TensorFlow needed."""
    from deployer.artifacts.inspect import describe, render_text

    doc = describe(artifact_files(artifact))
    if fmt is InspectFormat.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_text(doc))
