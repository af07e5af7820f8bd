"""Reading the live Vertex state: registry models, their versions, endpoints and deployments,
and the stack's deployment resource pools.

Per region, concurrently on a bounded thread pool: one task lists every registry model, one
lists every endpoint that names a `deployer-model`, one the deployment resource pools (with a
stack); as each model arrives, one task per model of the stack (every model without a stack)
lists its versions (all pages). The models of others are reported too, without their versions:
a declared name that one of them holds is then a plan error naming `deployer import`, instead of
a "create" that apply cannot do (model ids are unique per project and region, [DD]
UploadModelRequest.modelId). `observe.assemble_model` then keys everything per
VERTEX-PROVIDER.md.

Everything is read through v1, whose views leave out what only v1beta1 has: an endpoint of the
stack holding a deployment that scales to zero (which only a stack with `preview: true` can
create) is read again through v1beta1, so its scale-to-zero settings are compared too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from deployer.core import ownership
from deployer.core.resources import ObservedResource
from deployer.providers.discovery import all_pages
from deployer.providers.errors import ProviderError
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import observe
from deployer.providers.vertex.client import VertexClient, check_region

PAGE_SIZE = 100
Json = dict[str, Any]


def label_filter(*clauses: tuple[str, str | None]) -> str:
    """`labels.k="v" AND labels.k2:*` (a None value: the key is present)."""
    return " AND ".join(
        f"labels.{key}:*" if value is None else f'labels.{key}="{value}"' for key, value in clauses
    )


def ours(stack: str | None) -> list[tuple[str, str | None]]:
    clauses: list[tuple[str, str | None]] = [
        (ownership.LABEL_MANAGED_BY, ownership.LABEL_MANAGED_BY_VALUE)
    ]
    if stack is not None:
        clauses.append((ownership.LABEL_STACK, stack))
    return clauses


def owned(body: Json, stack: str) -> bool:
    labels = body.get("labels") or {}
    return all(labels.get(k) == v for k, v in ours(stack))


def list_models(client: VertexClient, region: str, stack: str | None) -> list[Json]:
    """Models of `stack` (every model when None)."""
    where = f"list models in {region} in project {client.project!r}"
    filter_ = label_filter(*ours(stack)) if stack is not None else None
    return all_pages(
        client,
        region,
        where,
        "models",
        lambda r, token: (
            r.projects()
            .locations()
            .models()
            .list(
                parent=client.location(region), filter=filter_, pageSize=PAGE_SIZE, pageToken=token
            )
        ),
    )


def list_versions(client: VertexClient, region: str, model: str) -> list[Json]:
    """Every registry version of `model`; [] when the model is gone."""
    try:
        return all_pages(
            client,
            region,
            f"list versions of {region}/{model}",
            "models",
            lambda r, token: (
                r.projects()
                .locations()
                .models()
                .listVersions(
                    name=client.model_name(region, model), pageSize=PAGE_SIZE, pageToken=token
                )
            ),
        )
    except ProviderError as exc:
        if exc.not_found:
            return []
        raise


def list_endpoints(
    client: VertexClient, region: str, model: str | None = None, *, unlabelled: bool = False
) -> list[Json]:
    """Endpoints naming a `deployer-model` (that one, if given), whatever their stack; with
    `unlabelled`, every endpoint (an import also looks at endpoints deployer never labelled)."""
    clause = (catalog_vertex.LABEL_MODEL, model)
    filter_ = None if unlabelled else label_filter(clause)
    where = f"list endpoints in {region} in project {client.project!r}"
    return all_pages(
        client,
        region,
        where,
        "endpoints",
        lambda r, token: (
            r.projects()
            .locations()
            .endpoints()
            .list(
                parent=client.location(region),
                filter=filter_,
                pageSize=PAGE_SIZE,
                pageToken=token,
            )
        ),
    )


def list_pools(client: VertexClient, region: str) -> list[Json]:
    """Every deployment resource pool of the region (the stack's are told by their ids)."""
    return all_pages(
        client,
        region,
        f"list deployment resource pools in {region} in project {client.project!r}",
        "deploymentResourcePools",
        lambda r, token: (
            r.projects()
            .locations()
            .deploymentResourcePools()
            .list(parent=client.location(region), pageSize=PAGE_SIZE, pageToken=token)
        ),
    )


def scales_to_zero(body: Json) -> bool:
    """Whether an endpoint holds a deployment with no minimum of nodes (v1 shows the count,
    not the settings v1beta1 adds to it)."""
    return any(
        (dm.get("dedicatedResources") or {}).get("minReplicaCount") in (None, 0, "0")
        and dm.get("dedicatedResources")
        for dm in body.get("deployedModels") or ()
    )


def get_endpoint(client: VertexClient, region: str, name: str, why: str = "") -> Json:
    def get(r: Any) -> Any:
        return r.projects().locations().endpoints().get(name=name)

    return client.execute(region, f"get endpoint {name}" + (f" ({why})" if why else ""), get)


def with_preview(
    beta: Callable[[], VertexClient] | None, region: str, endpoints: list[Json], stack: str | None
) -> list[Json]:
    """The stack's endpoints holding scale-to-zero deployments, read again through v1beta1."""
    if beta is None or stack is None:
        return endpoints
    out = []
    for body in endpoints:
        if (body.get("labels") or {}).get(ownership.LABEL_STACK) == stack and scales_to_zero(body):
            body = get_endpoint(
                beta(), region, str(body["name"]), "v1beta1: scale-to-zero settings"
            )
        out.append(body)
    return out


def assemble_region(
    region: str,
    models: list[Json],
    versions: dict[str, list[Json]],
    endpoints: list[Json],
    stack: str | None,
) -> list[ObservedResource]:
    """Everything in one region; an endpoint whose model was not listed is still reported."""
    by_model: dict[str, list[Json]] = {}
    for body in endpoints:
        name = observe.endpoint_model(body) or (deployed_model(body) if stack is None else None)
        if name:
            by_model.setdefault(name, []).append(body)
    out: list[ObservedResource] = []
    for body in models:
        model = observe.observe_model(region, body)
        out.append(model)
        name = model.key.model
        out.extend(
            observe.assemble_model(
                region, name, versions.get(name, []), by_model.pop(name, []), stack
            )
        )
    for name, bodies in by_model.items():
        out.extend(observe.assemble_model(region, name, [], bodies, stack))
    return out


def deployed_model(body: Json) -> str | None:
    """The one registry model an unlabelled endpoint deploys (None: none, or several)."""
    models = {observe.model_id(str(dm.get("model", ""))) for dm in body.get("deployedModels") or []}
    return models.pop() if len(models) == 1 else None


def read_state(
    project: str,
    regions: Iterable[str],
    stack: str | None = None,
    parallelism: int = 8,
    *,
    client: VertexClient | None = None,
    beta: Callable[[], VertexClient] | None = None,
) -> list[ObservedResource]:
    """The observed resources in `regions`, sorted by key. `beta` gives the v1beta1 client,
    for the endpoints whose preview settings v1 does not show."""
    client = client or VertexClient(project)
    regions = list(dict.fromkeys(regions))
    for region in regions:
        check_region(region)
    models: dict[str, list[Json]] = {r: [] for r in regions}
    endpoints: dict[str, list[Json]] = {r: [] for r in regions}
    pools: dict[str, list[Json]] = {r: [] for r in regions}
    versions: dict[str, dict[str, list[Json]]] = {r: {} for r in regions}
    with ThreadPoolExecutor(max(1, parallelism), thread_name_prefix="vertex-read") as pool:
        pending: dict[Future[Any], tuple[str, str]] = {}
        for region in regions:
            pending[pool.submit(list_models, client, region, None)] = (region, "")
            task = pool.submit(list_endpoints, client, region, unlabelled=stack is None)
            pending[task] = (region, ":endpoints")
            if stack is not None and region in catalog_vertex.PREDICTION_REGIONS:
                pending[pool.submit(list_pools, client, region)] = (region, ":pools")
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    region, what = pending.pop(future)
                    if what == ":endpoints":
                        endpoints[region] = future.result()
                        task = pool.submit(with_preview, beta, region, endpoints[region], stack)
                        pending[task] = (region, ":preview")
                    elif what == ":preview":
                        endpoints[region] = future.result()
                    elif what == ":pools":
                        pools[region] = future.result()
                    elif what:
                        versions[region][what] = future.result()
                    else:
                        models[region] = future.result()
                        for body in models[region]:
                            if stack is not None and not owned(body, stack):
                                continue  # someone else's: reported, never looked into
                            name = observe.model_id(str(body.get("name", "")))
                            task = pool.submit(list_versions, client, region, name)
                            pending[task] = (region, name)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    observed: list[ObservedResource] = []
    for region in regions:
        observed.extend(
            assemble_region(region, models[region], versions[region], endpoints[region], stack)
        )
        if stack is not None:
            found = (observe.observe_pool(region, body, stack) for body in pools[region])
            observed.extend(r for r in found if r is not None)
    return sorted(observed, key=lambda r: r.key)
