"""The boundary every backend implements; the application layer and the executor talk to this.

A provider declares its resource model, turns the loaded manifests into desired resources, reads
the live state into observed resources, and performs the writes a plan's actions name. Writes
take the resource's `ResourceKey`; the provider dispatches on `key.kind`. `spec` is
`deployer.core.ownership.spec_hash` of the desired resource, written as the `deployer-spec`
label. What only some backends can do (call one version, run a canary, adopt live resources,
answer predictions) are separate protocols: check with `isinstance`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from deployer.core.model import ResourceModel
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.core.stack import Stack


@runtime_checkable
class Provider(Protocol):
    name: str
    project: str
    apply_parallelism: int
    """Actions an apply runs at once unless told otherwise: as many as the service's quotas
    let make progress (more would only queue in deployer)."""

    @property
    def model(self) -> ResourceModel:
        """Kinds, field behaviours, routings: what the planner knows of this backend."""
        ...

    def desired(self, stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
        """What the manifests declare (`digests`: artifact source -> content digest)."""
        ...

    def read(self, endpoints: Iterable[str], stack: str | None = None) -> list[ObservedResource]:
        """The live resources on `endpoints` (with `stack`, details only for its own)."""
        ...

    def create(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource | None:
        """Create and wait until usable (a version READY); an existing identical one is fine."""
        ...

    def update(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource | None:
        """Patch the fields named by the update-mask paths `mask` in place, and wait."""
        ...

    def delete(self, key: ResourceKey) -> None:
        """Delete and wait until gone; already gone is success."""
        ...

    def reroute(self, key: ResourceKey, path: str, value: Any) -> None:
        """Set routing `path` (a `Routing.path` of the model) to `value`: a version name for a
        single-target routing (`key` is that version), a {version: percent} split otherwise
        (`key` is the router)."""
        ...

    def wait_settled(self, key: ResourceKey) -> ObservedResource | None:
        """Wait while the resource is transitional; its settled state, or None when gone."""
        ...


@runtime_checkable
class CallsVersions(Protocol):
    """The service can call one version directly, before it serves (ml v1 `versions:predict`)."""

    def smoke(self, key: ResourceKey, instances: list[Any]) -> list[Any]:
        """Send `instances` to the version `key` itself and return its predictions; raises on
        an error answer."""
        ...


@runtime_checkable
class Canaries(Protocol):
    """A new version can be judged behind a small share of a model's traffic."""

    def canary(
        self,
        key: ResourceKey,
        name: str,
        instances: list[Any],
        check: Callable[[list[Any]], None],
    ) -> None:
        """Route version `name` a small share of router `key`, judge its answers with `check`,
        and restore the previous split when anything fails."""
        ...


@dataclass(frozen=True)
class Imported:
    """What a backend makes of one live model for `deployer import`."""

    entry: dict[str, Any]
    """The manifest entry (a `models:` item) that declares exactly what is live."""
    notes: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)
    """Manifest version name -> the live identity it was made from (the backend's own)."""


@runtime_checkable
class Adopts(Provider, Protocol):
    """Live resources deployer did not create can be labelled as a stack's (`deployer import`)."""

    def manifest_entry(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        default_region: str,
        only: str | None,
    ) -> Imported:
        """The manifest entry declaring one live model (only version `only`, if given);
        AdoptionError for what cannot be declared."""
        ...

    def adopted(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        desired: Sequence[DesiredResource],
        origin: Mapping[str, str],
        specs: Mapping[ResourceKey, str],
        stack: str,
    ) -> list[ObservedResource]:
        """The live resources as a read will show them once `adopt` has labelled them (the
        proof, before anything is written, that the import needs nothing else); AdoptionError
        when the service would not take the labels."""
        ...

    def adopt(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        desired: Sequence[DesiredResource],
        origin: Mapping[str, str],
        specs: Mapping[ResourceKey, str],
    ) -> list[str]:
        """Write the ownership labels of `desired`; notes on what was done."""
        ...

    def restore(self, model: ObservedResource, children: Sequence[ObservedResource]) -> list[str]:
        """Undo `adopt` as far as the service lets (best effort): what could not be put back,
        one line each."""
        ...


@dataclass(frozen=True)
class Answer:
    predictions: list[Any]
    served_by: str = ""
    """Which version answered, when the service says (a split routes each request)."""


@runtime_checkable
class Predicts(Protocol):
    """Online predictions from a deployed model."""

    def predict(
        self, location: str, model: str, version: str | None, body: Mapping[str, Any]
    ) -> Answer:
        """The service's answer to `body` (`{"instances": [...]}`) from the model's serving
        version (or `version`, where the service can call one); UsageError for a request the
        service would refuse (too large, a version it cannot call)."""
        ...
