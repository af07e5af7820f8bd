"""The planner: a pure function from (desired, observed, resource model) to a Plan. No I/O.

It knows no backend: everything it knows of one is the provider's `ResourceModel` (kinds,
parents, references, routings, field behaviours, replace strategies). Per model (a group of
resources sharing a location and model name) it decides each resource's fate, then derives the
order of the actions from the model's relations, as Terraform derives create-before-destroy
order from its graph:

- Ownership (DESIGN.md section 4): only resources labelled with this stack change; the rest is
  listed as ignored, and a declared name held by someone else is an error naming
  `deployer import`. A group whose root is held elsewhere is left alone entirely.
- Fates: a declared resource missing live is created; a changed one is updated in place or
  replaced (the kind's strategy); a FAILED one is replaced; a busy one (CREATING, UPDATING,
  DELETING) is waited for; an undeclared one of this stack is deleted. A resource referring to
  one replaced create-then-delete is replaced with it. Drift: a resource whose `deployer-spec`
  label says it was last applied from this very declaration, yet differs, changed live.
- Order, as `depends_on` (the executor runs anything else in parallel): parents before
  children (children deleted first, unless the parent's delete takes them along), referred
  resources before those referring to them (and deleted after them), a replacement's new
  instance before the old one goes, targets ready before a reroute routes to them, and a reroute
  before anything it routes away from is deleted.
- A root replaced create-then-delete (an endpoint whose access cannot change in place): its new
  instance first, every child set up again under it and routed to there; the old instance is
  drained (its split emptied) once the new one routes, then its children and itself go. An old
  instance left by an interrupted replacement is drained and removed the same way.
- A reference that `follows` (a rolling update): the referring resource is updated in place
  after its referred resource's replacement, which keeps its old instance until that update.
- Shared references (a resource pool several models use): across groups, a resource is created
  after the shared one it uses, the shared one removed after every live user, and a removal or
  replacement that would pull it from under a user that stays is refused.
- Safety: the plan never contains a call the service would refuse, and refuses what cannot be
  ordered safely: deleting the routed target of a `required` routing while other targets stay
  (it goes last, or the routing moves first), replacing a routed target delete-then-create
  while it stays routed (downtime: only with --allow-downtime, then through an interim target
  when another declared target can serve), deleting or replacing a protected model or its
  routed target.
- Actions are listed so that every dependency comes first: per model, builds (by the model's
  kind order), then reroutes, then removals (children first).
- With --target, only targeted actions and what they depend on are kept, and only the errors
  and warnings about the targeted models and versions are reported.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from deployer.core import ownership
from deployer.core.model import Behavior, FieldSpec, ResourceKind, ResourceModel, Routing, Strategy
from deployer.core.plan import (
    Action,
    ActionKind,
    FieldChange,
    Ignored,
    Plan,
    Reason,
    Route,
    Why,
)
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey, State
from deployer.plan.drift import drifted

Targets = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class PlanOptions:
    stack: str
    project: str
    allow_downtime: bool = False
    targets: Targets = ()
    """(model, version or None) pairs from --target; empty means everything."""
    environment: str = ""
    """The --env the manifests were loaded for: commands the plan suggests repeat it."""
    declared_protect: Mapping[ResourceKey, bool] = field(default_factory=dict)
    """`protect` of each model the manifests declare, by model key: what a destroy honours
    (nothing is desired then, but the manifests still say what is protected)."""


def plan(
    desired: Iterable[DesiredResource],
    observed: Iterable[ObservedResource],
    model: ResourceModel,
    options: PlanOptions,
) -> Plan:
    """The plan that makes `observed` match `desired` for this stack."""
    observed_list = list(observed)
    b = Builder(options, model)
    for group in sorted(_groups(desired, observed_list, model), key=lambda g: g.key):
        GroupPlanner(b, group).plan()
    _link_shared(b, observed_list)
    targets = options.targets
    listed = _listed(_select_targets(b.actions, targets), model)
    return Plan(
        stack=options.stack,
        project=options.project,
        actions=tuple(listed),
        ignored=tuple(sorted(set(b.ignored), key=lambda i: i.address)),
        errors=tuple(m for k, m in b.errors if _concerns(k, targets)),
        warnings=tuple(m for k, m in b.warnings if _concerns(k, targets)),
        fingerprint=ownership.fingerprint(observed_list),
        targets=tuple(m if v is None else f"{m}/{v}" for m, v in targets if m),
    )


# ---- the pieces of one group ----------------------------------------------------------------


class Fate(Enum):
    KEEP = "keep"
    SKIP = "skip"
    """Held by someone else: listed as ignored or as a clash, never touched."""
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    REMOVE = "remove"
    WAIT = "wait"


@dataclass
class Slot:
    """One identity of one kind in a group: what is declared, the live current instance, and
    superseded live instances of it (left by a create-then-delete replacement)."""

    key: ResourceKey
    kind: ResourceKind
    desired: DesiredResource | None = None
    observed: ObservedResource | None = None
    old: list[ObservedResource] = field(default_factory=list)
    fate: Fate = Fate.KEEP
    changes: list[FieldChange] = field(default_factory=list)
    reason: Reason | None = None
    wait: str | None = None
    """The wait for the live instance to settle (it is CREATING, UPDATING or DELETING)."""
    ready: str | None = None
    """The action after which the declared resource exists as declared."""
    updated: str | None = None
    resumed: ObservedResource | None = None
    """An old instance that already is the replacement (an interrupted one): kept."""
    kept: set[str] = field(default_factory=set)
    follows: list[str] = field(default_factory=list)
    """The replacements (action ids) this resource's update follows in place (a rolling
    update): the update waits for them, and their old instances wait for the update."""

    @property
    def version(self) -> str | None:
        return self.key.version

    @property
    def root(self) -> bool:
        return self.kind.parent is None


@dataclass
class Group:
    key: ResourceKey
    slots: dict[tuple[str, str | None], Slot] = field(default_factory=dict)

    def of(self, kind: str) -> list[Slot]:
        return sorted(
            (s for (k, _), s in self.slots.items() if k == kind),
            key=lambda s: (s.version is not None, s.version or ""),
        )

    def get(self, kind: str, version: str | None) -> Slot | None:
        return self.slots.get((kind, version))


def _groups(
    desired: Iterable[DesiredResource],
    observed: Iterable[ObservedResource],
    model: ResourceModel,
) -> list[Group]:
    groups: dict[ResourceKey, Group] = {}

    def slot(key: ResourceKey) -> Slot:
        group = groups.setdefault(key.model_key, Group(key.model_key))
        current = key.current
        found = group.slots.get((current.kind, current.version))
        if found is None:
            found = Slot(current, model.kind(current.kind))
            group.slots[(current.kind, current.version)] = found
        return found

    for d in desired:
        slot(d.key).desired = d
    for o in observed:
        if o.key.instance:
            slot(o.key).old.append(o)
        else:
            slot(o.key).observed = o
    return list(groups.values())


def _id(kind: ActionKind, key: ResourceKey, suffix: str = "") -> str:
    return f"{kind.verb}:{key.address}{suffix}"


def _creation(kind: ResourceKind, desired: DesiredResource, hidden: set[str]) -> list[FieldChange]:
    quiet = {f.path for f in kind.fields if not f.at_creation}
    changes = [
        FieldChange(path, None, value)
        for path, value in sorted(desired.fields.items())
        if path not in hidden | quiet
    ]
    if kind.spec("labels") is not None:
        changes.append(FieldChange("labels", None, ownership.compared_labels(desired.labels)))
    return [c for c in changes if c.after not in (None, "", {}, [])]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class Builder:
    """Accumulates actions and problems while the planner walks each group."""

    options: PlanOptions
    model: ResourceModel
    actions: list[Action] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    errors: list[tuple[ResourceKey, str]] = field(default_factory=list)
    warnings: list[tuple[ResourceKey, str]] = field(default_factory=list)

    def add(self, action: Action) -> str:
        self.actions.append(action)
        return action.id

    def error(self, key: ResourceKey, message: str) -> None:
        self.errors.append((key, message))

    def warn(self, key: ResourceKey, message: str) -> None:
        self.warnings.append((key, message))

    def ours(self, resource: ObservedResource | None) -> bool:
        return resource is not None and ownership.owned_by(resource.labels, self.options.stack)

    def held_elsewhere(self, resource: ObservedResource | None, declared: bool) -> bool:
        """True when a live resource is not this stack's: then it is a name clash if declared,
        else it is listed as ignored, and either way the planner leaves it alone."""
        if resource is None or self.ours(resource):
            return False
        if declared:
            self.clash(resource)
        else:
            self.ignore(resource)
        return True

    def ignore(self, resource: ObservedResource) -> None:
        owner = ownership.owner(resource.labels)
        why = "not managed by deployer" if owner is None else f"managed by stack '{owner}'"
        self.ignored.append(Ignored(resource.key.address, why))

    def clash(self, resource: ObservedResource) -> None:
        key = resource.key
        owner = ownership.owner(resource.labels)
        kind = self.model.vocabulary.noun(key.kind)
        if owner is None:
            self.error(
                key,
                f"{key.address} is declared but the live {kind} of that name is not managed by "
                f"deployer: adopt it with `{self.import_command(key)}` or choose another name",
            )
        else:
            self.error(
                key,
                f"{key.address} is declared but the live {kind} of that name belongs to stack "
                f"'{owner}': remove it from that stack's manifests first or choose another name",
            )

    def import_command(self, key: ResourceKey) -> str:
        """The `deployer import` that adopts `key` (its model, or one version of it), in the
        syntax import takes: MODEL[/VERSION] --region LOCATION [--env ENV]."""
        target = key.model if key.version is None or key.part else f"{key.model}/{key.version}"
        env = f" --env {self.options.environment}" if self.options.environment else ""
        return f"deployer import {target} --region {key.endpoint}{env}"

    def field_changes(
        self,
        desired: DesiredResource,
        observed: ObservedResource,
        fixed: list[str] | None = None,
    ) -> list[FieldChange]:
        """What differs, by each field's behaviour on this live resource. A field fixed at
        creation here is not a change: its note goes to `fixed` when given (the caller warns
        unless the resource is replaced anyway), else it is a warning at once."""
        kind = self.model.kind(desired.key.kind)
        live = drifted(desired, observed) or frozenset()
        changes = []
        for spec in kind.compared:
            if spec.path == "labels":
                before: Any = ownership.compared_labels(observed.labels)
                after: Any = ownership.compared_labels(desired.labels)
            else:
                before = observed.fields.get(spec.path)
                after = desired.fields.get(spec.path)
            if before == after:
                continue
            behavior = spec.behavior_for(observed.fields)
            if behavior is Behavior.OUTPUT:
                # Fixed at creation on this live resource, and not worth a replacement.
                if spec.path == "labels":  # protect is then read from the manifest
                    before = {k: v for k, v in before.items() if k != ownership.LABEL_PROTECT}
                    after = {k: v for k, v in after.items() if k != ownership.LABEL_PROTECT}
                if before != after:
                    note = (
                        f"{desired.key.address}: {self.word(kind, spec.path)} cannot change "
                        f"after creation here; not applied ({_short(before)} -> {_short(after)})"
                    )
                    if fixed is None:
                        self.warn(desired.key, note)
                    else:
                        fixed.append(note)
                continue
            changes.append(
                FieldChange(
                    spec.path,
                    before,
                    after,
                    forces_replacement=behavior is Behavior.REPLACE,
                    mask=spec.mask,
                    drift=spec.path in live,
                )
            )
        return changes

    def labels_fixed(self, resource: ObservedResource) -> bool:
        """The live resource's labels cannot change (its kind makes them output-only there)."""
        kind = self.model.get(resource.key.kind)
        spec = kind.spec("labels") if kind is not None else None
        return spec is not None and spec.behavior_for(resource.fields) is Behavior.OUTPUT

    def word(self, kind: ResourceKind, path: str) -> str:
        """A field as the manifest names it (the vocabulary's key), for messages."""
        return self.model.vocabulary.key(kind.name, path) or path

    def only_if(self, kind: ResourceKind, spec: FieldSpec) -> str:
        """`machine_type is n1-*`: where a field patchable only on some resources is."""
        only = spec.patch_only_if
        if only is None:
            return ""
        shown = " or ".join(p + "*" for p in only.prefixes)
        return f"patchable only if {self.word(kind, only.path)} is {shown}"

    def forcing(self, kind: ResourceKind, changes: Iterable[FieldChange]) -> str:
        """The fields forcing a replacement; one patchable only on some resources says where."""
        out = []
        for c in changes:
            if c.forces_replacement:
                spec = kind.spec(c.path)
                only = self.only_if(kind, spec) if spec and spec.behavior is Behavior.PATCH else ""
                word = self.word(kind, c.path)
                out.append(f"{word} ({only})" if only else word)
        return ", ".join(out)


