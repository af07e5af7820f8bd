"""A small validator for response bodies against the schemas of the shipped `ml.v1.json` and
`aiplatform.v1.json` (paths under `v1/projects/P/locations/` are Vertex AI).

It walks `$ref`, types, formats, enums, arrays and maps; a property the schema lacks is an
error. Objects carrying `@type` (operation metadata and responses) are checked against the
schema that the type URL names. An `http` wrapper checks every response the client receives.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import googleapiclient
import httplib2

DOCS_DIR = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
DOC: dict[str, Any] = json.loads((DOCS_DIR / "ml.v1.json").read_text(encoding="utf-8"))
VERTEX_DOC: dict[str, Any] = json.loads((DOCS_DIR / "aiplatform.v1.json").read_text("utf-8"))
SCHEMAS: dict[str, Any] = DOC["schemas"]
VERTEX_SCHEMAS: dict[str, Any] = VERTEX_DOC["schemas"]
VERTEX_TYPE = "type.googleapis.com/google.cloud.aiplatform.v1."
VERTEX_PREFIX = re.compile(r"^v1/projects/[^/]+/locations/")

ML = "type.googleapis.com/google.cloud.ml.v1"
TYPE_URLS = {
    f"{ML}.OperationMetadata": "GoogleCloudMlV1__OperationMetadata",
    f"{ML}.Version": "GoogleCloudMlV1__Version",
    f"{ML}.Model": "GoogleCloudMlV1__Model",
    "type.googleapis.com/google.protobuf.Empty": "GoogleProtobuf__Empty",
}
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
STATUS_NAMES = {
    "INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS",
    "RESOURCE_EXHAUSTED", "PERMISSION_DENIED", "UNAVAILABLE", "INTERNAL", "CANCELLED", "ABORTED",
}  # fmt: skip


class SchemaError(AssertionError):
    pass


def validate(value: Any, schema_name: str, where: str = "$", vertex: bool = False) -> None:
    """Raise SchemaError unless `value` conforms to the named discovery schema."""
    _check(value, {"$ref": schema_name}, where, vertex)


def _type_schema(type_url: str, vertex: bool) -> str | None:
    if not vertex:
        return TYPE_URLS.get(type_url)
    if type_url == "type.googleapis.com/google.protobuf.Empty":
        return "GoogleProtobufEmpty"
    if type_url.startswith(VERTEX_TYPE):
        name = "GoogleCloudAiplatformV1" + type_url[len(VERTEX_TYPE) :]
        return name if name in VERTEX_SCHEMAS else None
    return None


def _fail(where: str, message: str) -> None:
    raise SchemaError(f"{where}: {message}")


def _check(value: Any, spec: dict[str, Any], where: str, vertex: bool) -> None:
    if "$ref" in spec:
        schema = (VERTEX_SCHEMAS if vertex else SCHEMAS)[spec["$ref"]]
        if not isinstance(value, dict):
            _fail(where, f"expected an object ({spec['$ref']}), got {value!r}")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key not in props:
                _fail(where, f"unknown property {key!r} for {spec['$ref']}")
            _check(item, props[key], f"{where}.{key}", vertex)
        return
    kind = spec.get("type")
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            _fail(where, f"expected an object, got {value!r}")
        named = _type_schema(value["@type"], vertex) if "@type" in value else None
        if named is not None:
            rest = {k: v for k, v in value.items() if k != "@type"}
            validate(rest, named, where, vertex)
            return
        if "@type" in value:
            _fail(where, f"unknown @type {value['@type']!r}")
        if "properties" in spec:
            for key, item in value.items():
                if key not in spec["properties"]:
                    _fail(where, f"unknown property {key!r}")
                _check(item, spec["properties"][key], f"{where}.{key}", vertex)
            return
        inner = spec.get("additionalProperties")
        if inner is None:
            if value:
                _fail(where, "object without declared properties must be empty")
            return
        for key, item in value.items():
            _check(item, inner, f"{where}.{key}", vertex)
        return
    if kind == "array":
        if not isinstance(value, list):
            _fail(where, f"expected a list, got {value!r}")
        for i, item in enumerate(value):
            _check(item, spec.get("items", {}), f"{where}[{i}]", vertex)
        return
    if kind == "string":
        if not isinstance(value, str):
            _fail(where, f"expected a string, got {value!r}")
        fmt = spec.get("format")
        if fmt == "google-datetime":
            if not DATETIME_RE.match(value):
                _fail(where, f"not an RFC 3339 UTC timestamp: {value!r}")
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "byte":
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                _fail(where, f"not base64: {value!r}")
        elif fmt in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            _fail(where, f"not an integer string: {value!r}")
        if "enum" in spec and value not in spec["enum"]:
            _fail(where, f"{value!r} is not one of {spec['enum']}")
        return
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(where, f"expected an integer, got {value!r}")
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(where, f"expected a number, got {value!r}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            _fail(where, f"expected a boolean, got {value!r}")
        return
    _fail(where, f"schema without a type: {spec}")


def validate_error(body: Any, code: int, vertex: bool = False) -> None:
    """Google's JSON error envelope, with a `status` matching the HTTP code."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        _fail("$", f"not an error envelope: {body!r}")
    error = body["error"]
    extra = set(error) - {"code", "message", "status", "details"}
    if extra:
        _fail("$.error", f"unknown keys {extra}")
    status = "GoogleRpcStatus" if vertex else "GoogleRpc__Status"
    validate({k: v for k, v in error.items() if k != "status"}, status, "$.error", vertex)
    if error.get("code") != code or not error.get("message"):
        _fail("$.error", f"code {error.get('code')} / message missing for HTTP {code}")
    if error.get("status") not in STATUS_NAMES:
        _fail("$.error.status", f"unknown status {error.get('status')!r}")


