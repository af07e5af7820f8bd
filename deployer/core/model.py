"""The resource model: everything the planner knows of a backend, declared by its provider as data.

As in Terraform's provider schemas (attributes marked Computed / ForceNew, resources with
`create_before_destroy`), a provider says, per kind of resource:

- how each field changes (`FieldSpec`): patched in place under an update-mask path, forcing a
  replacement, or output-only; a field may be patchable only on some live resources
  (`patch_only_if`, e.g. only on one machine family), elsewhere a change is a replacement or is
  left alone (fixed at creation);
- how the kind relates to others: its `parent` (created first, deleted last unless deleting the
  parent takes its children with it), the kind whose first create brings it into existence
  (`founded_by`), `references` to another kind's resource of the same version (created first,
  kept until nothing refers to it, and replaced with it), kinds it is deleted after;
- how it is replaced (`Strategy`; a root replaced create-then-delete has its children set up
  again under the new instance), what a replacement means to people (`replace_note`,
  `replace_caveat`), and the write lanes and quotas of the service (`serial`, `concurrent`);
- references that follow a replacement in place (`Reference.follows`, a rolling update) or
  reach into another group (`Reference.shared`, a pool several models use);

and, for the whole model, the `Routing`s: which field decides what serves (a default version, a
traffic split), with the service's rules about them (one target or a split, whether it must
always route somewhere while targets exist). The planner derives actions and their order from
this alone; it names no backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Behavior(StrEnum):
    PATCH = "patch"
    REPLACE = "replace"
    OUTPUT = "output"


class Strategy(StrEnum):
    """How a kind is replaced, as Terraform's DeleteThenCreate / CreateThenDelete."""

    DELETE_THEN_CREATE = "delete-then-create"
    CREATE_THEN_DELETE = "create-then-delete"


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
    caveat: str = ""
    """What a change of this field means to people beyond its values (the resource's URL
    changes): the plan warns with it."""
    at_creation: bool = True
    """Listed among a create's fields (False for one that follows from the address, like an
    alias named after its version: worth showing only when it changes)."""

    def behavior_for(self, live: Mapping[str, Any]) -> Behavior:
        """The behavior of a change of this field on the live resource with fields `live`."""
        only = self.patch_only_if
        if self.behavior is Behavior.PATCH and only is not None and not only.holds(live):
            return self.otherwise
        return self.behavior


@dataclass(frozen=True)
class Reference:
    """A resource of the owning kind uses the resource of kind `kind` with the same version.

    It is created after that resource is ready, replaced when that resource is replaced
    create-then-delete (the reference must point at the new instance: the change shows as
    `path`, before -> `renewed`), and the referred resource is deleted only after every
    resource referring to it is gone.
    """

    kind: str
    path: str
    renewed: str = "(new)"
    follows: Condition | None = None
    """When the referring resource's declared fields meet this condition, the service itself
    moves it onto the referred resource's replacement (a rolling update): the replacement is
    followed by an update of `path` under `mask` (shown as before -> `followed`) instead of a
    replacement of its own, and the old referred instance goes after that update."""
    mask: str | None = None
    followed: str = "(new, in place)"
    shared: bool = False
    """The referred resource is the root of a group of its own, which resources of several
    groups may use (a resource pool): the value of field `path` names its group (its key's
    model) in the same location. Creates wait for it; it goes only after every live resource
    using it, and a replacement that would pull it from under them is refused."""


@dataclass(frozen=True)
class ResourceKind:
    """One kind of resource: its fields and how it relates to the other kinds."""

    name: str
    fields: tuple[FieldSpec, ...]
    replace: Strategy = Strategy.DELETE_THEN_CREATE
    part: str = ""
    """How its address ends (`:deployed`), for a kind that is part of a model or version
    rather than the model or version itself."""
    parent: str | None = None
    """The kind it lives in (created first; deleted only after its children, see `cascade`).
    None: a root of its model's group, like the model itself."""
    cascade: bool = False
    """Deleting a resource of this kind deletes its children with it (no delete of theirs)."""
    founded_by: str | None = None
    """A child kind whose first create brings this resource into existence: this kind's own
    create then only sets its fields, after its children's creates."""
    references: tuple[Reference, ...] = ()
    deleted_after: tuple[str, ...] = ()
    """When a model goes, resources of this kind are deleted after those of these kinds."""
    serial: bool = False
    """Writes to resources of this kind run one at a time per model (e.g. per Vertex endpoint)."""
    concurrent: int = 0
    """Creates, replaces and deletes of this kind in flight at once per project, as the
    service's quota allows (`ml` v1: 10 version operations); 0: no limit of its own."""
    replace_note: str = ""
    """How a replacement of this kind goes, for its reason (a create-then-delete says by
    default that the new one serves before the old goes)."""
    replace_caveat: str = ""
    """What a replacement means to people (a new URL): the plan warns with it."""

    def spec(self, path: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.path == path), None)

    @property
    def compared(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.behavior is not Behavior.OUTPUT)


