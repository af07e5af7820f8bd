"""Maps `/v1/projects/P/locations/L/...` (and `/v1beta1/...`) paths and verbs onto
`VertexService` calls, checking every request body against the shipped `aiplatform.v1.json`
(or `aiplatform.v1beta1.json`) first. Answers through v1 leave out what only v1beta1 has (the
scale-to-zero settings and rollout options of a deployment) [INF: each surface answers in its
own schema]."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from deployer.emulator.apierrors import ApiError, not_found
from deployer.emulator.discovery import AIPLATFORM, normalize
from deployer.emulator.vertex.base import project_number
from deployer.emulator.vertex.rules import check_location
from deployer.emulator.vertex.service import VertexService

Json = dict[str, Any]
NAME = r"([^/:]+)"
PREFIX = re.compile(r"^v1(?:beta1)?/projects/[^/]+/locations/")
SURFACES = {"v1": "GoogleCloudAiplatformV1", "v1beta1": "GoogleCloudAiplatformV1beta1"}
V1BETA1_ONLY = frozenset({"scaleToZeroSpec", "initialReplicaCount", "rolloutOptions"})
"""Fields of the twin's deployments that only the v1beta1 schemas have ([DD v1beta1]
DedicatedResources, DeployedModel)."""
Handler = Callable[..., Any]


UI_OPERATION = re.compile(
    r"^/ui/(projects/[^/]+/locations/[^/]+(?:/(?:models|endpoints)/[^/]+)?/operations/[^/]+"
    r"(?::wait)?)$"
)


def ui_operation_path(path: str) -> str | None:
    """`v1/...` for an operation under `/ui/...`, else None.

    Google's SDK over REST polls operations at the first matching rule of its operations
    client's http options, `/ui/{name=projects/*/locations/*/.../operations/*}`
    (python-aiplatform, aiplatform_v1/services/*/transports/rest.py, `operations_client`); the
    service serves the same operations there as under `/v1/`."""
    match = UI_OPERATION.match(path)
    return f"v1/{match.group(1)}" if match else None


def is_vertex(path: str) -> bool:
    """True for paths of the Vertex half (`v1/projects/P/locations/...`, no leading slash)."""
    return PREFIX.match(path) is not None


def _v1_view(value: Any) -> Any:
    """`value` without the fields only v1beta1 has."""
    if isinstance(value, dict):
        return {k: _v1_view(v) for k, v in value.items() if k not in V1BETA1_ONLY}
    if isinstance(value, list):
        return [_v1_view(v) for v in value]
    return value


def _mask(query: dict[str, str]) -> str | None:
    return query.get("updateMask", query.get("update_mask"))


def _table(svc: VertexService, api: str = "v1") -> list[tuple[str, re.Pattern[str], Handler]]:
    beta = api == "v1beta1"

    def _body(body: Any, schema: str) -> Json:
        document = f"aiplatform.{api}" if beta else AIPLATFORM
        return normalize(body if body is not None else {}, f"{SURFACES[api]}{schema}", api=document)

    def ops(scope: str) -> list[tuple[str, str, Handler]]:
        def get(q: Any, b: Any, p: str, loc: str, *rest: str) -> Any:
            return svc.get_operation(p, loc, _op_name(p, loc, scope, rest))

        def wait(q: Any, b: Any, p: str, loc: str, *rest: str) -> Any:
            return svc.wait_operation(p, loc, _op_name(p, loc, scope, rest), q.get("timeout"))

        path = f"{scope}/operations/{NAME}"
        return [("GET", path, get), ("POST", f"{path}:wait", wait)]

    m = f"/models/{NAME}"
    e = f"/endpoints/{NAME}"
    d = f"/deploymentResourcePools/{NAME}"
    routes: list[tuple[str, str, Handler]] = [
        (
            "POST",
            "/models:upload",
            lambda q, b, p, loc: svc.upload(p, loc, _body(b, "UploadModelRequest")),
        ),
        ("GET", "/models", lambda q, b, p, loc: svc.list_models(p, loc, q)),
        ("GET", m, lambda q, b, p, loc, x: svc.get_model(p, loc, x)),
        (
            "PATCH",
            m,
            lambda q, b, p, loc, x: svc.patch_model(p, loc, x, _body(b, "Model"), _mask(q)),
        ),
        ("DELETE", m, lambda q, b, p, loc, x: svc.delete_model(p, loc, x)),
        ("GET", f"{m}:listVersions", lambda q, b, p, loc, x: svc.list_versions(p, loc, x, q)),
        (
            "POST",
            f"{m}:mergeVersionAliases",
            lambda q, b, p, loc, x: svc.merge_aliases(
                p, loc, x, _body(b, "MergeVersionAliasesRequest")
            ),
        ),
        ("DELETE", f"{m}:deleteVersion", lambda q, b, p, loc, x: svc.delete_version(p, loc, x)),
        (
            "POST",
            "/endpoints",
            lambda q, b, p, loc: svc.create_endpoint(
                p, loc, _body(b, "Endpoint"), q.get("endpointId", q.get("endpoint_id"))
            ),
        ),
        ("GET", "/endpoints", lambda q, b, p, loc: svc.list_endpoints(p, loc, q)),
        ("GET", e, lambda q, b, p, loc, x: svc.get_endpoint(p, loc, x)),
        (
            "PATCH",
            e,
            lambda q, b, p, loc, x: svc.patch_endpoint(p, loc, x, _body(b, "Endpoint"), _mask(q)),
        ),
        ("DELETE", e, lambda q, b, p, loc, x: svc.delete_endpoint(p, loc, x)),
        (
            "POST",
            f"{e}:update",
            lambda q, b, p, loc, x: svc.update_endpoint(
                p, loc, x, _body(b, "UpdateEndpointLongRunningRequest")
            ),
        ),
        (
            "POST",
            f"{e}:deployModel",
            lambda q, b, p, loc, x: svc.deploy(p, loc, x, _body(b, "DeployModelRequest"), beta),
        ),
        (
            "POST",
            f"{e}:undeployModel",
            lambda q, b, p, loc, x: svc.undeploy(p, loc, x, _body(b, "UndeployModelRequest")),
        ),
        (
            "POST",
            f"{e}:mutateDeployedModel",
            lambda q, b, p, loc, x: svc.mutate(
                p, loc, x, _body(b, "MutateDeployedModelRequest"), beta
            ),
        ),
        (
            "POST",
            "/deploymentResourcePools",
            lambda q, b, p, loc: svc.create_pool(
                p, loc, _body(b, "CreateDeploymentResourcePoolRequest")
            ),
        ),
        ("GET", "/deploymentResourcePools", lambda q, b, p, loc: svc.list_pools(p, loc, q)),
        ("GET", d, lambda q, b, p, loc, x: svc.get_pool(p, loc, x)),
        (
            "PATCH",
            d,
            lambda q, b, p, loc, x: svc.patch_pool(p, loc, x, _body(b, "DeploymentResourcePool")),
        ),
        ("DELETE", d, lambda q, b, p, loc, x: svc.delete_pool(p, loc, x)),
        (
            "POST",
            f"{e}:predict",
            lambda q, b, p, loc, x: svc.predict(p, loc, x, _body(b, "PredictRequest")),
        ),
        *ops(""),
        *ops(m),
        *ops(e),
    ]
    return [
        (verb, re.compile(f"^{api}/projects/{NAME}/locations/{NAME}{pattern}$"), fn)
        for verb, pattern, fn in routes
    ]


def _op_name(project: str, location: str, scope: str, rest: tuple[str, ...]) -> str:
    base = f"projects/{project}/locations/{location}"
    if scope.startswith("/models"):
        return f"{base}/models/{rest[0]}/operations/{rest[1]}"
    if scope.startswith("/endpoints"):
        return f"{base}/endpoints/{rest[0]}/operations/{rest[1]}"
    return f"{base}/operations/{rest[0]}"


def _rename(value: Any, old: str, new: str) -> Any:
    """`value` with every string starting `projects/{old}/` starting `projects/{new}/`."""
    if isinstance(value, str):
        prefix = f"projects/{old}/"
        return f"projects/{new}/{value[len(prefix) :]}" if value.startswith(prefix) else value
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    return value


def _beta_types(value: Any) -> Any:
    """An answer through v1beta1 names its messages' v1beta1 types."""
    if isinstance(value, dict):
        out = {k: _beta_types(v) for k, v in value.items()}
        if isinstance(out.get("@type"), str):
            out["@type"] = out["@type"].replace(".aiplatform.v1.", ".aiplatform.v1beta1.")
        return out
    if isinstance(value, list):
        return [_beta_types(v) for v in value]
    return value


def _errors(answer: Any) -> list[Json]:
    """The `error` of an operation, or of each operation in a list answer."""
    if not isinstance(answer, dict):
        return []
    found = [answer["error"]] if isinstance(answer.get("error"), dict) else []
    for item in answer.get("operations") or []:
        found.extend(_errors(item))
    return found


class VertexRouter:
    def __init__(self, service: VertexService) -> None:
        self.tables = {api: _table(service, api) for api in SURFACES}
        self.service = service

    def dispatch(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        """Route one call. With `vertex_service_names` the service's name shapes: answers name
        the project by its number (handson-ml3#135, an SDK log of a real project:
        "projects/980799330137/locations/us-central1/endpoints/2848656506683916288"), and
        requests may name it by id or number."""
        if not self.service.knobs.get().vertex_service_names:
            return self._dispatch(method, path, query, body)
        api, _, rest = path.partition("/")
        project = path.split("/")[2]
        if project.isdigit():
            known = self.service.project_of(project)
            if known is not None:
                path = f"{api}/{_rename(rest, project, known)}"
                project = known
        number = project_number(project)
        self.service.remember_project(project, number)
        body = _rename(body, number, project)
        try:
            answer = self._dispatch(method, path, query, body)
        except ApiError as exc:
            exc.message = exc.message.replace(f"projects/{project}/", f"projects/{number}/")
            raise
        answer = _rename(answer, project, number)
        for error in _errors(answer):  # an operation's error names resources too
            error["message"] = str(error.get("message", "")).replace(
                f"projects/{project}/", f"projects/{number}/"
            )
        return answer

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        known_path = False
        api = path.partition("/")[0]
        for verb, pattern, fn in self.tables.get(api, self.tables["v1"]):
            match = pattern.match(path)
            if match is None:
                continue
            known_path = True
            if verb != method:
                continue
            args = [urllib.parse.unquote(g) for g in match.groups()]
            check_location(args[1])
            answer = fn(query, body, *args)
            return _v1_view(answer) if api == "v1" else _beta_types(answer)
        if known_path:
            raise not_found(f"Method {method} is not supported on {path!r}.")
        raise not_found(f"The requested URL /{path} was not found on this server.")
