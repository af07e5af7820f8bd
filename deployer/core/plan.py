"""The Plan: what apply would do, as plain data that renderers print and the executor runs.

Actions are Terraform's (`internal/plans/action.go`): create, update, delete-then-create,
create-then-delete, delete; plus one reroute (what serves changes) and wait (a live resource is
busy). Each carries a typed `Reason` and its field changes, so renderers build sentences from
data and the executor dispatches on the action's kind alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deployer.core.resources import ResourceKey

FORMAT_VERSION = "2.1"
"""2.1 added optional keys: `targets`, an action's `serving` and `title`, a change's `drift`."""


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE_THEN_CREATE = "delete-then-create"
    """Replaced in place of the old one: unavailable in between."""
    CREATE_THEN_DELETE = "create-then-delete"
    """The new one is created here; the old instance goes in a separate, later delete."""
    DELETE = "delete"
    REROUTE = "reroute"
    """What serves changes (a default version, a traffic split): `route` says which routing,
    `desired[route.path]` holds the new value."""
    WAIT = "wait"
    """A live resource is CREATING/UPDATING/DELETING: apply waits for it, then re-plans."""

    @property
    def replaces(self) -> bool:
        return self in (ActionKind.DELETE_THEN_CREATE, ActionKind.CREATE_THEN_DELETE)

    @property
    def verb(self) -> str:
        """The short word of ids and counts: `replace` for both replacements."""
        return "replace" if self.replaces else self.value


class Why(StrEnum):
    """Why an action is in the plan."""

    DECLARED = "declared"
    """Declared in the manifests, not found live."""
    RECREATED = "recreated"
    """Declared, and its live resource is being deleted: created again afterwards."""
    FOUNDED = "founded"
    """Brought into existence by its first child's create; then its own fields are set."""
    CHANGED = "changed"
    FORCED = "forced"
    """Fields that cannot change in place (`paths`)."""
    FAILED = "failed"
    """The live resource is FAILED: replaced."""
    UNDECLARED = "undeclared"
    """This stack's live resource is no longer declared (`count`: children that go with it)."""
    MODEL_GONE = "model-gone"
    """Its model is being deleted (`last`: the routed target goes last; `after`: the kind
    whose deletes come first)."""
    REFERENCE_GONE = "reference-gone"
    """What it refers to (`subject`, a kind) is no longer declared."""
    UNSERVED = "unserved"
    """What it refers to is declared, but this part of it is not (`note` says how)."""
    SUPERSEDED = "superseded"
    """The old instance of a create-then-delete replacement."""
    LEFTOVER = "leftover"
    """An old instance left by an earlier, interrupted replacement."""
    BUSY = "busy"
    """The live resource is CREATING/UPDATING/DELETING (`state`)."""
    REROUTED = "rerouted"
    INTERIM = "interim"
    """Routed elsewhere while `subject` is replaced delete-then-create (--allow-downtime)."""
    RESTORED = "restored"
    """Routed back to `subject` after its replacement."""
    NOTE = "note"
    """A reason kept as text (a plan saved by format 1.0)."""


