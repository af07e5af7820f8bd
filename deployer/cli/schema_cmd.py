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
    from deployer.core.manifest import ModelFile, Settings
    from deployer.providers import registry

    model = Settings if settings else ModelFile
    document = model.model_json_schema()
    backends = registry.backends()
    if settings:
        names = sorted(backends)
        document["properties"]["backend"]["enum"] = names
        document["properties"]["backend"]["description"] += (
            f" Known: {', '.join(names)}; default: {registry.default().name}."
        )
        document["$defs"]["Environment"]["properties"]["backend"]["enum"] = names
    else:
        gpus = dict.fromkeys(g for b in backends.values() for g in b.accelerators)
        document["$defs"]["Accelerator"]["properties"]["type"]["enum"] = list(gpus)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "deployer settings (deployer.yaml)" if settings else "deployer model file"
    print(json.dumps(document, indent=2, sort_keys=True))
