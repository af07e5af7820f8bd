"""`deployer predict`: send instances to a deployed model, as a quick smoke test."""

import json
import math
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, VarOpt, load
from deployer.core.errors import UsageError


def _instances(text: str) -> list:
    """`--instances`: a JSON list (or {"instances": [...]}), @FILE or FILE holding one, or a
    FILE.jsonl of one instance per line; read with the guards of deployer.core.jsonfile."""
    from deployer.core import jsonfile

    name = text.removeprefix("@")
    is_file = text.startswith("@") or (
        not text.lstrip().startswith(("[", "{")) and os.path.lexists(text)
    )
    try:
        if not is_file:
            value: object = jsonfile.parse(text, "--instances")
        elif name.endswith(".jsonl"):
            value = jsonfile.read_jsonl(Path(name), f"--instances {name}")
            if not value:
                raise UsageError(f"--instances {name}: no instances")
        else:
            value = jsonfile.read_json(Path(name), f"--instances {name}")
    except jsonfile.InputError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(value, dict) and "instances" in value:
        value = value["instances"]
    if not isinstance(value, list):
        raise UsageError("--instances: expected a JSON list of instances")
    return value


class PredictFormat(StrEnum):
    auto = "auto"
    table = "table"
    json = "json"


def _cell(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def print_predictions(result: dict, fmt: PredictFormat) -> None:
    """JSON (`--format json`, or off a terminal with the default `auto`), else a table.

    Printed JSON is always valid: NaN and infinities become the strings protobuf uses."""
    result, replaced = finite(result)
    if replaced:
        print(
            f"warning: {replaced} prediction value(s) were NaN or infinite; printed as strings",
            file=sys.stderr,
        )
    if fmt is PredictFormat.json or (fmt is PredictFormat.auto and not sys.stdout.isatty()):
        json.dump(result, sys.stdout, indent=2, allow_nan=False)
        print()
        return
    predictions = result.get("predictions", [])
    keyed = predictions and all(isinstance(p, dict) for p in predictions)
    columns = sorted({k for p in predictions for k in p}) if keyed else ["prediction"]
    rows = [
        [str(i), *(_cell(p.get(c)) for c in columns)] if keyed else [str(i), _cell(p)]
        for i, p in enumerate(predictions)
    ]
    header = ["#", *columns]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def finite(value: Any) -> tuple[Any, int]:
    """`value` with every NaN or infinite float as the string protobuf's JSON mapping uses
    ("NaN", "Infinity", "-Infinity"), and how many there were: printed JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return ("NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"), 1
    if isinstance(value, dict):
        pairs = [(k, finite(v)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, sum(n for _, (_, n) in pairs)
    if isinstance(value, list | tuple):
        items = [finite(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


@app.command()
def predict(
    target: Annotated[
        str | None,
        typer.Argument(help="MODEL or MODEL/VERSION (default version); not with --local."),
    ] = None,
    instances: Annotated[
        str,
        typer.Option(
            "--instances",
            help="JSON list of instances, @FILE or FILE holding it, or FILE.jsonl (one "
            "instance per line).",
        ),
    ] = "",
    local: Annotated[
        str | None,
        typer.Option(
            "--local",
            help="Run this SavedModel (directory or gs:// URI) in-process with TensorFlow, "
            "with the service's conventions, instead of calling a deployed model.",
        ),
    ] = None,
    signature: Annotated[
        str | None, typer.Option("--signature", help="signature_name to send.")
    ] = None,
    fmt: Annotated[
        PredictFormat,
        typer.Option("--format", help="auto: a table on a terminal, JSON otherwise."),
    ] = PredictFormat.auto,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Endpoint to call; default: the model's first region."),
    ] = None,
    path: Annotated[Path, typer.Option("--manifests", help="Manifests directory.")] = Path(
        "manifests"
    ),
    env: EnvOpt = None,
    var: VarOpt = None,
) -> None:
    """Call online prediction on a deployed model and print the predictions as JSON.

    On vertex the model's endpoint routes each request by its traffic split; which version
    answered is printed on stderr.
    """
    if not instances:
        raise UsageError("--instances is required")
    body: dict = {"instances": _instances(instances)}
    if signature:
        body["signature_name"] = signature
    if local is not None:
        if target:
            raise UsageError("give either MODEL[/VERSION] or --local ARTIFACT, not both")
        print_predictions(_predict_local(local, body), fmt)
        return
    if not target:
        raise UsageError("missing MODEL[/VERSION] (or --local ARTIFACT)")
    from deployer.core.provider import Predicts
    from deployer.workflow import provider_for

    stack = load(path, env, var)
    model, _, version = target.partition("/")
    declared = next((m for m in stack.models if m.spec.name == model), None)
    endpoint = region or (declared.regions[0] if declared else stack.settings.region)
    provider = provider_for(stack.project, stack.backend)
    if not isinstance(provider, Predicts):
        raise UsageError(f"backend {stack.backend} answers no online predictions")
    answer = provider.predict(endpoint, model, version or None, body)
    if answer.served_by:
        print(f"answered by {answer.served_by}", file=sys.stderr)
    print_predictions({"predictions": answer.predictions}, fmt)


def _predict_local(artifact: str, body: dict) -> dict:
    """Run the SavedModel in-process exactly as the service would (deployer.artifacts.serving)."""
    import tempfile

    from deployer.artifacts import serving
    from deployer.core.errors import DeployerError

    with tempfile.TemporaryDirectory(prefix="deployer-local-") as tmp:
        if artifact.startswith("gs://"):
            from deployer.cli.inspect_cmd import artifact_files

            files = artifact_files(artifact)
            for name in files.sizes:
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(files.read(name))
            path = Path(tmp)
        else:
            path = Path(artifact)
            if not (path / "saved_model.pb").is_file():
                raise UsageError(f"--local {artifact}: not a SavedModel directory")
        try:
            serving.check_loadable(path, artifact)
            return serving.predict(path, body)
        except (serving.LoadError, serving.PredictError) as exc:
            raise DeployerError(str(exc)) from None