def _method_table(doc: dict[str, Any] = DOC) -> list[tuple[str, re.Pattern[str], str | None]]:
    table: list[tuple[str, re.Pattern[str], str | None]] = []

    def walk(resource: dict[str, Any]) -> None:
        for method in resource.get("methods", {}).values():
            pattern = re.sub(r"\{[^}]+\}", "[^/:]+", method["flatPath"])
            if method["id"] in ("ml.projects.predict", "ml.projects.explain"):
                pattern = pattern.replace("projects/[^/:]+", "projects/.+")
            response = method.get("response", {}).get("$ref")
            if method["id"] == "ml.projects.predict":
                response = None
            table.append((method["httpMethod"], re.compile(f"^{pattern}$"), response))
        for child in resource.get("resources", {}).values():
            walk(child)

    walk(doc["resources"]["projects"])
    return table


METHODS = _method_table()
VERTEX_METHODS = _method_table(VERTEX_DOC)


def response_schema(verb: str, path: str, vertex: bool = False) -> str | bool | None:
    """The response schema name of the method at `path` (no endpoint prefix); None for predict,
    False when no method matches."""
    for method, pattern, schema in VERTEX_METHODS if vertex else METHODS:
        if method == verb and pattern.match(path):
            return schema
    return False


def check_response(verb: str, path: str, status: int, content: bytes) -> None:
    """Validate one response the way the conformance suite requires."""
    body = json.loads(content) if content.strip() else None
    if path.split("/", 1)[0] != "v1":
        path = path.split("/", 1)[1] if "/" in path else ""
    if VERTEX_PREFIX.match(path):
        _check_vertex(verb, path, status, body)
        return
    schema = response_schema(verb, path)
    if status >= 400:
        if schema is None and isinstance(body, dict) and isinstance(body.get("error"), str):
            return  # predict errors: {"error": "<text>"} like the real service
        validate_error(body, status)
        return
    if schema is False:
        _fail("$", f"a 2xx answer for {verb} {path}, which is no ml v1 method")
    if schema is None:
        if not isinstance(body, dict) or set(body) != {"predictions"}:
            _fail("$", f"predict answer must be {{'predictions': [...]}}, got {body!r}")
        if not isinstance(body["predictions"], list):
            _fail("$.predictions", "expected a list")
        return
    validate(body, schema)


def _check_vertex(verb: str, path: str, status: int, body: Any) -> None:
    """Vertex answers: errors always in Google's envelope; every 2xx body against its schema."""
    if status >= 400:
        validate_error(body, status, vertex=True)
        return
    schema = response_schema(verb, path, vertex=True)
    if not isinstance(schema, str):
        _fail("$", f"a 2xx answer for {verb} {path}, which is no aiplatform v1 method")
    validate(body, schema, vertex=True)
    done_op = schema == "GoogleLongrunningOperation" and body.get("done")
    if done_op and ("error" in body) == ("response" in body):
        _fail("$", "a done operation needs exactly one of error and response")


class ValidatingHttp(httplib2.Http):
    """httplib2 transport for `discovery.build(http=...)` that validates every response."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.checked = 0

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response, content = super().request(uri, method, *args, **kwargs)
        from urllib.parse import unquote, urlsplit

        path = unquote(urlsplit(uri).path).lstrip("/")
        check_response(method, path, response.status, content)
        self.checked += 1
        return response, content