@dataclass(frozen=True)
class _Removal:
    """A live instance that goes: deleted, or replaced delete-then-create."""

    slot: Slot
    observed: ObservedResource
    reason: Reason
    replace: bool = False

    @property
    def key(self) -> ResourceKey:
        return self.observed.key

    @property
    def superseded(self) -> bool:
        """The old instance of an identity whose replacement takes over its name."""
        return self.reason.why in (Why.SUPERSEDED, Why.LEFTOVER)


@dataclass
class _Reroute:
    routing: Routing
    action: str
    after: dict[str, int]
    """The routed value once it runs (names -> weights)."""


class GroupPlanner:
    """Plans one group: each resource's fate first, then actions with their dependencies.

    Action ids are known before the actions are built (`_id`), so each rule adds its edges
    without caring in which order the actions are made; `_listed` orders them at the end.
    """

    def __init__(self, b: Builder, group: Group) -> None:
        self.b = b
        self.g = group
        self.model = b.model
        self.pending: list[Action] = []
        self.removals: list[_Removal] = []
        self.reroutes: dict[str, _Reroute] = {}
        self.drains: list[tuple[Routing, ObservedResource, str, set[str]]] = []
        """(routing, the old instance of a root replaced create-then-delete, its drain's id, the
        names it routed to)."""
        self.cleared: dict[str, str] = {}
        """Duplicate roots' idents -> the reroute that takes everything off them."""
        self.extra: dict[str, list[str]] = {}
        """Further dependencies of an action, by id, found while deciding the removals."""
        self.failed = False
        self.reset = False
        """Everything under the roots goes first (a root replaced delete-then-create)."""
        self.roots = [s for k in self.model.roots for s in self.g.of(k.name)]
        self.live_routes = {r.path: self.observed_route(r) for r in self.model.routings}
        """The routings as they are before anything is planned."""

    # ---- the group as a whole ---------------------------------------------------------------

    def plan(self) -> None:
        for s in self.roots:
            if self.b.held_elsewhere(s.observed, declared=s.desired is not None):
                return
        if any(s.desired is not None for s in self.roots):
            self.declared()
        else:
            self.prune()
        if self.failed:
            return
        actions = {}
        for action in self.pending:
            extra = self.extra.get(action.id, [])
            deps = tuple(sorted({*action.depends_on, *extra} - {action.id}))
            after = tuple(sorted(set(action.ordered_after) - set(deps)))
            actions[action.id] = _with_deps(action, deps, after)
        # An action whose dependency was refused (an error says why) is left out with it.
        while True:
            missing = [i for i, a in actions.items() if not set(a.depends_on) <= actions.keys()]
            if not missing:
                break
            for i in missing:
                del actions[i]
        for action in _reduced(list(actions.values())):
            known = tuple(d for d in action.ordered_after if d in actions)
            self.b.add(_with_deps(action, action.depends_on, known))

    def error(self, key: ResourceKey, message: str) -> None:
        self.b.error(key, message)

    @property
    def protected(self) -> bool:
        return any(
            (s.desired is not None and s.desired.protect)
            or (
                s.observed is not None
                and ownership.protected(s.observed.labels)
                and not self.b.labels_fixed(s.observed)  # then the manifest says, while declared
            )
            for s in self.roots
        )

    def nonroot(self) -> list[Slot]:
        return [s for k in self.model.kinds if k.parent is not None for s in self.g.of(k.name)]

    def ordered(self) -> list[Slot]:
        return [s for k in self.model.kinds for s in self.g.of(k.name)]

    def child_noun(self, kind: ResourceKind) -> str:
        children = self.model.children(kind.name)
        return children[0].name if children else "resource"

    # ---- a model no longer declared ---------------------------------------------------------

    def prune(self) -> None:
        key = self.g.key
        declared = self.b.options.declared_protect.get(key)
        if declared:  # a destroy: the manifests still declare it, protected
            self.error(
                key,
                f"{key.address} is protected (protect: true in the manifests): set protect: "
                "false and apply before destroying it",
            )
            self.failed = True
            return
        for s in self.roots:
            o = s.observed
            if declared is None and o is not None and ownership.protected(o.labels):
                how = (
                    "its labels are fixed at creation here, so the protection cannot be lifted: "
                    + self.model.vocabulary.unprotect
                    if self.b.labels_fixed(o)
                    else "set protect: false and apply before removing it from the manifests"
                )
                self.error(
                    key, f"{key.address} is protected (protect: true) but no longer declared: {how}"
                )
                self.failed = True
                return
        live = [o for s in self.nonroot() for o in (s.observed, *s.old) if o is not None]
        foreign = [o for o in live if not self.b.ours(o)]
        for o in foreign:
            self.b.ignore(o)
        if foreign:
            kinds = dict.fromkeys(f"{o.key.kind}s" for o in foreign)
            names = ", ".join(sorted(o.key.address for o in foreign))
            self.error(
                key,
                f"cannot delete {key.address}: it holds {', '.join(kinds)} this stack does not "
                f"manage ({names}); delete or adopt them first",
            )
            self.failed = True
            return
        for s in self.nonroot():
            parent = self.model.get(s.kind.parent or "")
            if parent is not None and parent.cascade:
                continue  # deleting the parent deletes it
            self.remove_everything(s)
        for s in self.roots:
            s.fate = Fate.REMOVE
            for o in (s.observed, *s.old):
                if o is None:
                    continue
                if self.b.ours(o):
                    self.removals.append(_Removal(s, o, self.root_gone(s)))
                else:
                    self.b.ignore(o)
        self.route_all()
        self.drain_all()
        self.remove_all()

    def remove_everything(self, s: Slot) -> None:
        s.fate = Fate.REMOVE
        for o in (s.observed, *s.old):
            if o is not None:
                self.removals.append(_Removal(s, o, self.model_gone(s, o)))

    def model_gone(self, s: Slot, o: ObservedResource) -> Reason:
        last = next(
            (
                r
                for r in self.model.routings
                if r.required and r.target == s.kind.name and self.routed(r, o)
            ),
            None,
        )
        if last is not None:
            return Reason(Why.MODEL_GONE, noun=last.name, last=True)
        return Reason(Why.MODEL_GONE, noun=s.kind.name)

    def root_gone(self, s: Slot) -> Reason:
        vocabulary = self.model.vocabulary
        if s.key.part:  # a root beside the model, holding children of its own
            verb = vocabulary.verb(self.child_noun(s.kind), "delete")
            return Reason(Why.MODEL_GONE, noun=s.kind.name, subject=verb)
        count, subject = 0, ""
        if s.kind.cascade:
            for child in self.model.children(s.kind.name):
                for c in self.g.of(child.name):
                    count += (c.observed is not None) + len(c.old)
                subject = vocabulary.noun(child.name)
        return Reason(Why.UNDECLARED, noun=s.kind.name, count=count, subject=subject)

    # ---- a declared model -------------------------------------------------------------------

    def declared(self) -> None:
        for s in self.roots:
            if s.desired is None:
                continue
            for o in s.old:  # a duplicate left by an interrupted create, or someone else's
                if self.b.ours(o):
                    self.removals.append(_Removal(s, o, Reason(Why.LEFTOVER, noun=s.kind.name)))
                else:
                    self.b.ignore(o)
            if s.observed is None:
                s.fate = Fate.CREATE
                continue
            fixed: list[str] = []
            s.changes = self.b.field_changes(s.desired, s.observed, fixed)
            if any(c.forces_replacement for c in s.changes):
                if not self.replace_root(s):
                    self.failed = True
                    return
                continue  # the replacement is created with every field as declared
            if s.changes:
                s.fate = Fate.UPDATE
            for note in fixed:
                self.b.warn(s.key, note)
            self.protect_follows(s)
        for s in self.nonroot():
            if s.fate is Fate.KEEP:
                self.classify(s)
        self.renew_children()
        self.propagate()
        self.resume()
        for s in self.nonroot():
            self.collect_removals(s)
        for s in self.roots:
            if self.replaced_first(s) and s.observed is not None:
                self.removals.append(
                    _Removal(s, s.observed, Reason(Why.SUPERSEDED, noun=s.kind.name))
                )
        self.build()
        self.route_all()
        self.drain_all()
        self.remove_all()

    def protect_follows(self, s: Slot) -> None:
        """Where the service fixes labels at creation the declared `protect` cannot reach the
        live resource: it holds while the model is declared (plans and destroy read the
        manifests), and the plan says so once."""
        o, d = s.observed, s.desired
        if o is None or d is None or not self.b.labels_fixed(o):
            return
        live = ownership.protected(o.labels)
        if live == d.protect:
            return
        if d.protect:
            self.b.warn(
                s.key,
                f"{s.key.address}: protect: true holds while it is declared, but its labels are "
                "fixed at creation here, so removed from the manifests it would not be protected",
            )
        else:
            self.b.warn(
                s.key,
                f"{s.key.address}: protect: false holds while it is declared (destroy deletes it), "
                "but its labels are fixed at creation here, so removed from the manifests it "
                "stays protected",
            )

    def replace_root(self, s: Slot) -> bool:
        """A root whose fields cannot change in place: everything under it goes first, then it
        is replaced, then its children are created again (delete-then-create); or its new
        instance comes first, its children are created there and routed to, and the old
        instance is drained and goes with its children last (create-then-delete). False when
        that is refused."""
        key = s.key
        forcing = ", ".join(self.b.word(s.kind, c.path) for c in s.changes if c.forces_replacement)
        if s.kind.replace is Strategy.CREATE_THEN_DELETE:
            return self.renew_root(s, forcing)
        if self.protected:
            self.error(
                key,
                f"{key.address} must be replaced ({forcing} cannot change in place) but it is "
                "protected (protect: true)",
            )
            return False
        noun = self.child_noun(s.kind)
        live = any(x.observed is not None or x.old for x in self.nonroot())
        if live and not self.b.options.allow_downtime:
            self.error(
                key,
                f"{key.address} must be replaced ({forcing} cannot change in place), which "
                f"deletes all its {noun}s first: deploy under a new model name, or pass "
                "--allow-downtime",
            )
            return False
        foreign = sorted(
            x.version or x.key.address
            for x in self.nonroot()
            if x.observed is not None and not self.b.ours(x.observed)
        )
        if foreign:
            self.error(
                key,
                f"cannot replace {key.address}: it holds {noun}s this stack does not manage "
                f"({', '.join(foreign)})",
            )
            return False
        s.fate = Fate.REPLACE
        self.reset = True
        for x in self.nonroot():
            self.remove_everything(x)
            x.observed, x.old = None, []
            x.fate = Fate.CREATE if x.desired is not None else Fate.KEEP
        return True

    def renew_root(self, s: Slot, forcing: str) -> bool:
        """Replace a root create-then-delete: refused for a protected model, for children of
        another stack (they would be left on the old instance), and for children that cannot
        be created beside their old instance."""
        key = s.key
        if self.protected:
            self.error(
                key,
                f"{key.address} must be replaced ({forcing} cannot change in place) but it is "
                "protected (protect: true)",
            )
            return False
        children = self.model.children(s.kind.name)
        fixed = [k.name for k in children if k.replace is not Strategy.CREATE_THEN_DELETE]
        if fixed:
            self.error(
                key,
                f"{key.address} must be replaced ({forcing} cannot change in place), and its "
                f"{', '.join(fixed)}s cannot be created beside the old ones",
            )
            return False
        foreign = sorted(
            x.version or x.key.address
            for k in children
            for x in self.g.of(k.name)
            if x.observed is not None and not self.b.ours(x.observed)
        )
        if foreign:
            noun = self.child_noun(s.kind)
            self.error(
                key,
                f"cannot replace {key.address}: it holds {noun}s this stack does not manage "
                f"({', '.join(foreign)})",
            )
            return False
        s.fate = Fate.REPLACE
        if s.kind.replace_caveat:
            vocabulary = self.model.vocabulary
            named = ", ".join(
                vocabulary.key(s.kind.name, c.path) or c.path
                for c in s.changes
                if c.forces_replacement
            )
            self.b.warn(
                key, f"{key.address} is replaced (forced by: {named}): {s.kind.replace_caveat}"
            )
        return True

    def renew_children(self) -> None:
        """The children of a root replaced create-then-delete are created again under its new
        instance, then the old ones go with the old root."""
        for root in self.roots:
            if not self.replaced_first(root):
                continue
            ident = root.observed.ident if root.observed is not None else ""
            noun = self.model.vocabulary.noun(root.kind.name)
            for kind in self.model.children(root.kind.name):
                for c in self.g.of(kind.name):
                    if c.desired is None or c.observed is None:
                        continue
                    if c.fate not in (Fate.KEEP, Fate.UPDATE, Fate.REPLACE):
                        continue
                    if not any(x.path == root.kind.name for x in c.changes):
                        moved = FieldChange(
                            root.kind.name, ident or None, f"(new {noun})", forces_replacement=True
                        )
                        c.changes = [moved, *c.changes]
                    c.fate = Fate.REPLACE

    def classify(self, s: Slot) -> None:
        d, o = s.desired, s.observed
        if self.b.held_elsewhere(o, declared=d is not None):
            s.fate = Fate.SKIP
            return
        if d is None:
            if o is not None:
                s.fate = Fate.REMOVE
            return
        if o is None:
            s.fate = Fate.CREATE
            return
        if o.state.transitional:
            s.fate = Fate.WAIT
            if o.state is not State.DELETING:
                self.b.warn(
                    s.key,
                    f"{s.key.address} is {o.state.value}: apply waits for it; "
                    "run plan again afterwards to see any remaining changes",
                )
            return
        if o.state is State.FAILED:
            failed = FieldChange("state", "FAILED", "READY", forces_replacement=True)
            fields = [replace(c, drift=False) for c in self.b.field_changes(d, o)]
            s.changes = [failed, *fields]
            s.fate = Fate.REPLACE
            message = f": {o.error_message}" if o.error_message else ""
            self.b.warn(s.key, f"{s.key.address} is FAILED{message}; it will be replaced")
            return
        s.changes = self.b.field_changes(d, o)
        if any(c.forces_replacement for c in s.changes):
            s.fate = Fate.REPLACE
        elif s.changes:
            s.fate = Fate.UPDATE

    def propagate(self) -> None:
        """A resource referring to one replaced create-then-delete is replaced with it."""
        for s in self.nonroot():
            if s.desired is None or s.observed is None:
                continue
            if s.fate not in (Fate.KEEP, Fate.UPDATE, Fate.REPLACE):
                continue
            for ref in s.kind.references:
                target = None if ref.shared else self.g.get(ref.kind, s.version)
                if target is None or not self.replaced_first(target):
                    continue
                before = target.observed.ident if target.observed is not None else ""
                if ref.follows is not None and ref.follows.holds(s.desired.fields):
                    forcing = self.b.forcing(s.kind, s.changes)
                    if not forcing:
                        followed = FieldChange(
                            ref.path, before or None, ref.followed, mask=ref.mask
                        )
                        s.changes = [followed, *s.changes]
                        s.fate = Fate.UPDATE
                        s.follows.append(_id(self.replace_kind(target), target.key))
                        continue
                    self.b.warn(
                        s.key,
                        f"{s.key.address}: {forcing} cannot change in place, so it is replaced "
                        f"beside the old one rather than moved {ref.followed}",
                    )
                renewed = FieldChange(
                    ref.path, before or None, ref.renewed, forces_replacement=True
                )
                s.changes = [renewed, *s.changes]
                s.fate = Fate.REPLACE

    def replaced_first(self, s: Slot) -> bool:
        return s.fate is Fate.REPLACE and s.kind.replace is Strategy.CREATE_THEN_DELETE

    def resume(self) -> None:
        """Old instances that already are the replacement (an interrupted apply): kept, and the
        provider's create adopts them instead of creating again."""
        for s in self.nonroot():
            if not self.replaced_first(s) or s.desired is None:
                continue
            spec = ownership.spec_hash(s.desired)
            for o in sorted(s.old, key=lambda r: _number(r.key.instance)):
                if o.labels.get(ownership.LABEL_SPEC) == spec:
                    s.resumed = o
            if s.resumed is not None:
                s.kept.add(s.resumed.key.instance)
        for s in self.nonroot():
            if s.desired is None:
                continue
            for ref in s.kind.references:
                target = None if ref.shared else self.g.get(ref.kind, s.version)
                if target is None or target.resumed is None:
                    continue
                for o in s.old:
                    if o.ref == target.resumed.ident and not self.b.field_changes(s.desired, o):
                        s.kept.add(o.key.instance)

    def collect_removals(self, s: Slot) -> None:
        if s.fate is Fate.SKIP:
            return
        o = s.observed
        if s.fate is Fate.REMOVE and o is not None:
            self.removals.append(_Removal(s, o, self.undeclared(s)))
        elif s.fate is Fate.REPLACE and o is not None:
            if s.kind.replace is Strategy.CREATE_THEN_DELETE:
                self.removals.append(_Removal(s, o, Reason(Why.SUPERSEDED, noun=s.kind.name)))
            else:
                self.removals.append(_Removal(s, o, self.forced(s), replace=True))
        for old in s.old:
            if old.key.instance in s.kept:
                continue
            if self.b.ours(old):
                self.removals.append(_Removal(s, old, Reason(Why.LEFTOVER, noun=s.kind.name)))
            else:
                self.b.ignore(old)

    def undeclared(self, s: Slot) -> Reason:
        for ref in s.kind.references:
            if ref.shared:
                continue
            target = self.g.get(ref.kind, s.version)
            if target is None or target.desired is None:
                return Reason(Why.REFERENCE_GONE, noun=s.kind.name, subject=ref.kind)
            note = (self.model.vocabulary.unserved or {}).get(s.kind.name, "")
            return Reason(
                Why.UNSERVED, noun=s.kind.name, note=note or f"not declared for its {ref.kind}"
            )
        return Reason(Why.UNDECLARED, noun=s.kind.name)

    def forced(self, s: Slot) -> Reason:
        failed = s.observed is not None and s.observed.state is State.FAILED
        notes = []
        for c in s.changes:
            spec = s.kind.spec(c.path) if c.forces_replacement else None
            if spec is not None and spec.behavior is Behavior.PATCH and spec.patch_only_if:
                notes.append(self.b.only_if(s.kind, spec))
        if s.kind.replace is Strategy.CREATE_THEN_DELETE:
            notes.append(s.kind.replace_note or "the new one serves before the old goes")
        return Reason(
            Why.FAILED if failed else Why.FORCED,
            paths=tuple(c.path for c in s.changes if c.forces_replacement),
            noun=s.kind.name,
            note="; ".join(dict.fromkeys(notes)),
        )

    # ---- builds: creates, create-then-delete replacements, updates, waits --------------------

    def build(self) -> None:
        for s in self.ordered():
            if s.fate is Fate.CREATE:
                s.ready = _id(ActionKind.CREATE, s.key)
            elif s.fate is Fate.REPLACE:
                s.ready = _id(self.replace_kind(s), s.key)
            elif s.fate is Fate.UPDATE:
                s.updated = _id(ActionKind.UPDATE, s.key)
            elif s.fate is Fate.WAIT:
                assert s.observed is not None
                s.wait = _id(ActionKind.WAIT, s.key)
                deleting = s.observed.state is State.DELETING
                s.ready = _id(ActionKind.CREATE, s.key) if deleting else s.wait
        for s in self.ordered():
            self.build_one(s)

    def replace_kind(self, s: Slot) -> ActionKind:
        if s.kind.replace is Strategy.CREATE_THEN_DELETE:
            return ActionKind.CREATE_THEN_DELETE
        return ActionKind.DELETE_THEN_CREATE

    def parent_ready(self, s: Slot) -> list[str]:
        p = self.g.get(s.kind.parent, None) if s.kind.parent else None
        if p is None or p.kind.founded_by == s.kind.name or p.ready is None:
            return []
        return [p.ready]

    def references_ready(self, s: Slot) -> list[str]:
        out = []
        for ref in s.kind.references:
            target = None if ref.shared else self.g.get(ref.kind, s.version)
            if target is not None and target.ready is not None:
                out.append(target.ready)
        return out

    def founder(self, s: Slot) -> list[str]:
        """A new parent comes with its first child: the others are created after that one."""
        parent = self.g.get(s.kind.parent, None) if s.kind.parent else None
        if parent is None or parent.kind.founded_by != s.kind.name:
            return []
        if parent.fate is not Fate.CREATE:
            return []
        first = next((x for x in self.g.of(s.kind.name) if x.fate is Fate.CREATE), None)
        return [first.ready] if first is not None and first is not s and first.ready else []

    def build_one(self, s: Slot) -> None:
        d, o = s.desired, s.observed
        if s.fate is Fate.WAIT:
            assert o is not None and s.wait is not None
            self.pending.append(self.wait(s.wait, s.key, s.kind, o))
            if o.state is not State.DELETING or d is None:
                return
        if s.fate in (Fate.CREATE, Fate.WAIT):
            assert d is not None
            self.pending.append(self.creation(s, d))
        elif s.fate is Fate.UPDATE:
            assert d is not None and o is not None
            self.caveats(s)
            self.pending.append(
                Action(
                    _id(ActionKind.UPDATE, s.key),
                    ActionKind.UPDATE,
                    s.key,
                    Reason(Why.CHANGED, paths=tuple(c.path for c in s.changes), noun=s.kind.name),
                    changes=tuple(s.changes),
                    depends_on=tuple(s.follows),
                    desired=d.fields,
                    labels=d.labels,
                    drift=any(c.drift for c in s.changes),
                )
            )
        elif s.fate is Fate.REPLACE and s.root:
            self.pending.append(self.replacement(s, []))  # after every removal: remove_all
        elif self.replaced_first(s):
            deps = [*self.parent_ready(s), *self.references_ready(s)]
            self.pending.append(self.replacement(s, deps))

    def caveats(self, s: Slot) -> None:
        """Warn of what an in-place change means beyond its values (the kind says)."""
        vocabulary = self.model.vocabulary
        for c in s.changes:
            spec = s.kind.spec(c.path)
            if spec is not None and spec.caveat and not c.forces_replacement:
                name = vocabulary.key(s.kind.name, c.path) or c.path
                self.b.warn(s.key, f"{s.key.address}: {name} changes: {spec.caveat}")

    def wait(
        self, action_id: str, key: ResourceKey, kind: ResourceKind, o: ObservedResource
    ) -> Action:
        reason = Reason(Why.BUSY, noun=kind.name, state=o.state.value)
        return Action(action_id, ActionKind.WAIT, key, reason)

    def creation(self, s: Slot, d: DesiredResource) -> Action:
        deps = [*self.parent_ready(s), *self.references_ready(s), *self.founder(s)]
        reason = Reason(Why.DECLARED, noun=s.kind.name)
        if s.fate is Fate.WAIT:
            deps.append(s.wait or "")
            reason = Reason(Why.RECREATED, noun=s.kind.name)
        if s.kind.founded_by is not None and s.observed is None:
            deps += [x.ready for x in self.g.of(s.kind.founded_by) if x.ready]
            verb = self.model.vocabulary.verb(s.kind.founded_by, "create")
            reason = Reason(Why.FOUNDED, noun=s.kind.name, subject=verb)
        hidden = {r.path for r in self.model.routings if r.router == s.kind.name and not r.flagged}
        return Action(
            _id(ActionKind.CREATE, s.key),
            ActionKind.CREATE,
            s.key,
            reason,
            changes=tuple(_creation(s.kind, d, hidden)),
            depends_on=tuple(x for x in deps if x),
            desired=d.fields,
            labels=d.labels,
            artifact_source=d.artifact_source,
        )

    def replacement(self, s: Slot, deps: list[str]) -> Action:
        d, o = s.desired, s.observed
        assert d is not None
        kind = self.replace_kind(s)
        drift = any(c.drift for c in s.changes)
        return Action(
            _id(kind, s.key),
            kind,
            s.key,
            self.forced(s),
            changes=tuple(s.changes),
            depends_on=tuple(deps),
            desired=d.fields,
            labels=d.labels,
            artifact_source=d.artifact_source,
            drift=drift,
            serving=self.serving(s.kind, o),
        )

    # ---- routings ---------------------------------------------------------------------------

    def observed_route(self, r: Routing) -> dict[str, int]:
        """The live value of a routing: target names (with `#instance` for old instances of a
        routing by instance) -> weights, positive ones only."""
        if r.flagged:
            out = {}
            for s in self.g.of(r.target):
                for o in (s.observed, *s.old):
                    if o is not None and o.is_default:
                        out[o.key.version or ""] = 100
            return out
        router = self.g.get(r.router, None)
        if router is None or router.observed is None:
            return {}
        value = router.observed.fields.get(r.path) or {}
        return {str(k): int(v) for k, v in dict(value).items() if v}

    def desired_route(self, r: Routing) -> dict[str, int] | None:
        router = self.g.get(r.router, None)
        if router is None or router.desired is None:
            return None
        if r.flagged:
            declared = [s for s in self.g.of(r.target) if s.desired is not None]
            chosen = [s for s in declared if s.desired is not None and s.desired.is_default]
            if not chosen and len(declared) == 1:
                chosen = declared
            return {chosen[0].version or "": 100} if chosen else None
        value = router.desired.fields.get(r.path) or {}
        return {str(k): int(v) for k, v in dict(value).items()}

    def serving(self, kind: ResourceKind, o: ObservedResource | None) -> bool:
        """Whether a routing that serves requests routes to `o` as the plan begins."""
        return o is not None and any(
            self.routed(r, o) for r in self.model.routings if r.serves and r.target == kind.name
        )

    def routed(self, r: Routing, o: ObservedResource) -> bool:
        """Whether `o` was routed to when the plan began."""
        name = o.key.version or ""
        if o.key.instance and not r.flagged:
            name = f"{name}#{o.key.instance}"
        return self.live_routes.get(r.path, {}).get(name, 0) > 0

    def route_all(self) -> None:
        serving: list[str] = []
        for r in self.model.routings:
            router = self.g.get(r.router, None)
            if router is None or router.fate is Fate.SKIP:
                continue
            reroute = self.route(r, router, serving if not r.serves else [])
            if reroute is not None:
                self.reroutes[r.path] = reroute
                if r.serves:
                    serving.append(reroute.action)

    def route_drifted(self, router: Slot, before: Mapping[str, int]) -> bool:
        """The live route is not the one deployer last set (its `deployer-route` record): it
        was changed outside deployer. No record, nothing claimed."""
        o = router.observed
        record = o.labels.get(ownership.LABEL_ROUTE) if o is not None else None
        return bool(record) and record != ownership.route_hash(before)

    def route(self, r: Routing, router: Slot, after_serving: list[str]) -> _Reroute | None:
        before = {} if self.replaced_first(router) else self.observed_route(r)
        after = self.desired_route(r)
        drift = bool(before) and self.route_drifted(router, before)
        if after is None:
            if r.split and before and router.observed is not None:
                return self.add_reroute(r, router.key, before, {}, [], Why.REROUTED, drift=drift)
            return None
        deps = [*after_serving, *self.router_ready(router)]
        if not r.split:
            (want,) = after
            targets = self.g.of(r.target)
            live = [o for s in targets for o in (s.observed, *s.old) if o is not None]
            declared = [s for s in targets if s.desired is not None]
            if sorted(before) == [want]:
                return None
            if r.automatic and not live and len(declared) <= 1:
                return None
            slot = self.g.get(r.target, want)
            assert slot is not None
            return self.add_reroute(r, slot.key, before, after, deps, Why.REROUTED, drift=drift)
        fresh = r.by_instance and any(
            x.fate in (Fate.CREATE, Fate.REPLACE)
            for x in (self.g.get(r.target, name) for name in after)
            if x is not None
        )
        if after == before and not fresh:
            return None
        if not self.bystanders_agree(r, router, before):
            return None
        return self.add_reroute(r, router.key, before, after, deps, Why.REROUTED, drift=drift)

    def drain_all(self) -> None:
        """The old instance of a root replaced create-then-delete routes nothing before what it
        routes to is removed: its split is emptied once the new instance routes as declared.
        (An old instance the reads already name by its id, one left by an interrupted
        replacement or create, is cleared by `clear_duplicates`.)"""
        for r in self.model.routings:
            router = self.g.get(r.router, None)
            if not r.split or router is None or router.fate is Fate.SKIP:
                continue
            for removal in self.removals:
                o = removal.observed
                if removal.slot is not router or removal.replace:
                    continue
                if o is not router.observed or not self.replaced_first(router):
                    continue
                value = {str(k): int(v) for k, v in dict(o.fields.get(r.path) or {}).items() if v}
                if not value:
                    continue
                current = self.reroutes.get(r.path)
                deps = [current.action] if current is not None else self.router_ready(router)
                key = o.key if o.key.instance or not o.ident else o.key.with_instance(o.ident)
                drain = self.add_reroute(r, key, value, {}, deps, Why.REROUTED)
                self.drains.append((r, o, drain.action, set(value)))

    def drain_for(self, r: Routing, o: ObservedResource) -> str | None:
        """The drain of the going router instance that routes to `o`, if any."""
        name = o.key.version or ""
        if o.key.instance and not r.flagged:
            name = f"{name}#{o.key.instance}"
        return next(
            (a for rr, _, a, names in self.drains if rr is r and name in names),
            None,
        )

    def bystanders_agree(self, r: Routing, router: Slot, before: Mapping[str, int]) -> bool:
        """A split that routes to something this stack does not manage cannot follow the
        manifests without taking that traffic away: refused, naming it (issue 19)."""
        held = []
        for name, weight in sorted(before.items()):
            slot = self.g.get(r.target, name.split("#", 1)[0])
            if slot is not None and slot.fate is Fate.SKIP:
                held.append(f"{weight}% to {slot.key.address}")
        if not held:
            return True
        self.error(
            router.key,
            f"{router.key.address} routes {', '.join(held)}, which this stack does not manage: "
            f"setting its {r.name} as the manifests declare would take that away; give it 0% "
            "(or remove it) by hand, then plan again",
        )
        return False

    def router_ready(self, router: Slot) -> list[str]:
        return [router.ready] if router.ready else []

    def target_deps(self, r: Routing, names: Iterable[str]) -> tuple[list[str], list[str]]:
        """What a reroute to `names` waits for: (must succeed, must only have finished)."""
        deps: list[str] = []
        ordered: list[str] = []
        for name in names:
            s = self.g.get(r.target, name)
            if s is None:
                continue
            if s.ready:
                deps.append(s.ready)
            if s.updated:
                (deps if r.gated else ordered).append(s.updated)
        return deps, ordered

    def add_reroute(
        self,
        r: Routing,
        key: ResourceKey,
        before: Mapping[str, int],
        after: Mapping[str, int],
        deps: list[str],
        why: Why,
        suffix: str = "",
        subject: str = "",
        drift: bool = False,
    ) -> _Reroute:
        wait_for, ordered = self.target_deps(r, after)
        router = self.g.get(r.router, None)
        if router is not None and router.updated and not key.instance:
            ordered.append(router.updated)  # both write the router: one after the other
        was: Any
        now: Any
        if r.split:
            was, now = dict(before) or None, dict(after) or None
        else:
            was, now = ", ".join(sorted(before)) or None, next(iter(after), None)
        action_id = _id(ActionKind.REROUTE, key, suffix)
        reason = Reason(why, subject=subject or r.name, noun=r.name, before=was, after=now)
        self.pending.append(
            Action(
                action_id,
                ActionKind.REROUTE,
                key,
                reason,
                changes=(FieldChange(r.path, was, now, drift=drift),),
                depends_on=tuple([*deps, *wait_for]),
                ordered_after=tuple(ordered),
                desired={r.path: dict(after) if r.split else now},
                route=Route(r.path, r.name, split=r.split, serves=r.serves, target=r.target),
                drift=drift,
            )
        )
        return _Reroute(r, action_id, dict(after))

    # ---- removals ---------------------------------------------------------------------------

    def delete_key(self, removal: _Removal) -> ResourceKey:
        """The instance a delete targets: after a create-then-delete replacement a new current
        instance carries the same name, so the old one is named by its identity."""
        o = removal.observed
        if o.key.instance or removal.slot.kind.replace is not Strategy.CREATE_THEN_DELETE:
            return o.key
        if removal.slot.root and not removal.superseded:
            return o.key  # a root that goes for good: no successor takes its name
        return o.key.with_instance(o.ident) if o.ident else o.key

    def removal_id(self, removal: _Removal) -> str:
        if removal.replace:
            return _id(ActionKind.DELETE_THEN_CREATE, removal.key)
        if removal.observed.state is State.DELETING:
            return _id(ActionKind.WAIT, removal.key)
        return _id(ActionKind.DELETE, self.delete_key(removal))

    def clear_duplicates(self) -> None:
        """A duplicate of a root (an interrupted create, two stacks racing) that is this stack's
        goes: what it routes first, then what it holds, then itself. One holding something
        this stack does not manage stays, with an error naming what to remove."""
        kept = []
        for removal in self.removals:
            o = removal.observed
            if not (removal.slot.root and o.key.instance):
                kept.append(removal)
                continue
            foreign = [
                x.key.address
                for s in self.nonroot()
                for x in (s.observed, *s.old)
                if x is not None and x.within == o.ident and not self.b.ours(x)
            ]
            if foreign:
                self.error(
                    o.key,
                    f"{o.key.address} duplicates {removal.slot.key.address} and holds "
                    f"{', '.join(sorted(foreign))}, which this stack does not manage: remove "
                    "them from it by hand, then plan again",
                )
                continue
            for r in self.model.routings:
                weights = dict(o.fields.get(r.path) or {}) if r.router == o.key.kind else {}
                if r.split and any(weights.values()):
                    routed = {str(k): int(v) for k, v in weights.items() if v}
                    # once the current instance routes as declared (a replacement's old
                    # instance keeps serving its clients until the new one does)
                    current = self.reroutes.get(r.path)
                    router = removal.slot
                    after = [current.action] if current is not None else self.router_ready(router)
                    reroute = self.add_reroute(r, o.key, routed, {}, after, Why.REROUTED)
                    self.cleared[o.ident] = reroute.action
            kept.append(removal)
        self.removals = kept

    def remove_all(self) -> None:
        self.clear_duplicates()
        gone = {id(r): self.removal_id(r) for r in self.removals}
        deps: dict[int, list[str]] = {id(r): self.removal_deps(r, gone) for r in self.removals}
        refused: set[int] = set()
        for removal in self.removals:
            if not self.route_removal(removal, deps[id(removal)], gone):
                refused.add(id(removal))
        for removal in self.removals:
            if id(removal) not in refused:
                self.emit(removal, gone[id(removal)], deps[id(removal)])
        for root in self.roots:
            if root.fate is Fate.REPLACE and root.kind.replace is Strategy.DELETE_THEN_CREATE:
                self.extra[_id(self.replace_kind(root), root.key)] = list(gone.values())

    def removal_deps(self, removal: _Removal, gone: Mapping[int, str]) -> list[str]:
        """Children go before their parent (unless it takes them along), what refers to a
        resource before it, the new instance of a replacement before the old one goes."""
        s, o = removal.slot, removal.observed
        deps = []
        if o.within in self.cleared:
            deps.append(self.cleared[o.within])
        if o.state.transitional and o.state is not State.DELETING:
            deps.append(_id(ActionKind.WAIT, o.key))
        if removal.superseded and s.ready:
            deps.append(s.ready)
        referring = {k.name for k, _ in self.model.referrers(s.kind.name)}
        children = {k.name for k in self.model.children(s.kind.name)}
        beneath = {k.name for c in children for k, _ in self.model.referrers(c)}
        for other in self.removals:
            kind = other.slot.kind.name
            if (
                (kind in referring and other.slot.version == s.version)
                or (kind in children and not s.kind.cascade)
                or kind in s.kind.deleted_after
                or (kind in beneath and s.kind.cascade)
            ):
                deps.append(gone[id(other)])
        for _, router, drain, _ in self.drains:
            if router is o:
                deps.append(drain)
        if removal.superseded:  # after the updates that moved what refers to it in place
            for k, _ in self.model.referrers(s.kind.name):
                x = self.g.get(k.name, s.version)
                if x is not None and x.updated and x.follows:
                    deps.append(x.updated)
        return deps

    def route_removal(self, removal: _Removal, deps: list[str], gone: Mapping[int, str]) -> bool:
        """Order a removal after the reroutes that take traffic off it; refuse what the routing
        rules forbid (False, with an error)."""
        o = removal.observed
        for r in self.model.routings:
            if r.target != removal.slot.kind.name:
                continue
            drain = self.drain_for(r, o)
            if drain is not None:
                deps.append(drain)
                continue
            if not self.routed(r, o):
                continue
            if removal.superseded and not r.by_instance:
                continue  # the replacement takes over its name, and the routing with it
            reroute = self.reroutes.get(r.path)
            name = o.key.version or ""
            moved = reroute is not None and (
                r.split or (name not in reroute.after and not self.reset)
            )
            if moved and reroute is not None:
                deps.append(reroute.action)
            elif not self.keep_routed(r, removal, deps, gone):
                return False
        return True

    def keep_routed(
        self, r: Routing, removal: _Removal, deps: list[str], gone: Mapping[int, str]
    ) -> bool:
        """The routed target goes while nothing routes elsewhere first: as the last target of
        a required routing, or replaced (downtime) through an interim target."""
        o = removal.observed
        key = removal.key
        verb = "replaced" if removal.replace else "deleted"
        if self.protected and not self.reset:
            self.error(
                key,
                f"{key.address} is the {r.name} of a protected model (protect: true): "
                f"it cannot be {verb}; set protect: false and apply first",
            )
            return False
        if removal.replace:
            if r.serves and not self.b.options.allow_downtime and o.state is not State.FAILED:
                forcing = self.b.forcing(removal.slot.kind, removal.slot.changes)
                self.error(
                    key,
                    f"replacing {key.address} (forced by: {forcing}) would leave model "
                    f"{self.g.key.address} without a serving version while it is recreated: "
                    "declare the change under a new version name and make it default_version, "
                    "or pass --allow-downtime",
                )
                return False
            if not r.split and self.interim(r, removal, deps):
                return True
        if not r.required:
            return True
        leaving = [x for x in self.removals if x is not removal and x.slot.kind.name == r.target]
        going = {id(x.observed) for x in leaving if not x.replace}
        others = [
            x
            for s in self.g.of(r.target)
            for x in (s.observed, *s.old)
            if x is not None and x is not o and id(x) not in going
        ]
        if others and not self.reset:
            blockers = ", ".join(sorted(x.key.version or "" for x in others))
            self.error(
                key,
                f"{key.address} cannot be {verb}: it is the {r.name} and the model keeps "
                f"versions this stack does not manage ({blockers}); the service refuses to "
                f"delete a {r.name} while others exist",
            )
            return False
        deps += [gone[id(x)] for x in leaving if not x.replace]
        return True

    def interim(self, r: Routing, removal: _Removal, deps: list[str]) -> bool:
        """Route to another declared target while the routed one is replaced (--allow-downtime);
        one needing no change is preferred. False when there is none."""
        name = removal.slot.version or ""
        candidates = sorted(
            (
                s
                for s in self.g.of(r.target)
                if s.desired is not None and s.fate is not Fate.SKIP and s.version != name
            ),
            key=lambda s: (s.ready is not None or s.updated is not None, s.version or ""),
        )
        if not candidates:
            return False
        stand_in = candidates[0].version or ""
        interim = self.add_reroute(
            r,
            candidates[0].key,
            {name: 100},
            {stand_in: 100},
            [],
            Why.INTERIM,
            suffix="#interim",
            subject=name,
        )
        deps.append(interim.action)
        back = [_id(ActionKind.DELETE_THEN_CREATE, removal.key)]
        self.add_reroute(
            r, removal.slot.key, {stand_in: 100}, {name: 100}, back, Why.RESTORED, subject=name
        )
        return True

    def emit(self, removal: _Removal, action_id: str, deps: list[str]) -> None:
        o, kind = removal.observed, removal.slot.kind
        own = tuple(d for d in deps if d != action_id)
        if removal.replace:
            self.pending.append(self.replacement(removal.slot, list(own)))
            return
        if o.state is State.DELETING:
            self.pending.append(self.wait(action_id, o.key, kind, o))
            return
        if o.state.transitional:
            self.pending.append(self.wait(_id(ActionKind.WAIT, o.key), o.key, kind, o))
        self.pending.append(
            Action(
                action_id,
                ActionKind.DELETE,
                self.delete_key(removal),
                removal.reason,
                depends_on=own,
                serving=self.serving(kind, o),
            )
        )


