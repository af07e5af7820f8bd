"""`VertexProvider`: the `vertex` backend behind the `Provider` protocol.

Writes dispatch on `key.kind` (model, version, endpoint, deployment) to `VertexWriter`.
The stack a provider works for is remembered from `read(…, stack)` (or given at construction):
writes look endpoints up by labels, and must never pick another stack's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from deployer.core.errors import UsageError
from deployer.core.model import ResourceModel
from deployer.core.provider import Answer
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.core.stack import Stack
from deployer.providers.adoption import ImportsThrough
from deployer.providers.pacing import READ_PARALLELISM
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy
from deployer.providers.vertex.client import OPERATION_TIMEOUT, VertexBetaClient, VertexClient
from deployer.providers.vertex.reader import read_state
from deployer.providers.vertex.writer import SETTLE_TIMEOUT, OnStage, VertexWriter

if TYPE_CHECKING:
    from deployer.accounting.capabilities import QuotaReading
    from deployer.accounting.footprint import Deployment, Resources
    from deployer.accounting.prices import PriceBook
    from deployer.providers.project.client import Billing

KINDS = ("model", "version", "endpoint", "deployment", "pool")


APPLY_PARALLELISM = 64
"""Operations on different endpoints are independent and Vertex has no concurrent-operation
quota; the LRO limiter keeps submissions within 60 per region and minute however many run."""


class VertexProvider(ImportsThrough):
    """Vertex AI (`aiplatform` v1) for one project.

    Constructing one costs nothing and imports no Google client code. Pass `client` to share one
    (tests, a custom retry policy or LRO limiter). `on_stage(key, stage)` hears each new
    `deploymentStage` while a deploy runs.
    """

    name = "vertex"
    apply_parallelism = APPLY_PARALLELISM

    def __init__(
        self,
        project: str,
        *,
        client: VertexClient | None = None,
        parallelism: int = READ_PARALLELISM,
        retry: RetryPolicy = DEFAULT_POLICY,
        stack: str | None = None,
        operation_timeout: float = OPERATION_TIMEOUT,
        settle_timeout: float = SETTLE_TIMEOUT,
        on_stage: OnStage | None = None,
    ) -> None:
        self.project = project
        self.client = client or VertexClient(project, retry=retry)
        self.parallelism = parallelism
        self.stack = stack
        self.on_stage = on_stage
        self._beta: VertexClient | None = None
        self.pools: dict[tuple[str, str], dict[str, Any]] = {}
        """(region, name) -> a declared or live pool's fields (for accounting)."""
        self._beta_lock = threading.Lock()
        self.writer = VertexWriter(
            self.client,
            stack=lambda: self.stack,
            operation_timeout=operation_timeout,
            settle_timeout=settle_timeout,
            on_stage=lambda: self.on_stage,
            beta=self.beta,
        )

    def beta(self) -> VertexClient:
        """The v1beta1 client, built on first use: only preview features call it."""
        with self._beta_lock:
            if self._beta is None:
                self._beta = VertexBetaClient.beside(self.client)
            return self._beta

    @property
    def model(self) -> ResourceModel:
        from deployer.providers.vertex import schemas

        return schemas.RESOURCES

    def desired(self, stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
        from deployer.providers.vertex import state

        desired = state.desired_resources(stack, digests)
        self._remember_pools(desired)
        return desired

    def read(self, endpoints: Iterable[str], stack: str | None = None) -> list[ObservedResource]:
        """`endpoints` are regions here."""
        if stack is not None:
            self.stack = stack
        observed = read_state(
            self.project, endpoints, stack, self.parallelism, client=self.client, beta=self.beta
        )
        self._remember_pools(observed)
        return observed

    def _remember_pools(self, resources: Iterable[DesiredResource | ObservedResource]) -> None:
        """The pools declared or live, for the accounting of the deployments on them (a
        declared pool's settings win: a pool in use never changes)."""
        for r in resources:
            if r.key.kind == "pool":
                self.pools.setdefault((r.key.endpoint, r.key.model), dict(r.fields))

    # ---- accounting (deployer.accounting.capabilities) ----------------------------------------

    def deployment(self, key: ResourceKey, fields: Mapping[str, Any]) -> Deployment | None:
        from deployer.providers.vertex.footprint import of_resource

        return of_resource(key, fields, self.pools)

    def serving_quota(self, regions: Sequence[str], stack: str) -> QuotaReading:
        """Custom model serving quota (Service Usage) and others' deployments, per region."""
        from deployer.providers.project.client import (
            CHECK_TIMEOUT,
            DOCTOR_RETRY,
            ServiceUsageQuotas,
        )
        from deployer.providers.vertex.usage import quota_reading

        quotas = ServiceUsageQuotas(
            self.project, emulator=self.client.emulator, retry=DOCTOR_RETRY, timeout=CHECK_TIMEOUT
        )
        return quota_reading(self.client, quotas, regions, stack)

    def quota_demands(self, resources: Resources) -> dict[str, float]:
        from deployer.providers.vertex.quota import demands

        return demands(resources)

    def price_catalog_url(self) -> str:
        return self._billing().url()

    def price_skus(self, currency: str) -> tuple[list[dict[str, Any]], bool]:
        """Vertex AI's prediction SKUs from the Cloud Billing Catalog."""
        from deployer.providers.vertex.billing import prediction_skus

        return prediction_skus(self._billing(), currency)

    def price_book(
        self, skus: list[dict[str, Any]], *, currency: str, as_of: str, source: str, twin: bool
    ) -> PriceBook:
        from deployer.providers.vertex.billing import book_from_skus

        return book_from_skus(skus, currency=currency, as_of=as_of, source=source, twin=twin)

    def _billing(self) -> Billing:
        from deployer.providers.project.client import CHECK_TIMEOUT, DOCTOR_RETRY, Billing

        return Billing(
            self.project, emulator=self.client.emulator, retry=DOCTOR_RETRY, timeout=CHECK_TIMEOUT
        )

    # ---- writes ------------------------------------------------------------------------------

    def _dispatch(self, action: str, key: ResourceKey) -> Callable[..., Any]:
        if key.kind not in KINDS:
            raise ValueError(f"vertex has no resource kind {key.kind!r} ({key.address})")
        return getattr(self.writer, f"{action}_{key.kind}")

    def create(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        return self._dispatch("create", key)(key, fields, labels, spec)

    def update(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        return self._dispatch("update", key)(key, mask, fields, labels, spec)

    def delete(self, key: ResourceKey) -> None:
        self._dispatch("delete", key)(key)

    def reroute(self, key: ResourceKey, path: str, value: Any) -> None:
        """The endpoint's split, or the registry's `default` alias."""
        from deployer.providers.vertex import schemas

        if path == schemas.TRAFFIC.path:
            self.writer.set_traffic(key, dict(value or {}))
        elif path == schemas.DEFAULT_ALIAS.path:
            self.writer.set_default(key)
        else:
            raise ValueError(f"vertex has no routing {path!r}")

    def canary(
        self,
        key: ResourceKey,
        name: str,
        instances: list[Any],
        check: Callable[[list[Any]], None],
    ) -> None:
        """Smoke-test `name` behind a small traffic share; the split is restored on failure."""
        self.writer.canary(key, name, instances, check)

    def wait_settled(self, key: ResourceKey) -> ObservedResource | None:
        """Nothing on Vertex is transitional once its operation is done: the resource now."""
        return self.writer.observed(key)

    def importer(self) -> ModuleType:
        from deployer.providers.vertex import importer

        return importer

    def adopt(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        desired: Sequence[DesiredResource],
        origin: Mapping[str, str],
        specs: Mapping[ResourceKey, str],
    ) -> list[str]:
        """Make one live model this stack's (`deployer import`): label each registry version
        (and give it its alias, `default` too for the default), then the endpoint (ownership,
        `deployer-model`, display name and description as declared), the model last."""
        from deployer.providers.vertex import catalog as catalog_vertex

        w, c = self.writer, self.client
        notes: list[str] = []
        region = model.key.endpoint
        by_vid = {
            str(r.private.get("versionId")): r for r in children if r.key.version and not r.key.part
        }
        for d in desired:
            if d.key.part or d.key.version is None:
                continue
            vid = origin[str(d.key.version)]
            live = by_vid[vid]
            name = c.model_name(region, d.key.model, vid)
            labels = w.version_labels(d.key, d.fields, d.labels, specs[d.key])

            body: dict[str, Any] = {"labels": labels}

            def patch(r: Any, n: str = name, b: dict[str, Any] = body) -> Any:
                return r.projects().locations().models().patch(name=n, updateMask="labels", body=b)

            c.execute(
                region,
                f"label version {d.key.address}",
                patch,
            )  # fmt: skip
            held = set(live.private.get("versionAliases") or ())
            wanted = [str(d.key.version)] + ([catalog_vertex.DEFAULT_ALIAS] if d.is_default else [])
            missing = [a for a in wanted if a not in held]
            if missing:
                w.merge_aliases(d.key, vid, missing)
                notes.append(
                    f"{d.key.address}: registry version {vid} got alias {', '.join(missing)}"
                )
        endpoint = next(
            (r for r in children if r.key.part == "endpoint" and not r.key.instance), None
        )
        wanted_ep = next((d for d in desired if d.key.part == "endpoint"), None)
        if endpoint is not None and wanted_ep is not None:
            ep_name = str(endpoint.private["name"])
            body = {
                "displayName": wanted_ep.fields.get("displayName"),
                "description": wanted_ep.fields.get("description") or "",
                "labels": w.endpoint_labels(wanted_ep.key, wanted_ep.labels, specs[wanted_ep.key]),
                "etag": str(endpoint.private.get("etag", "")),
            }
            c.execute(
                region,
                f"label endpoint {wanted_ep.key.address}",
                lambda r: r.projects().locations().endpoints().patch(
                    name=ep_name, updateMask="displayName,description,labels", body=body
                ),
            )  # fmt: skip
        head = next(d for d in desired if d.key.version is None and not d.key.part)
        values = {
            **head.fields,
            "labels": w.model_labels(head.labels),
        }
        w.patch_model(
            head.key,
            f"label model {head.key.address}",
            ["displayName", "description", "labels"],
            values,
        )
        notes.append(f"{head.key.address}: labelled as stack {head.labels.get('deployer-stack')}")
        return notes

    def predict(
        self, location: str, model: str, version: str | None, body: Mapping[str, Any]
    ) -> Answer:
        """`endpoints.predict` on the model's endpoint: its split picks the deployment."""
        if version:
            raise UsageError(
                f"{model}/{version}: on vertex an endpoint routes requests by its traffic split "
                "and cannot be asked for one version; predict MODEL instead"
            )
        result = self.writer.predict(location, model, list(body.get("instances") or []))
        answered = result.get("deployedModelDisplayName") or result.get("modelDisplayName") or "?"
        return Answer(
            list(result.get("predictions", [])),
            served_by=f"{answered} (deployed model {result.get('deployedModelId', '?')}, "
            f"registry version {result.get('modelVersionId', '?')})",
        )
