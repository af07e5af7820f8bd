"""Turn pydantic validation errors into positioned, human-sized messages."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from deployer.config.yamlsource import PathKey, SourceMap
from deployer.core import manifest as schema
from deployer.core.diagnostics import Diagnostics

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
}


def _fields(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


# The object a key sits in, told by the key that holds it; used for "did you mean" hints.
_CONTEXT_FIELDS: dict[str, list[str]] = {
    "models": _fields(schema.ModelSpec),
    "versions": _fields(schema.VersionSpec),
    "scaling": sorted({*_fields(schema.AutoScaling), *_fields(schema.ManualScaling)}),
    "scaling:auto": _fields(schema.AutoScaling),
    "scaling:manual": _fields(schema.ManualScaling),
    "metrics": _fields(schema.ScalingMetric),
    "accelerator": _fields(schema.Accelerator),
    "request_logging": _fields(schema.RequestLogging),
    "container": _fields(schema.Container),
    "environments": _fields(schema.Environment),
    "endpoint": _fields(schema.EndpointSpec),
    "private_service_connect": _fields(schema.PrivateServiceConnect),
    "rollout": _fields(schema.Rollout),
    "scale_to_zero": _fields(schema.ScaleToZero),
    "resource_pools": _fields(schema.ResourcePool),
}


def _known_keys(parent: PathKey, root: type[BaseModel]) -> list[str]:
    if not parent:
        return _fields(root)
    last = parent[-1]
    if isinstance(last, int) and len(parent) > 1:
        return _CONTEXT_FIELDS.get(str(parent[-2]), [])
    if len(parent) > 1 and parent[-2] == "environments":
        return _CONTEXT_FIELDS["environments"]
    return _CONTEXT_FIELDS.get(str(last), []) if last != "environments" else []


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _key_name(loc: PathKey) -> str:
    names = [str(step) for step in loc if isinstance(step, str)]
    return names[-1] if names else "value"


def _message(
    err: dict[str, Any], loc: PathKey, root: type[BaseModel], mode: str | None = None
) -> str:
    kind = err["type"]
    name = _key_name(loc)
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1], root)
        if mode and loc[-2:-1] == ("scaling",):
            known = _CONTEXT_FIELDS[f"scaling:{mode}"]
            return f"unknown key '{loc[-1]}' for {mode} scaling (allowed: {', '.join(known)})"
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        suffix = (
            f"; did you mean '{hint[0]}'?"
            if hint
            else (f" (allowed: {', '.join(known)})" if known else "")
        )
        return f"unknown key '{loc[-1]}'{suffix}"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind in _TYPE_NAMES:
        return f"'{name}' must be {_TYPE_NAMES[kind]}, got {_describe(err.get('input'))}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"'{name}' must be one of {expected}; got {_describe(err.get('input'))}"
    if kind == "union_tag_invalid":
        return f"'scaling.mode' must be 'auto' or 'manual', got {_describe(err['ctx']['tag'])}"
    if kind == "union_tag_not_found":
        return "'scaling' needs a 'mode': auto or manual"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        return f"'{name}' {err['msg'].lower().replace('input should be', 'must be')}"
    return f"'{name}': {err['msg']}"


def validate(
    model: type[M],
    data: Any,
    source: SourceMap,
    diags: Diagnostics,
    prefix: PathKey = (),
) -> M | None:
    """Validate `data` (found at `prefix` in the file) into `model`; errors go to `diags`.

    When a mapping fails only on optional keys, those keys are dropped and the rest is returned,
    so cross-field rules still run and one run reports everything.
    """
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        _report(errors, model, source, diags, prefix)
        if not isinstance(data, dict):
            return None
        bad = {err["loc"][0] for err in errors if err["loc"] and err["type"] != "missing"}
        if any(err["type"] == "missing" and len(err["loc"]) == 1 for err in errors):
            return None
        try:
            return TypeAdapter(model).validate_python(
                {k: v for k, v in data.items() if k not in bad}
            )
        except ValidationError:
            return None


def _report(
    errors: list[Any],
    model: type[BaseModel],
    source: SourceMap,
    diags: Diagnostics,
    prefix: PathKey,
) -> None:
    for err in errors:
        loc = _clean_loc(err["loc"])
        full = (*prefix, *loc)
        mode = next((m for m in ("auto", "manual") if m in err["loc"]), None)
        if err["type"] == "extra_forbidden":
            pos = source.key(full)
        elif err["type"] == "missing":
            pos = source.value(full[:-1])
        else:
            pos = source.value(full)
        diags.add(source.file, pos, _message(err, full, model, mode))


def _clean_loc(loc: tuple[Any, ...]) -> PathKey:
    """Drop the union-member tags pydantic inserts into locations (e.g. 'auto')."""
    out: list[str | int] = []
    for i, step in enumerate(loc):
        if i > 0 and loc[i - 1] == "scaling" and step in ("auto", "manual"):
            continue
        out.append(step)
    return tuple(out)