@dataclass(frozen=True)
class Routing:
    """A field that decides which resources serve, and the service's rules about it.

    The value routes to versions by name, with a weight each (`{"v1": 90, "v2": 10}`; a
    single-target routing is `{"v2": 100}`). It is read from the router's field `path`, or,
    when `flagged`, from the `is_default` flags of the targets.
    """

    path: str
    """The field (and the change path of a reroute): `defaultVersion`, `traffic`."""
    name: str
    """How it reads to people: "default version", "traffic"."""
    router: str
    """The kind that holds it."""
    target: str
    """The kind it routes to."""
    flagged: bool = False
    split: bool = False
    """Weights over several targets (else exactly one target)."""
    required: bool = False
    """While any target exists one of them is routed to, and the service refuses to delete
    the routed one while others exist (ml v1's default version)."""
    automatic: bool = False
    """The service routes to the first target created: a new model needs no reroute."""
    serves: bool = True
    """It decides which resource answers requests (a registry alias does not)."""
    by_instance: bool = False
    """It names instances, so a replaced target must be routed to again; otherwise it names
    identities, which a create-then-delete replacement hands over to the new instance."""
    gated: bool = False
    """A reroute waits for in-place updates of its targets to succeed (scaled up before they
    take traffic); otherwise it is only ordered after them."""


SENTENCE = ""
"""A `Vocabulary.words` key whose value is a sentence that says the whole change."""


@dataclass(frozen=True)
class Vocabulary:
    """How a provider's field paths and kinds read in the manifest, for plans shown to people.

    `keys`: per kind, field path -> the manifest key it comes from (`runtimeVersion` ->
    `runtime_version`), or None for an internal or computed field that is never shown (a hashed
    URI, a display name derived from the model name). Paths not listed are shown as they are.
    `artifact`: the field whose change reads as `artifact: SOURCE (digest …)`.
    `nouns`: how a kind is named in sentences when it differs from the kind ("registry
    version"); `verbs`: per kind, how its create and delete read ("upload", "undeploy").
    `unserved`: per kind, why a declared resource's part is not wanted ("its version is
    declared with deployed: false").
    """

    keys: Mapping[str, Mapping[str, str | None]]
    artifact: str = "artifactDigest"
    nouns: Mapping[str, str] | None = None
    verbs: Mapping[str, Mapping[str, str]] | None = None
    unserved: Mapping[str, str] | None = None
    unprotect: str = "delete it by hand if it must go"
    """What to do with a protected resource whose labels cannot change."""
    words: Mapping[str, Mapping[str, Callable[[Any], Mapping[str, Any]]]] | None = None
    """Per kind, field path -> how one of its values reads in the manifest, as manifest key ->
    value, for a field whose API shape is not the manifest's: a map (`machineSpec` ->
    `machine_type`, `accelerator`), an enum (`TENSORFLOW` -> `tensorflow`), a negated flag
    (`disableContainerLogging` -> `console_logging`), an image derived from `runtime_version`."""
    merged: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None
    """Per kind, a manifest key -> the field paths that all hold its value when the manifest
    writes that key (`scaling.nodes` -> the minimum and maximum replica counts)."""
    groups: Mapping[str, str] | None = None
    """Per kind that heads a group of actions of its own besides the model (a pool several
    models share), how that group's heading names it (`Resource pool`)."""
    describe: Mapping[str, Callable[[Mapping[str, Any]], tuple[str, str]]] | None = None
    """Per kind, how people tell live instances apart from their fields: (its own name, if it
    has one, e.g. a display name; details, e.g. its machine), shown instead of the ids the
    service assigned (an old deployment, one not managed by deployer)."""

    def key(self, kind: str, path: str) -> str | None:
        return self.keys.get(kind, {}).get(path, path)

    def say(self, kind: str, path: str, value: Any) -> Mapping[str, Any] | None:
        """`value` of field `path` as manifest key -> value, when the field has `words`."""
        speak = (self.words or {}).get(kind, {}).get(path)
        return None if speak is None else speak(value)

    def noun(self, kind: str) -> str:
        return (self.nouns or {}).get(kind, kind)

    def verb(self, kind: str, action: str) -> str:
        return (self.verbs or {}).get(kind, {}).get(action, action)


@dataclass(frozen=True)
class ResourceModel:
    """A backend's kinds (in the order their creates and updates are listed), its routings in
    the order they are rerouted, and its vocabulary."""

    kinds: tuple[ResourceKind, ...]
    routings: tuple[Routing, ...] = ()
    vocabulary: Vocabulary = Vocabulary({})

    def __post_init__(self) -> None:
        names = [k.name for k in self.kinds]
        for kind in self.kinds:
            related = [kind.parent, kind.founded_by, *(r.kind for r in kind.references)]
            related += list(kind.deleted_after)
            unknown = [n for n in related if n is not None and n not in names]
            if unknown:
                raise ValueError(f"kind {kind.name!r} names unknown kinds {unknown}")
        for routing in self.routings:
            if routing.router not in names or routing.target not in names:
                raise ValueError(f"routing {routing.path!r} names an unknown kind")

    def kind(self, name: str) -> ResourceKind:
        found = self.get(name)
        if found is None:
            raise KeyError(f"no resource kind {name!r}")
        return found

    def get(self, name: str) -> ResourceKind | None:
        return next((k for k in self.kinds if k.name == name), None)

    def with_part(self, part: str) -> ResourceKind | None:
        return next((k for k in self.kinds if k.part == part), None) if part else None

    def rank(self, name: str) -> int:
        return next((i for i, k in enumerate(self.kinds) if k.name == name), len(self.kinds))

    @property
    def roots(self) -> tuple[ResourceKind, ...]:
        return tuple(k for k in self.kinds if k.parent is None)

    def children(self, name: str) -> tuple[ResourceKind, ...]:
        return tuple(k for k in self.kinds if k.parent == name)

    def referrers(self, name: str) -> tuple[tuple[ResourceKind, Reference], ...]:
        return tuple((k, r) for k in self.kinds for r in k.references if r.kind == name)

    def routing(self, path: str) -> Routing | None:
        return next((r for r in self.routings if r.path == path), None)