@dataclass(frozen=True)
class Reason:
    why: Why
    paths: tuple[str, ...] = ()
    """Changed fields (CHANGED) or the fields forcing a replacement (FORCED), as shown."""
    subject: str = ""
    noun: str = ""
    """The resource's kind as it reads in sentences."""
    count: int = 0
    state: str = ""
    note: str = ""
    last: bool = False
    before: Any = None
    after: Any = None

    def text(self) -> str:
        """The reason as one sentence (what renderers print and the JSON keeps as `reason`)."""
        w, noun = self.why, self.noun or "resource"
        if w is Why.DECLARED:
            return "declared in manifests, not found live"
        if w is Why.RECREATED:
            return f"live {noun} is being deleted; it is created again afterwards"
        if w is Why.FOUNDED:
            return f"its first {self.subject} creates it; then its fields"
        if w is Why.CHANGED:
            return "changed: " + ", ".join(self.paths)
        if w is Why.FORCED or w is Why.FAILED:
            text = "replacement forced by: " + ", ".join(self.paths)
            return f"{text} ({self.note})" if self.note else text
        if w is Why.UNDECLARED:
            text = f"managed live {noun} is no longer declared"
            if self.count:
                text += f" (its {self.count} {self.subject}(s) go with it)"
            return text
        if w is Why.MODEL_GONE:
            if self.subject:
                return f"its model is no longer declared (after every {self.subject})"
            last = f" ({noun} goes last)" if self.last else ""
            return f"its model is being deleted{last}"
        if w is Why.REFERENCE_GONE:
            return f"its {self.subject} is no longer declared"
        if w is Why.UNSERVED:
            return self.note
        if w is Why.SUPERSEDED:
            return "superseded by its replacement"
        if w is Why.LEFTOVER:
            return "superseded copy left by an earlier replacement"
        if w is Why.BUSY:
            return f"live {noun} is {self.state}; apply waits until it settles"
        if w is Why.REROUTED:
            return f"{self.subject}: {_route_text(self.before)} -> {_route_text(self.after)}"
        if w is Why.INTERIM:
            return f"interim {self.noun} while {self.subject} is replaced (--allow-downtime)"
        if w is Why.RESTORED:
            return f"{self.noun} back to {self.subject} after its replacement"
        return self.note


def note(text: str) -> Reason:
    """A reason that is only its text (a plan saved by format 1.0, a test's hand-built plan)."""
    return Reason(Why.NOTE, note=text)


def _route_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return split_text(value, "(none)")
    return str(value) if value else "(none)"


def split_text(split: Any, empty: str = "none") -> str:
    """A traffic split as `v1 90, v2 10` (`empty` when nothing is routed)."""
    if not split:
        return empty
    return ", ".join(f"{name} {pct}" for name, pct in sorted(dict(split).items()))


@dataclass(frozen=True)
class Route:
    """Which routing a reroute changes (from the provider's `Routing`)."""

    path: str
    name: str
    split: bool = False
    serves: bool = True
    target: str = ""
    """The kind of resource it routes to (names in its value are of that kind)."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    forces_replacement: bool = False
    mask: str | None = None
    label: str = ""
    """The field in the manifest's vocabulary (`runtime_version`, `scaling.nodes`); "" = `path`."""
    hidden: bool = False
    """Internal or computed (a hashed URI, an etag): kept for apply, not shown to users."""
    shown: str = ""
    """How the change reads in the manifest's terms when the values do not say it (an artifact:
    `../export/iris/2 (digest 8cf5d1…)`); "" = the values."""
    source: str = ""
    """`FILE:LINE` of the manifest key that declares the new value, when known."""
    drift: bool = False
    """The live value (`before`) was set outside deployer: deployer last applied this very
    declaration of the field (its `deployer-spec` record says so), so applying undoes a live
    change, not a change of the manifests."""

    @property
    def name(self) -> str:
        return self.label or self.path


