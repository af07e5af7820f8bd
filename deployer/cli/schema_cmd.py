"""`deployer schema`: JSON Schema of the manifest format for editors' YAML language servers."""

import json
from typing import Annotated

import typer

from deployer.cli.app import app


@app.command()
def schema(
    settings: Annotated[
        bool, typer.Option("--settings", help="Schema of deployer.yaml instead of a model file.")
    ] = False,
) -> None:
    """Print the JSON Schema of a model file (or, with --settings, of deployer.yaml)."""
    from deployer.config.schema import ModelFile, Settings

    model = Settings if settings else ModelFile
    document = model.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "deployer settings (deployer.yaml)" if settings else "deployer model file"
    print(json.dumps(document, indent=2, sort_keys=True))
