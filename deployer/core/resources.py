"""Resources as the planner sees them: an address, declared or live fields, labels, a state.

A provider turns the manifests into `DesiredResource`s and the live cloud into
`ObservedResource`s, both normalized to the same field paths, so equal means "no change". What
the planner must never interpret (API bodies, service-assigned names) stays in `private`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MODEL, VERSION = "model", "version"
"""The two kinds every backend has: what a manifest's model and version entries become."""


@dataclass(frozen=True)
class ResourceKey:
    """The address of a resource: location ("global" or a region), model, optional version.

    `part` names a resource that belongs to a model or version without being it (a Vertex
    endpoint, a deployment), and `kind` says which of the provider's kinds it is (by default
    "model" or "version", else the part); `instance` tells apart two live resources of the same
    identity while one replaces the other (a create-then-delete in flight).
    Keys sort by location, model, then version, a model before its versions.
    """

    endpoint: str
    model: str
    version: str | None = None
    part: str = ""
    instance: str = ""
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            default = self.part or (MODEL if self.version is None else VERSION)
            object.__setattr__(self, "kind", default)

    @property
    def order(self) -> tuple[str, str, int, str, str, str]:
        """The sort key: location, model, a model before its versions, version, part."""
        return (
            self.endpoint,
            self.model,
            self.version is not None,
            self.version or "",
            self.part,
            self.instance,
        )

    def __lt__(self, other: ResourceKey) -> bool:
        return self.order < other.order

    @property
    def model_key(self) -> ResourceKey:
        return ResourceKey(self.endpoint, self.model)

    @property
    def current(self) -> ResourceKey:
        """The same identity without the instance."""
        return ResourceKey(self.endpoint, self.model, self.version, self.part, kind=self.kind)

    def with_instance(self, instance: str) -> ResourceKey:
        return ResourceKey(
            self.endpoint, self.model, self.version, self.part, instance, kind=self.kind
        )

    @property
    def address(self) -> str:
        """Terraform-like address shown to users, e.g. `us-central1/fashion_mnist/v1`."""
        base = f"{self.endpoint}/{self.model}"
        if self.version is not None:
            base = f"{base}/{self.version}"
        if self.part:
            base = f"{base}:{self.part}"
        return f"{base}#{self.instance}" if self.instance else base


class State(StrEnum):
    READY = "READY"
    CREATING = "CREATING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @property
    def transitional(self) -> bool:
        return self in (State.CREATING, State.UPDATING, State.DELETING)


@dataclass(frozen=True)
class DesiredResource:
    """What the manifests declare, as flattened field paths -> normalized values."""

    key: ResourceKey
    fields: Mapping[str, Any]
    labels: Mapping[str, str]
    protect: bool = False
    is_default: bool = False
    artifact_source: str | None = None
    """For versions: the local directory or gs:// URI the manifest names (for uploads)."""


@dataclass(frozen=True)
class ObservedResource:
    """What the cloud holds, normalized to the same field paths as DesiredResource.

    `ident` is the service-assigned identity of this instance (a registry version number, a
    deployment id; "" where the name is the identity), `ref` the `ident` of the resource it
    refers to (a deployment's registry version), `within` the `ident` of the parent instance it
    lives in when that is not the current one (a deployment on a duplicate endpoint). `private`
    is the provider's own: the planner never reads it.
    """

    key: ResourceKey
    fields: Mapping[str, Any]
    labels: Mapping[str, str]
    state: State = State.READY
    is_default: bool = False
    error_message: str = ""
    etag: str = ""
    ident: str = ""
    ref: str = ""
    within: str = ""
    private: Mapping[str, Any] = field(default_factory=dict, compare=False)