@dataclass(frozen=True)
class Action:
    id: str
    kind: ActionKind
    key: ResourceKey
    reason: Reason
    changes: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Actions that must succeed first: if one fails, this one is skipped."""
    ordered_after: tuple[str, ...] = ()
    """Actions that must finish first, whether they succeed or not (ordering only)."""
    desired: Mapping[str, Any] | None = None
    """Desired fields (create, replace, update) as the provider will write them; for a
    reroute, `{route.path: value}`."""
    labels: Mapping[str, str] | None = None
    artifact_source: str | None = None
    drift: bool = False
    route: Route | None = None
    source: str = ""
    """`FILE:LINE` of the manifest entry behind this resource, when known."""
    before: Mapping[str, Any] | None = None
    """The live fields of what a delete removes (kept so a reviewer and the JSON see them)."""
    serving: bool = False
    """When the plan begins, a routing that serves requests routes to the live resource this
    action deletes or replaces (its traffic, its default): what stops serving, or keeps serving
    through a replacement, reads from this and the plan's reroutes."""
    title: str = ""
    """How the address reads to people when it holds service-assigned ids (an old instance:
    `us-central1/iris/v1 (old deployment, n1-standard-2)`); "" = the address."""

    @property
    def address(self) -> str:
        return self.key.address

    @property
    def shown(self) -> str:
        """The address as plans for people print it."""
        return self.title or self.key.address

    @property
    def superseded(self) -> bool:
        """The delete of the old instance of a create-then-delete replacement: part of that
        replacement, not a destroy of its own."""
        return self.kind is ActionKind.DELETE and self.reason.why is Why.SUPERSEDED

    @property
    def destructive(self) -> bool:
        return self.kind is ActionKind.DELETE or self.kind.replaces

    @property
    def drifted(self) -> tuple[FieldChange, ...]:
        """The changes that undo a live change (drift), each with its live value as `before`."""
        return tuple(c for c in self.changes if c.drift and not c.hidden)

    @property
    def reroutes(self) -> bool:
        """What serves predictions (or which version a name means) changes."""
        return self.kind is ActionKind.REROUTE

    @property
    def create_first(self) -> bool:
        return self.kind is ActionKind.CREATE_THEN_DELETE

    @property
    def split(self) -> bool:
        """A reroute of a weighted split (a traffic change), not of a single target."""
        return self.route is not None and self.route.split

    def kind_text(self, strategy: bool = False) -> str:
        """The kind in a word: `set-traffic` and `set-default` for reroutes (of a split, of one
        target), `replace` for either replacement (`replace (create first)` with `strategy`)."""
        if self.kind is ActionKind.REROUTE:
            return "set-traffic" if self.split else "set-default"
        if self.kind.replaces:
            if not strategy:
                return "replace"
            return "replace (create first)" if self.create_first else "replace (delete first)"
        return self.kind.value


@dataclass(frozen=True)
class Ignored:
    address: str
    reason: str
    title: str = ""
    """How the address reads to people when it holds service-assigned ids; "" = the address."""

    @property
    def shown(self) -> str:
        return self.title or self.address


@dataclass(frozen=True)
class Summary:
    add: int
    change: int
    replace: int
    destroy: int
    reroute: int = 0
    """Reroutes (default-version moves, traffic changes), counted apart from `change`."""

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.replace or self.destroy or self.reroute)


# ---- what the plan's deployments hold and cost (computed by the application layer) ----------


@dataclass(frozen=True)
class Amount:
    """What serving replicas hold: vCPUs, memory and GPUs by type. `unbounded`: some may scale
    without a limit, so this is a lower bound; `unknown`: machine types without a known shape,
    left out of the sum."""

    vcpus: float = 0.0
    memory_gib: float = 0.0
    gpus: Mapping[str, int] = field(default_factory=dict)
    unbounded: bool = False
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extent:
    """What is held at the lowest and at the highest replica counts."""

    at_min: Amount = Amount()
    at_max: Amount = Amount()


@dataclass(frozen=True)
class QuotaRoom:
    """One serving quota metric in one region, against the plan's peak at max replicas.

    `limit` None: unlimited, or not known (`known` false); `free` is the limit less what
    deployments of other stacks hold; `held` what this stack holds before the plan (a plan
    asking no more than that needs no new quota)."""

    metric: str
    asked: float
    limit: int | None = None
    free: float | None = None
    used_by_others: float = 0.0
    held: float = 0.0
    known: bool = True
    ok: bool = True


@dataclass(frozen=True)
class Footprint:
    """Before and after the plan, and the peak while it is applied (a create-before-destroy
    replacement runs old and new together); `quota` for a region whose quota was read."""

    before: Extent = Extent()
    after: Extent = Extent()
    peak: Extent = Extent()
    quota: tuple[QuotaRoom, ...] = ()