# ---- resources several groups use ----------------------------------------------------------

_MAKES = (ActionKind.CREATE, ActionKind.CREATE_THEN_DELETE, ActionKind.DELETE_THEN_CREATE)
_REMOVES = (ActionKind.DELETE, ActionKind.DELETE_THEN_CREATE)


def _link_shared(b: Builder, observed: list[ObservedResource]) -> None:
    """Order and check what resources of several groups share (`Reference.shared`, a pool
    several models deploy on): a resource is created after the shared one it uses, and the
    shared one goes only after every live resource using it; what cannot be ordered that
    way is refused, with everything depending on it."""
    extra: dict[str, set[str]] = {}
    refused: set[str] = set()
    for kind in b.model.kinds:
        for ref in (r for r in kind.references if r.shared):
            made: dict[tuple[str, str], str] = {}
            going: dict[tuple[str, str], Action] = {}
            for a in b.actions:
                if a.key.kind == ref.kind and not a.key.instance:
                    where = (a.key.endpoint, a.key.model)
                    if a.kind in _MAKES:
                        made[where] = a.id
                    if a.kind in _REMOVES:
                        going[where] = a
            users = [a for a in b.actions if a.key.kind == kind.name and a.kind in _MAKES]
            for a in users:
                value = (a.desired or {}).get(ref.path)
                where = (a.key.endpoint, str(value))
                if not value:
                    continue
                if where in made:
                    extra.setdefault(a.id, set()).add(made[where])
                elif where in going:
                    b.error(a.key, f"{a.key.address} uses {ref.kind} {value}, which is deleted")
                    refused.add(a.id)
            for where, gone in going.items():
                live = [
                    o
                    for o in observed
                    if o.key.kind == kind.name
                    and o.key.endpoint == where[0]
                    and str(o.fields.get(ref.path) or "") == where[1]
                ]
                for o in live:
                    removal = _removal_of(o, b.actions)
                    again = any(
                        a.key.current == o.key.current
                        and str((a.desired or {}).get(ref.path) or "") == where[1]
                        for a in users
                    )
                    if removal is None or (gone.kind is ActionKind.DELETE_THEN_CREATE and again):
                        b.error(gone.key, _shared_refusal(gone, o, b))
                        refused.add(gone.id)
                        break
                    extra.setdefault(gone.id, set()).add(removal.id)
    if not extra and not refused:
        return
    kept: dict[str, Action] = {}
    for a in b.actions:
        if a.id not in refused:
            deps = tuple(dict.fromkeys((*a.depends_on, *sorted(extra.get(a.id, ())))))
            kept[a.id] = _with_deps(a, deps, a.ordered_after)
    while True:  # what depends on a refused action goes with it (an error says why)
        missing = [i for i, a in kept.items() if not set(a.depends_on) <= kept.keys()]
        if not missing:
            break
        for i in missing:
            del kept[i]
    b.actions = list(kept.values())


