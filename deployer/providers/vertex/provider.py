"""`VertexProvider`: the `vertex` backend behind the `Provider` protocol.

Writes dispatch on `key.kind` (model, version, endpoint, deployment) to `VertexWriter`.
The stack a provider works for is remembered from `read(…, stack)` (or given at construction):
writes look endpoints up by labels, and must never pick another stack's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from deployer.config.stack import Stack
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy
from deployer.providers.schema import (
    DesiredResource,
    ObservedResource,
    ResourceKey,
    ResourceSchema,
)
from deployer.providers.vertex.client import OPERATION_TIMEOUT, VertexClient
from deployer.providers.vertex.reader import read_state
from deployer.providers.vertex.writer import SETTLE_TIMEOUT, OnStage, VertexWriter

KINDS = ("model", "version", "endpoint", "deployment")


class VertexProvider:
    """Vertex AI (`aiplatform` v1) for one project.

    Constructing one costs nothing and imports no Google client code. Pass `client` to share one
    (tests, a custom retry policy or LRO limiter). `on_stage(key, stage)` hears each new
    `deploymentStage` while a deploy runs.
    """

    name = "vertex"

    def __init__(
        self,
        project: str,
        *,
        client: VertexClient | None = None,
        parallelism: int = 8,
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
        self.writer = VertexWriter(
            self.client,
            stack=lambda: self.stack,
            operation_timeout=operation_timeout,
            settle_timeout=settle_timeout,
            on_stage=lambda: self.on_stage,
        )

    @property
    def schemas(self) -> Mapping[str, ResourceSchema]:
        from deployer.providers.vertex import schemas

        return schemas.SCHEMAS

    def desired(self, stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
        from deployer.providers.vertex import state

        return state.desired_resources(stack, digests)

    def read(self, endpoints: Iterable[str], stack: str | None = None) -> list[ObservedResource]:
        """`endpoints` are regions here."""
        if stack is not None:
            self.stack = stack
        return read_state(self.project, endpoints, stack, self.parallelism, client=self.client)

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

    def set_default(self, key: ResourceKey) -> ObservedResource:
        return self.writer.set_default(key)

    def set_traffic(self, key: ResourceKey, split: Mapping[str, int]) -> None:
        self.writer.set_traffic(key, split)

    def wait_settled(self, key: ResourceKey) -> ObservedResource | None:
        """Nothing on Vertex is transitional once its operation is done: the resource now."""
        return self.writer.observed(key)

    def predict(
        self, region: str, model: str, instances: list[Any], parameters: Any = None
    ) -> dict[str, Any]:
        """`endpoints.predict` on the model's endpoint (the answer names the deployed model)."""
        return self.writer.predict(region, model, instances, parameters)
