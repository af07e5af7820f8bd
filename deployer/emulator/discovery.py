"""The discovery documents shipped with google-api-python-client (`ml` v1 and `aiplatform` v1),
and request-body normalization against their schemas (snake_case to camelCase, unknown fields
refused)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from deployer.emulator.apierrors import invalid

ML = "ml.v1"
AIPLATFORM = "aiplatform.v1"


@functools.cache
def document(api: str = ML) -> dict[str, Any]:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / f"{api}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def schema(name: str, api: str = ML) -> dict[str, Any]:
    return document(api)["schemas"][name]


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def normalize(body: Any, schema_name: str, where: str = "", api: str = ML) -> dict[str, Any]:
    """Return `body` with every field name in camelCase; 400 on fields the schema lacks."""
    if not isinstance(body, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object{_at(where)}.")
    return _object(body, schema(schema_name, api), where, api)


def _at(where: str) -> str:
    return f" at '{where}'" if where else ""


def _object(body: dict[str, Any], spec: dict[str, Any], where: str, api: str) -> dict[str, Any]:
    props: dict[str, Any] = spec.get("properties", {})
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = key if key in props else camel(key)
        if name not in props:
            if key.startswith("@"):
                continue
            path = f"{where}.{key}" if where else key
            raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}'.")
        if name in out:
            raise invalid(f'Invalid JSON payload received. Field "{name}" given twice.')
        out[name] = _value(value, props[name], f"{where}.{name}" if where else name, api)
    return out


def _value(value: Any, spec: dict[str, Any], where: str, api: str) -> Any:
    if value is None:
        return None
    if "$ref" in spec:
        ref = schema(spec["$ref"], api)
        if not isinstance(value, dict):
            raise invalid(f"Invalid value at '{where}': expected an object.")
        return _object(value, ref, where, api)
    kind = spec.get("type")
    if kind == "array":
        if not isinstance(value, list):
            raise invalid(f"Invalid value at '{where}': expected a list.")
        return [
            _value(item, spec.get("items", {}), f"{where}[{i}]", api)
            for i, item in enumerate(value)
        ]
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid(f"Invalid value at '{where}': expected an object.")
        if "properties" in spec:
            return _object(value, spec, where, api)
        inner = spec.get("additionalProperties", {})
        return {k: _value(v, inner, f"{where}.{k}", api) for k, v in value.items()}
    if kind == "string" and spec.get("format") in ("int64", "uint64"):
        # proto3 JSON takes 64-bit integers as numbers or strings; keep an int inside the twin
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise invalid(f"Invalid value at '{where}' ({value!r}): expected an integer.")
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(
                f"Invalid value at '{where}' ({type(value).__name__}): expected a string."
            )
        if "enum" in spec and value not in spec["enum"]:
            raise invalid(f"Invalid value at '{where}' ({value!r}): not one of the enum values.")
        return value
    if kind == "integer":
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected an integer.")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected a number.")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected a boolean.")
        return value
    return value
