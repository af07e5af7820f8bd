"""`deployer predict`: send instances to a deployed model, as a quick smoke test."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer import catalog
from deployer.cli.app import app
from deployer.cli.options import EnvOpt, VarOpt, load
from deployer.errors import UsageError


def _instances(text: str) -> list:
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text()
        except OSError as exc:
            raise UsageError(f"--instances {text}: {exc.strerror or exc}") from None
    try:
        value = json.loads(source, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--instances: not valid JSON ({exc.msg} at char {exc.pos})") from None
    except RecursionError:
        raise UsageError("--instances: nested too deeply") from None
    if isinstance(value, dict) and "instances" in value:
        value = value["instances"]
    if not isinstance(value, list):
        raise UsageError("--instances: expected a JSON list of instances")
    return value


def _not_json(name: str) -> None:
    raise UsageError(f"--instances: {name} is not valid JSON (use a number or null)")


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
    target: Annotated[str, typer.Argument(help="MODEL or MODEL/VERSION (default version).")],
    instances: Annotated[
        str, typer.Option("--instances", help="JSON list of instances, or @FILE holding it.")
    ],
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
    stack = load(path, env, var)
    model, _, version = target.partition("/")
    declared = next((m for m in stack.models if m.spec.name == model), None)
    endpoint = region or (declared.regions[0] if declared else stack.settings.region)
    body = {"instances": _instances(instances)}
    size = len(json.dumps(body).encode("utf-8"))
    if stack.backend != "vertex" and size > catalog.MAX_PREDICT_BYTES:
        raise UsageError(
            f"--instances: the request is {size:,} bytes, over the {catalog.MAX_PREDICT_BYTES:,}-"
            "byte limit of online prediction; send fewer instances per call"
        )
    if stack.backend == "vertex":
        result = _predict_vertex(stack.project, endpoint, model, version, body)
    else:
        from deployer.providers.mlengine.client import MLClient
        from deployer.providers.mlengine.predict import predict as call
        from deployer.providers.schema import ResourceKey

        key = ResourceKey(endpoint, model, version or None)
        result = call(MLClient(stack.project), key, body)
    result, replaced = finite(result)
    if replaced:
        print(
            f"warning: {replaced} prediction value(s) were NaN or infinite; printed as strings",
            file=sys.stderr,
        )
    json.dump(result, sys.stdout, indent=2, allow_nan=False)
    print()


def _predict_vertex(project: str, region: str, model: str, version: str, body: dict) -> dict:
    from deployer.providers.vertex.provider import VertexProvider

    if version:
        raise UsageError(
            f"{model}/{version}: on vertex an endpoint routes requests by its traffic split and "
            "cannot be asked for one version; predict MODEL instead"
        )
    result = VertexProvider(project).predict(region, model, body["instances"])
    answered = result.get("modelDisplayName") or result.get("modelVersionId") or "?"
    print(
        f"answered by {answered} (deployed model {result.get('deployedModelId', '?')}, "
        f"registry version {result.get('modelVersionId', '?')})",
        file=sys.stderr,
    )
    return {"predictions": result.get("predictions", [])}