def _removal_of(o: ObservedResource, actions: Iterable[Action]) -> Action | None:
    """The action of the plan that removes the live instance `o`, if any."""
    for a in actions:
        if a.kind not in _REMOVES or a.key.kind != o.key.kind:
            continue
        if a.key == o.key or (a.key.current == o.key.current and a.key.instance == o.ident):
            return a
    return None


def _shared_refusal(gone: Action, user: ObservedResource, b: Builder) -> str:
    if gone.kind is ActionKind.DELETE_THEN_CREATE:
        forcing = b.forcing(b.model.kind(gone.key.kind), gone.changes)
        return (
            f"{gone.address} must be replaced ({forcing} cannot change in place) while "
            f"{user.key.address} uses it: declare the new settings under another name, move "
            "what uses it there, then remove the old one"
        )
    return f"{gone.address} cannot be deleted: {user.key.address} still uses it"


def _with_deps(action: Action, deps: tuple[str, ...], ordered: tuple[str, ...]) -> Action:
    return replace(action, depends_on=deps, ordered_after=ordered)


def _reduced(actions: list[Action]) -> list[Action]:
    """Each action's `depends_on` without what another of its dependencies already implies:
    the same order and the same skip-on-failure, stated once."""
    deps = {a.id: set(a.depends_on) for a in actions}
    reach: dict[str, set[str]] = {}

    def closure(action_id: str) -> set[str]:
        if action_id not in reach:
            reach[action_id] = set()
            found: set[str] = set()
            for d in deps.get(action_id, ()):
                found |= {d, *closure(d)}
            reach[action_id] = found
        return reach[action_id]

    out = []
    for a in actions:
        implied = {x for d in a.depends_on for x in closure(d)}
        kept = tuple(d for d in a.depends_on if d not in implied)
        out.append(_with_deps(a, kept, a.ordered_after) if kept != a.depends_on else a)
    return out


