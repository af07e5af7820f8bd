"""The boundary every backend implements; the CLI and the executor talk to this only.

A provider declares its resource schemas, turns the loaded manifests into desired resources,
reads the live state into observed resources, and performs the writes a plan's actions name.
Writes take the resource's `ResourceKey`; the provider dispatches on `key.kind` ("model" or
"version" for `mlengine`; a Vertex backend brings its own kinds). `spec` is
`deployer.plan.diff.spec_hash` of the desired resource, written as the `deployer-spec` label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from deployer.config.stack import Stack
from deployer.providers.schema import (
    DesiredResource,
    ObservedResource,
    ResourceKey,
    ResourceSchema,
)


@runtime_checkable
class Provider(Protocol):
    name: str
    project: str
    apply_parallelism: int
    """Actions an apply runs at once unless told otherwise: as many as the service's quotas
    let make progress (more would only queue in deployer)."""

    @property
    def schemas(self) -> Mapping[str, ResourceSchema]:
        """Field behaviors per resource kind, for the diff."""
        ...

    def desired(self, stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
        """What the manifests declare (`digests`: artifact source -> content digest)."""
        ...

    def read(self, endpoints: Iterable[str], stack: str | None = None) -> list[ObservedResource]:
        """The live resources on `endpoints` (with `stack`, details only for its own)."""
        ...

    def create(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """Create and wait until usable (a version READY); an existing identical one is fine."""
        ...

    def update(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        """Patch the fields named by the update-mask paths `mask` in place, and wait."""
        ...

    def delete(self, key: ResourceKey) -> None:
        """Delete and wait until gone; already gone is success."""
        ...

    def set_default(self, key: ResourceKey) -> ObservedResource:
        """Make a version its model's default."""
        ...

    def set_traffic(self, key: ResourceKey, split: Mapping[str, int]) -> None:
        """Route an endpoint's traffic: `split` maps version names to percents (empty: none)."""
        ...

    def wait_settled(self, key: ResourceKey) -> ObservedResource | None:
        """Wait while the resource is transitional; its settled state, or None when gone."""
        ...

    def canary(
        self,
        key: ResourceKey,
        name: str,
        instances: list[Any],
        check: Callable[[list[Any]], None],
    ) -> None:
        """Route version `name` a small share of endpoint `key`, judge its answers with
        `check`, and restore the previous split when anything fails."""
        ...

    def smoke(self, key: ResourceKey, instances: list[Any]) -> list[Any]:
        """Send `instances` to the version `key` itself (not the model's default or split)
        and return its predictions; raises on an error answer."""
        ...
