"""How a provider describes its resources to the diff, and the provider-neutral resource shape.

Like Terraform's provider schemas (attributes marked Computed / ForceNew), each field says whether
a change can be patched in place (and under which update-mask path), forces a replacement, or is
output-only. A patchable field may be patchable only for some resources (e.g. only on one
machine family): `patch_only_if` says so as data, and elsewhere a change of it is a replacement.
The diff engine knows nothing else about a backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Behavior(StrEnum):
    PATCH = "patch"
    REPLACE = "replace"
    OUTPUT = "output"


class Strategy(StrEnum):
    """How a kind is replaced, as Terraform's DeleteThenCreate / CreateThenDelete."""

    DELETE_THEN_CREATE = "delete-then-create"
    CREATE_BEFORE_DESTROY = "create-before-destroy"


@dataclass(frozen=True)
class Condition:
    """A test on a resource's flattened fields: the value at `path` is text starting with one of
    `prefixes` (e.g. `Condition("machineType", ("n1-",))`)."""

    path: str
    prefixes: tuple[str, ...]

    def holds(self, fields: Mapping[str, Any]) -> bool:
        value = fields.get(self.path)
        return isinstance(value, str) and value.startswith(self.prefixes)

    def describe(self) -> str:
        return f"{self.path} is {' or '.join(p + '*' for p in self.prefixes)}"


@dataclass(frozen=True)
class FieldSpec:
    path: str
    behavior: Behavior
    mask: str | None = None
    patch_only_if: Condition | None = None
    """For a PATCH field: the service patches it only on a live resource that meets this
    condition; on any other (a missing value included) a change forces a replacement."""
    otherwise: Behavior = Behavior.REPLACE
    """What a change is where `patch_only_if` does not hold: REPLACE, or OUTPUT (fixed at
    creation and not worth a replacement: the plan warns and leaves it)."""

    def behavior_for(self, live: Mapping[str, Any]) -> Behavior:
        """The behavior of a change of this field on the live resource with fields `live`."""
        only = self.patch_only_if
        if self.behavior is Behavior.PATCH and only is not None and not only.holds(live):
            return self.otherwise
        return self.behavior


@dataclass(frozen=True)
class ResourceSchema:
    kind: str
    fields: tuple[FieldSpec, ...]
    replace: Strategy = Strategy.DELETE_THEN_CREATE
    serial: bool = False
    """Writes to resources of this kind run one at a time per model (e.g. per Vertex endpoint)."""
    concurrent: int = 0
    """Creates, replaces and deletes of this kind in flight at once per project, as the
    service's quota allows (`ml` v1: 10 version operations); 0: no limit of its own."""

    def spec(self, path: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.path == path), None)

    @property
    def compared(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.behavior is not Behavior.OUTPUT)


@dataclass(frozen=True)
class ResourceKey:
    """Identity of a resource: endpoint ("global" or a region), model, optional version.

    `part` names a resource that belongs to a model or version without being it (a Vertex
    endpoint, a deployment); `instance` tells apart two live resources of the same identity
    while one replaces the other (a create-before-destroy in flight).
    Keys sort by endpoint, model, then version, a model before its versions.
    """

    endpoint: str
    model: str
    version: str | None = None
    part: str = ""
    instance: str = ""

    def _order(self) -> tuple[str, str, int, str, str, str]:
        return (
            self.endpoint,
            self.model,
            self.version is not None,
            self.version or "",
            self.part,
            self.instance,
        )

    def __lt__(self, other: ResourceKey) -> bool:
        return self._order() < other._order()

    @property
    def kind(self) -> str:
        if self.part:
            return PART_KINDS.get(self.part, self.part)
        return "model" if self.version is None else "version"

    @property
    def model_key(self) -> ResourceKey:
        return ResourceKey(self.endpoint, self.model)

    @property
    def current(self) -> ResourceKey:
        """The same identity without the instance."""
        return ResourceKey(self.endpoint, self.model, self.version, self.part)

    @property
    def address(self) -> str:
        """Terraform-like address shown to users, e.g. `us-central1/fashion_mnist/v1`."""
        base = f"{self.endpoint}/{self.model}"
        if self.version is not None:
            base = f"{base}/{self.version}"
        if self.part:
            base = f"{base}:{self.part}"
        return f"{base}#{self.instance}" if self.instance else base


PART_KINDS = {"endpoint": "endpoint", "deployed": "deployment"}


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
    """What the manifests declare, as flattened API field paths -> normalized values."""

    key: ResourceKey
    fields: Mapping[str, Any]
    labels: Mapping[str, str]
    protect: bool = False
    is_default: bool = False
    artifact_source: str | None = None
    """For versions: the local directory or gs:// URI the manifest names (for uploads)."""


@dataclass(frozen=True)
class ObservedResource:
    """What the cloud holds, normalized to the same field paths as DesiredResource."""

    key: ResourceKey
    fields: Mapping[str, Any]
    labels: Mapping[str, str]
    state: State = State.READY
    is_default: bool = False
    error_message: str = ""
    etag: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Vocabulary:
    """How a provider's field paths read in the manifest, for plans shown to people.

    `keys`: per kind, field path -> the manifest key it comes from (`runtimeVersion` ->
    `runtime_version`), or None for an internal or computed field that is never shown (a hashed
    URI, a display name derived from the model name). Paths not listed are shown as they are.
    `artifact`: the field whose change reads as `artifact: SOURCE (digest …)`.
    """

    keys: Mapping[str, Mapping[str, str | None]]
    artifact: str = "artifactDigest"

    def key(self, kind: str, path: str) -> str | None:
        return self.keys.get(kind, {}).get(path, path)