@dataclass(frozen=True)
class Usage:
    """The footprint per region and per model (`REGION/MODEL`), with notes (what was not
    counted or checked, and why)."""

    regions: Mapping[str, Footprint] = field(default_factory=dict)
    models: Mapping[str, Footprint] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Monthly:
    """A monthly cost before and after the plan, at min replicas and at max. None: unknown (a
    price not found, or no upper bound); `priced_*` is the part that has a price."""

    before: float | None = 0.0
    after: float | None = 0.0
    before_max: float | None = 0.0
    after_max: float | None = 0.0
    priced_before: float = 0.0
    priced_after: float = 0.0

    @property
    def delta(self) -> float:
        """After less before, of the priced parts."""
        return self.priced_after - self.priced_before


@dataclass(frozen=True)
class Cost:
    """What the plan's deployments cost a month, per model (`REGION/MODEL`) and in total."""

    currency: str
    source: str
    """Where the prices come from (a catalog and when it was read, or a prices file)."""
    as_of: str = ""
    total: Monthly = Monthly()
    models: Mapping[str, Monthly] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    """What could not be priced: `REGION/MODEL/VERSION: why`."""
    twin: bool = False
    """Priced with the local twin's fixture prices, not Google's."""


def followed(actions: Sequence[Action]) -> list[tuple[Action, Action]]:
    """(update, replacement) pairs: an update that waits for the create-first replacement of
    another resource of its version is the service moving it onto that replacement in place
    (a rolling update), instead of a second copy of its own."""
    by_id = {a.id: a for a in actions}
    out = []
    for a in actions:
        if a.kind is not ActionKind.UPDATE or a.key.version is None:
            continue
        for dep in a.depends_on:
            x = by_id.get(dep)
            if x is not None and x.create_first and x.key.version == a.key.version:
                out.append((a, x))
                break
    return out


def summarize(actions: Iterable[Action]) -> Summary:
    """Counts per kind; the delete of a replacement's old instance is part of that replacement
    (counted once, as the replace), not a destroy."""
    actions = tuple(actions)

    def count(*kinds: ActionKind) -> int:
        return sum(1 for a in actions if a.kind in kinds)

    return Summary(
        add=count(ActionKind.CREATE),
        change=count(ActionKind.UPDATE),
        replace=count(ActionKind.DELETE_THEN_CREATE, ActionKind.CREATE_THEN_DELETE),
        destroy=sum(1 for a in actions if a.kind is ActionKind.DELETE and not a.superseded),
        reroute=count(ActionKind.REROUTE),
    )


@dataclass(frozen=True)
class Plan:
    stack: str
    project: str
    actions: tuple[Action, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""
    artifacts: Mapping[str, str] = field(default_factory=dict)
    """Artifact digests the plan relied on: source (dir or gs:// URI) -> digest."""
    artifacts_uri: str = ""
    """The stack's `artifacts` setting: where uploads and the lock live."""
    backend: str = ""
    environment: str = ""
    """The `--env` environment the manifests were loaded for ("" = none selected)."""
    emulator: str = ""
    """The local twin's URL when the live state was read from it instead of Google Cloud."""
    commit: str = ""
    """The manifests' Git commit, when known."""
    smoke_tests: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Smoke tests apply runs before it promotes a version, pinned like artifacts (filled by
    deployer.apply.smoke.pin): `MODEL/VERSION` -> {instances, expect, tolerance, digest}."""
    manifests: str = ""
    """The manifests directory the plan was made from, relative to the working directory:
    `apply PLAN.json` reads the sensitive values the plan file holds only as digests there."""
    resources: Usage | None = None
    """What the deployments hold per region and model, before, after and at the peak, with the
    quota checked (None: not counted, e.g. a plan saved before deployer counted them)."""
    cost: Cost | None = None
    """What the deployments cost a month (None: not priced)."""
    targets: tuple[str, ...] = ()
    """The `--target` values the plan was limited to (`MODEL`, `MODEL/VERSION`); () when it
    covers everything. A targeted plan is partial: other changes may be pending."""
    groups: Mapping[str, str] = field(default_factory=dict)
    """How a group of actions on a resource of a kind other than a model is headed (`pool` ->
    `Resource pool`), from the provider's vocabulary; every other group is a model's."""

    @property
    def summary(self) -> Summary:
        return summarize(self.actions)

    @property
    def drift(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.drift)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)
