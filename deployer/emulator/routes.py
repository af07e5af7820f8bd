"""Maps `[/REGION]/v1/...` paths and HTTP verbs onto `Service` calls."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deployer.emulator.apierrors import not_found
from deployer.emulator.discovery import normalize
from deployer.emulator.service import Service
from deployer.providers.mlengine import catalog

Json = dict[str, Any]
NAME = r"([^/:]+)"


@dataclass
class Call:
    endpoint: str
    method: str
    path: str
    query: dict[str, str]
    body: Any


def split_endpoint(path: str) -> tuple[str, str]:
    """('global' | region, path after the endpoint prefix); 404 for an unknown region."""
    parts = path.lstrip("/").split("/", 1)
    if parts[0] == "v1":
        return catalog.GLOBAL, path.lstrip("/")
    region = urllib.parse.unquote(parts[0])
    rest = parts[1] if len(parts) > 1 else ""
    if not rest.startswith("v1/") and rest != "v1":
        raise not_found(f"Unknown path {path!r}; the API lives under /v1/ and /REGION/v1/.")
    if region not in catalog.REGIONAL_ENDPOINTS:
        raise not_found(
            f"Unknown regional endpoint {region!r}. Regional endpoints: "
            f"{', '.join(catalog.REGIONAL_ENDPOINTS)}; the global endpoint is /v1/."
        )
    return region, rest


def _mask(query: dict[str, str]) -> str | None:
    return query.get("updateMask", query.get("update_mask"))


MODEL_SCHEMA = "GoogleCloudMlV1__Model"
VERSION_SCHEMA = "GoogleCloudMlV1__Version"
SET_DEFAULT_SCHEMA = "GoogleCloudMlV1__SetDefaultVersionRequest"

Handler = Callable[..., Any]


def _handlers(svc: Service) -> list[tuple[str, re.Pattern[str], Handler]]:
    def model_body(c: Call) -> Json:
        return normalize(c.body, MODEL_SCHEMA)

    def version_body(c: Call) -> Json:
        return normalize(c.body, VERSION_SCHEMA)

    def create_model(c: Call, p: str) -> Any:
        return svc.create_model(c.endpoint, p, model_body(c))

    def patch_model(c: Call, p: str, m: str) -> Any:
        return svc.patch_model(c.endpoint, p, m, model_body(c), _mask(c.query))

    def create_version(c: Call, p: str, m: str) -> Any:
        return svc.create_version(c.endpoint, p, m, version_body(c))

    def patch_version(c: Call, p: str, m: str, v: str) -> Any:
        return svc.patch_version(c.endpoint, p, m, v, version_body(c), _mask(c.query))

    def set_default(c: Call, p: str, m: str, v: str) -> Any:
        return svc.set_default(c.endpoint, p, m, v, normalize(c.body or {}, SET_DEFAULT_SCHEMA))

    models = f"/models/{NAME}"
    versions = f"{models}/versions/{NAME}"
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/models", create_model),
        ("GET", "/models", lambda c, p: svc.list_models(c.endpoint, p, c.query)),
        ("GET", models, lambda c, p, m: svc.get_model(c.endpoint, p, m)),
        ("PATCH", models, patch_model),
        ("DELETE", models, lambda c, p, m: svc.delete_model(c.endpoint, p, m)),
        ("POST", f"{models}:predict", lambda c, p, m: svc.predict(c.endpoint, p, m, None, c.body)),
        ("POST", f"{models}/versions", create_version),
        ("GET", f"{models}/versions", lambda c, p, m: svc.list_versions(c.endpoint, p, m, c.query)),
        ("GET", versions, lambda c, p, m, v: svc.get_version(c.endpoint, p, m, v)),
        ("PATCH", versions, patch_version),
        ("DELETE", versions, lambda c, p, m, v: svc.delete_version(c.endpoint, p, m, v)),
        ("POST", f"{versions}:setDefault", set_default),
        (
            "POST",
            f"{versions}:predict",
            lambda c, p, m, v: svc.predict(c.endpoint, p, m, v, c.body),
        ),
        ("GET", "/operations", lambda c, p: svc.list_operations(c.endpoint, p, c.query)),
        ("GET", f"/operations/{NAME}", lambda c, p, o: svc.get_operation(c.endpoint, p, o)),
        (
            "POST",
            f"/operations/{NAME}:cancel",
            lambda c, p, o: svc.cancel_operation(c.endpoint, p, o),
        ),
    ]
    return [
        (verb, re.compile(f"^v1/projects/{NAME}{pattern}$"), fn) for verb, pattern, fn in routes
    ]


class Router:
    def __init__(self, service: Service) -> None:
        self.table = _handlers(service)

    def dispatch(self, call: Call) -> Any:
        known_path = False
        for method, pattern, fn in self.table:
            match = pattern.match(call.path)
            if match is None:
                continue
            known_path = True
            if method != call.method:
                continue
            args = [urllib.parse.unquote(g) for g in match.groups()]
            return fn(call, *args)
        if known_path:
            raise not_found(f"Method {call.method} is not supported on {call.path!r}.")
        raise not_found(f"The requested URL /{call.path} was not found on this server.")