def _number(text: str) -> tuple[int, str]:
    try:
        return (int(text), text)
    except ValueError:
        return (-1, text)


# ---- listing and targets --------------------------------------------------------------------


def _listed(actions: list[Action], model: ResourceModel) -> list[Action]:
    """Every action after its dependencies: per model, builds in the model's kind order, then
    reroutes in routing order, then removals (children first); the rest by address."""
    by_id = {a.id: a for a in actions}
    routing_rank = {r.path: i for i, r in enumerate(model.routings)}

    def priority(a: Action) -> tuple[Any, ...]:
        rank = model.rank(a.key.kind)
        if a.kind is ActionKind.REROUTE:
            phase, order = 1, routing_rank.get(a.route.path if a.route else "", 0)
        elif a.kind in (ActionKind.DELETE, ActionKind.DELETE_THEN_CREATE):
            phase, order = 2, -rank
        else:
            phase, order = 0, rank
        return (a.key.model_key.order, phase, order, a.key.order, a.id)

    waiting = {a.id: {d for d in (*a.depends_on, *a.ordered_after) if d in by_id} for a in actions}
    users: dict[str, list[str]] = {}
    for a in actions:
        for d in waiting[a.id]:
            users.setdefault(d, []).append(a.id)
    heap = [(priority(a), a.id) for a in actions if not waiting[a.id]]
    heapq.heapify(heap)
    out: list[Action] = []
    while heap:
        _, current = heapq.heappop(heap)
        out.append(by_id[current])
        for user in users.get(current, ()):
            waiting[user].discard(current)
            if not waiting[user]:
                heapq.heappush(heap, (priority(by_id[user]), user))
    if len(out) != len(actions):  # pragma: no cover - the planner never builds a cycle
        stuck = sorted(set(by_id) - {a.id for a in out})
        raise AssertionError(f"dependency cycle among {stuck}")
    return out


def _concerns(key: ResourceKey, targets: Targets) -> bool:
    """Whether an error or warning about `key` matters to a --target run.

    A model-level problem concerns every target inside that model (its versions cannot be
    planned while it stands); a version's problem concerns only that version or its model.
    """
    return not targets or any(
        key.model == model and (version is None or key.version in (None, version))
        for model, version in targets
    )


def _select_targets(actions: list[Action], targets: Targets) -> list[Action]:
    """Keep targeted actions and, transitively, the actions they depend on."""
    if not targets:
        return actions

    def targeted(a: Action) -> bool:
        return any(
            a.key.model == model and (version is None or a.key.version == version)
            for model, version in targets
        )

    by_id = {a.id: a for a in actions}
    keep: set[str] = set()
    stack = [a.id for a in actions if targeted(a)]
    while stack:
        current = stack.pop()
        if current in keep:
            continue
        keep.add(current)
        stack.extend(d for d in by_id[current].depends_on if d in by_id)
    return [
        _with_deps(a, a.depends_on, tuple(d for d in a.ordered_after if d in keep))
        if a.ordered_after
        else a
        for a in actions
        if a.id in keep
    ]
