"""The diff: a pure function from (desired, observed, schemas) to a Plan. No I/O.

Design points (DESIGN.md sections 4 and 5):

- Ownership: only resources labelled with this stack are changed; everything else is listed as
  ignored, and a declared name held by someone else is an error naming `deployer import`.
- Field behaviors come from the provider schema: a changed PATCH field becomes an update with its
  mask, a changed REPLACE field a replace (delete then create under the same name). A PATCH
  field the schema makes patchable only on some live resources (`patch_only_if`) is a REPLACE
  field on the others.
- Drift: a resource whose `deployer-spec` label equals `spec_hash(desired)` was last applied from
  the same manifest, so any difference is a live change (drift), not a manifest change.
- Ordering, encoded as `depends_on` so the executor may run anything else in parallel: a version
  is created or replaced before the default moves to it; an in-place update of a version (READY
  before and after, whether it succeeds or not) is only ordered before the move
  (`ordered_after`), so a failed update does not strand the default; the default moves before the
  version it leaves is deleted or replaced; the default is deleted only after every other
  version is gone; a model is deleted only after its versions.
- Safety: the plan never contains a call the service would refuse (deleting the default while
  other versions exist, deleting a model with versions, changing a version that is CREATING /
  UPDATING / DELETING, setting a default that is not READY). What cannot be ordered safely is a
  plan error: replacing the default that stays default (unless --allow-downtime, with an interim
  default when another declared version can serve), and deleting the model or default version
  of a protected model.
- Actions are listed in an order that respects `depends_on` (every dependency comes first).
- With --target, only targeted actions and what they depend on are kept, and only the errors
  and warnings about the targeted models and versions are reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer import catalog
from deployer.plan.model import Action, ActionKind, FieldChange, Ignored, Plan
from deployer.providers.schema import (
    Behavior,
    DesiredResource,
    ObservedResource,
    ResourceKey,
    ResourceSchema,
    State,
    Strategy,
)

COMPUTED_LABELS = frozenset({catalog.LABEL_SPEC})


@dataclass(frozen=True)
class PlanOptions:
    stack: str
    project: str
    allow_downtime: bool = False
    targets: tuple[tuple[str, str | None], ...] = ()
    """(model, version or None) pairs from --target; empty means everything."""


def spec_hash(resource: DesiredResource) -> str:
    """Short digest of the declared fields and labels, written as the `deployer-spec` label."""
    doc = {"fields": dict(resource.fields), "labels": _compared_labels(resource.labels)}
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def fingerprint(observed: Iterable[ObservedResource]) -> str:
    """Digest of the observed state a plan was computed from, to refuse stale saved plans.

    Sorted by address (a string): sorting ResourceKeys themselves compares a model's None
    version with its versions' names and raises TypeError.
    """
    doc = sorted(
        [
            r.key.address,
            dict(r.fields),
            dict(r.labels),
            str(r.state),
            r.is_default,
        ]
        for r in observed
    )
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _compared_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(labels.items()) if k not in COMPUTED_LABELS}


def _action_id(kind: ActionKind, key: ResourceKey, suffix: str = "") -> str:
    return f"{kind.value}:{key.address}{suffix}"


@dataclass
class _Builder:
    """Accumulates actions and problems while the diff walks each model."""

    options: PlanOptions
    schemas: Mapping[str, ResourceSchema]
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

    def owner(self, resource: ObservedResource) -> str | None:
        """'ours', another stack's name, or None for unmanaged."""
        if resource.labels.get(catalog.LABEL_MANAGED_BY) != catalog.LABEL_MANAGED_BY_VALUE:
            return None
        stack = resource.labels.get(catalog.LABEL_STACK, "")
        return "ours" if stack == self.options.stack else stack or "(no stack)"

    def held_elsewhere(self, resource: ObservedResource | None, declared: bool) -> bool:
        """True when a live resource is not this stack's: then it is a name clash if declared,
        else it is listed as ignored, and either way the diff leaves it alone."""
        if resource is None or self.owner(resource) == "ours":
            return False
        if declared:
            self.clash(resource)
        else:
            self.ignore(resource)
        return True

    def ignore(self, resource: ObservedResource) -> None:
        owner = self.owner(resource)
        why = "not managed by deployer" if owner is None else f"managed by stack '{owner}'"
        self.ignored.append(Ignored(resource.key.address, why))

    def clash(self, resource: ObservedResource) -> None:
        owner = self.owner(resource)
        held = "is not managed by deployer" if owner is None else f"belongs to stack '{owner}'"
        self.error(
            resource.key,
            f"{resource.key.address} is declared but the live {resource.key.kind} {held}: "
            f"adopt it with `deployer import {resource.key.address}` or choose another name",
        )

    def field_changes(
        self, desired: DesiredResource, observed: ObservedResource
    ) -> list[FieldChange]:
        schema = self.schemas[desired.key.kind]
        changes = []
        for spec in schema.compared:
            if spec.path == "labels":
                before: Any = _compared_labels(observed.labels)
                after: Any = _compared_labels(desired.labels)
            else:
                before = observed.fields.get(spec.path)
                after = desired.fields.get(spec.path)
            if before != after and spec.behavior_for(observed.fields) is Behavior.OUTPUT:
                # Fixed at creation on this live resource, and not worth a replacement.
                if spec.path == "labels":  # protect is then read from the manifest
                    before = {k: v for k, v in before.items() if k != catalog.LABEL_PROTECT}
                    after = {k: v for k, v in after.items() if k != catalog.LABEL_PROTECT}
                if before != after:
                    self.warn(
                        desired.key,
                        f"{desired.key.address}: {spec.path} cannot change after creation "
                        f"here; not applied ({_short(before)} -> {_short(after)})",
                    )
                continue
            if before != after:
                changes.append(
                    FieldChange(
                        spec.path,
                        before,
                        after,
                        forces_replacement=spec.behavior_for(observed.fields) is Behavior.REPLACE,
                        mask=spec.mask,
                    )
                )
        return changes


def _creation(desired: DesiredResource) -> tuple[FieldChange, ...]:
    changes = [FieldChange(path, None, value) for path, value in sorted(desired.fields.items())]
    changes.append(FieldChange("labels", None, _compared_labels(desired.labels)))
    return tuple(c for c in changes if c.after not in (None, "", {}, []))


def _protected(resource: ObservedResource) -> bool:
    return resource.labels.get(catalog.LABEL_PROTECT) == "true"


def _labels_fixed(b: _Builder, resource: ObservedResource) -> bool:
    """The live resource's labels cannot change (the schema makes them output-only there)."""
    schema = b.schemas.get(resource.key.kind)
    spec = schema.spec("labels") if schema is not None else None
    return spec is not None and spec.behavior_for(resource.fields) is Behavior.OUTPUT


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def diff(
    desired: Iterable[DesiredResource],
    observed: Iterable[ObservedResource],
    schemas: Mapping[str, ResourceSchema],
    options: PlanOptions,
) -> Plan:
    """Compute the plan that makes `observed` match `desired` for this stack."""
    desired_list = list(desired)
    observed_list = list(observed)
    b = _Builder(options, schemas)
    version_schema = schemas.get("version")
    if version_schema is not None and version_schema.replace is Strategy.CREATE_BEFORE_DESTROY:
        from deployer.plan import rollout

        rollout.plan_groups(b, desired_list, observed_list)
    else:
        _diff_models(b, desired_list, observed_list)
    targets = options.targets
    return Plan(
        stack=options.stack,
        project=options.project,
        actions=tuple(_select_targets(b.actions, targets)),
        ignored=tuple(sorted(set(b.ignored), key=lambda i: i.address)),
        errors=tuple(m for k, m in b.errors if _concerns(k, targets)),
        warnings=tuple(m for k, m in b.warnings if _concerns(k, targets)),
        fingerprint=fingerprint(observed_list),
    )


def _diff_models(
    b: _Builder, desired_list: list[DesiredResource], observed_list: list[ObservedResource]
) -> None:
    """Models with versions and a default version, replaced delete-then-create (ml v1)."""
    d_models = {r.key: r for r in desired_list if r.key.version is None}
    o_models = {r.key: r for r in observed_list if r.key.version is None}
    d_versions = _group_versions(desired_list)
    o_versions = _group_versions(observed_list)
    for key in sorted(d_models.keys() | o_models.keys()):
        _diff_model(
            b,
            key,
            d_models.get(key),
            o_models.get(key),
            d_versions.get(key, {}),
            o_versions.get(key, {}),
        )


def _group_versions(
    resources: Iterable[DesiredResource | ObservedResource],
) -> dict[ResourceKey, dict[str, Any]]:
    grouped: dict[ResourceKey, dict[str, Any]] = {}
    for r in resources:
        if r.key.version is not None:
            grouped.setdefault(r.key.model_key, {})[r.key.version] = r
    return grouped


def _diff_model(
    b: _Builder,
    key: ResourceKey,
    desired: DesiredResource | None,
    observed: ObservedResource | None,
    d_versions: Mapping[str, DesiredResource],
    o_versions: Mapping[str, ObservedResource],
) -> None:
    if b.held_elsewhere(observed, declared=desired is not None):
        return
    if desired is None:
        assert observed is not None
        _prune_model(b, observed, o_versions)
        return
    model_dep: tuple[str, ...] = ()
    if observed is None:
        model_dep = (
            b.add(
                Action(
                    _action_id(ActionKind.CREATE, key),
                    ActionKind.CREATE,
                    key,
                    reason="declared in manifests, not found live",
                    changes=_creation(desired),
                    desired=desired.fields,
                    labels=desired.labels,
                )
            ),
        )
        o_versions = {}
    else:
        changes = b.field_changes(desired, observed)
        if any(c.forces_replacement for c in changes):
            _replace_model(b, desired, observed, d_versions, o_versions, changes)
            return
        if changes:
            b.add(
                Action(
                    _action_id(ActionKind.UPDATE, key),
                    ActionKind.UPDATE,
                    key,
                    reason="changed: " + ", ".join(c.path for c in changes),
                    changes=tuple(changes),
                    desired=desired.fields,
                    labels=desired.labels,
                    drift=_is_drift(observed, desired),
                )
            )
    _diff_versions(b, key, desired, observed, d_versions, o_versions, model_dep)


def _is_drift(observed: ObservedResource, desired: DesiredResource) -> bool:
    """The manifest still matches what was last applied, yet the live resource differs."""
    return observed.labels.get(catalog.LABEL_SPEC) == spec_hash(desired)


def _desired_default(d_versions: Mapping[str, DesiredResource]) -> str | None:
    defaults = [name for name, r in d_versions.items() if r.is_default]
    if defaults:
        return defaults[0]
    return next(iter(d_versions)) if len(d_versions) == 1 else None


@dataclass(frozen=True)
class _Removal:
    """A live version of this stack that goes away: deleted (prune) or replaced."""

    name: str
    kind: ActionKind
    observed: ObservedResource
    desired: DesiredResource | None = None
    changes: tuple[FieldChange, ...] = ()
    after: tuple[str, ...] = ()
    """Waits for a CREATING/UPDATING version to settle: the service refuses to delete it before."""


def _diff_versions(
    b: _Builder,
    model_key: ResourceKey,
    desired_model: DesiredResource,
    observed_model: ObservedResource | None,
    d_versions: Mapping[str, DesiredResource],
    o_versions: Mapping[str, ObservedResource],
    model_dep: tuple[str, ...],
) -> None:
    live_default = next((n for n, r in o_versions.items() if r.is_default), None)
    want_default = _desired_default(d_versions)
    protected = desired_model.protect or (
        observed_model is not None
        and _protected(observed_model)
        and not _labels_fixed(b, observed_model)  # then the manifest says, while declared
    )
    ready: dict[str, str] = {}  # declared version -> action after which it is READY as declared
    gone: dict[str, str] = {}  # undeclared live version -> action after which it no longer exists
    declared: set[str] = set()  # declared versions this stack holds (or will create)
    removals: list[_Removal] = []

    for name in sorted(d_versions.keys() | o_versions.keys()):
        d = d_versions.get(name)
        o = o_versions.get(name)
        vkey = ResourceKey(model_key.endpoint, model_key.model, name)
        if b.held_elsewhere(o, declared=d is not None):
            continue
        if d is None:
            assert o is not None
            if o.state is State.DELETING:
                gone[name] = b.add(_wait(vkey, o))
                continue
            after = (b.add(_wait(vkey, o)),) if o.state.transitional else ()
            removals.append(_Removal(name, ActionKind.DELETE, o, after=after))
            continue
        declared.add(name)
        if o is None:
            reason = "declared in manifests, not found live"
            ready[name] = b.add(_create(vkey, d, reason, model_dep))
            continue
        if o.state.transitional:
            wait_id = b.add(_wait(vkey, o))
            if o.state is State.DELETING:
                reason = "live version is being deleted; it is created again afterwards"
                ready[name] = b.add(_create(vkey, d, reason, (wait_id,)))
            else:
                ready[name] = wait_id
                b.warn(
                    vkey,
                    f"{vkey.address} is {o.state.value}: apply waits for it; "
                    "run plan again afterwards to see any remaining changes",
                )
            continue
        if o.state is State.FAILED:
            failed = FieldChange("state", "FAILED", "READY", forces_replacement=True)
            changes = (failed, *b.field_changes(d, o))
            message = f": {o.error_message}" if o.error_message else ""
            removals.append(_Removal(name, ActionKind.REPLACE, o, d, changes))
            b.warn(vkey, f"{vkey.address} is FAILED{message}; it will be replaced")
            continue
        changes = tuple(b.field_changes(d, o))
        if any(c.forces_replacement for c in changes):
            removals.append(_Removal(name, ActionKind.REPLACE, o, d, changes))
        elif changes:
            ready[name] = b.add(
                Action(
                    _action_id(ActionKind.UPDATE, vkey),
                    ActionKind.UPDATE,
                    vkey,
                    reason="changed: " + ", ".join(c.path for c in changes),
                    changes=changes,
                    desired=d.fields,
                    labels=d.labels,
                    drift=_is_drift(o, d),
                )
            )

    # Versions other than the live default can go (or be replaced) at any time. Replacements
    # come before the set-default, which may move the default to one of them.
    default_removal = None
    for removal in removals:
        if removal.name == live_default:
            default_removal = removal
            continue
        action_id = _removal_action(b, model_key, removal, removal.after)
        (gone if removal.kind is ActionKind.DELETE else ready)[removal.name] = action_id

    set_default_id: str | None = None
    if (
        want_default is not None
        and want_default != live_default
        and (o_versions or len(d_versions) > 1)
    ):
        vkey = ResourceKey(model_key.endpoint, model_key.model, want_default)
        set_default_id = b.add(
            Action(
                _action_id(ActionKind.SET_DEFAULT, vkey),
                ActionKind.SET_DEFAULT,
                vkey,
                reason=f"default version: {live_default or '(none)'} -> {want_default}",
                changes=(FieldChange("defaultVersion", live_default, want_default),),
                **_move_deps(b, ready, want_default, model_dep),
            )
        )

    if default_removal is not None:
        _remove_live_default(
            b,
            model_key,
            default_removal,
            want_default,
            set_default_id,
            protected,
            declared,
            ready,
            gone,
            o_versions,
        )


def _move_deps(
    b: _Builder, ready: Mapping[str, str], name: str, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`depends_on` and `ordered_after` of a set-default to version `name`.

    It depends on the create, replace or wait that makes `name` READY. An in-place update
    leaves a READY version READY whether it succeeds or fails, so the move only runs after it
    (the service refuses setDefault while the version is UPDATING) and a failed update does not
    strand the default on a version the manifests no longer want.
    """
    dep = ready.get(name)
    if dep is not None and any(a.id == dep and a.kind is ActionKind.UPDATE for a in b.actions):
        return {"depends_on": extra, "ordered_after": (dep,)}
    return {"depends_on": tuple(d for d in (dep,) if d) + extra, "ordered_after": ()}


def _wait(key: ResourceKey, observed: ObservedResource) -> Action:
    return Action(
        _action_id(ActionKind.WAIT, key),
        ActionKind.WAIT,
        key,
        reason=f"live {key.kind} is {observed.state.value}; apply waits until it settles",
    )


def _create(
    vkey: ResourceKey, desired: DesiredResource, reason: str, deps: tuple[str, ...]
) -> Action:
    return Action(
        _action_id(ActionKind.CREATE, vkey),
        ActionKind.CREATE,
        vkey,
        reason=reason,
        changes=_creation(desired),
        depends_on=deps,
        desired=desired.fields,
        labels=desired.labels,
        artifact_source=desired.artifact_source,
    )


def _removal_action(
    b: _Builder, model_key: ResourceKey, removal: _Removal, deps: tuple[str, ...]
) -> str:
    vkey = ResourceKey(model_key.endpoint, model_key.model, removal.name)
    if removal.kind is ActionKind.DELETE:
        return b.add(
            Action(
                _action_id(ActionKind.DELETE, vkey),
                ActionKind.DELETE,
                vkey,
                reason="managed live version is no longer declared",
                depends_on=deps,
            )
        )
    desired, observed = removal.desired, removal.observed
    assert desired is not None
    forcing = _forcing(b, vkey, removal.changes)
    return b.add(
        Action(
            _action_id(ActionKind.REPLACE, vkey),
            ActionKind.REPLACE,
            vkey,
            reason="replacement forced by: " + forcing,
            changes=removal.changes,
            depends_on=deps,
            desired=desired.fields,
            labels=desired.labels,
            artifact_source=desired.artifact_source,
            drift=observed.state is not State.FAILED and _is_drift(observed, desired),
        )
    )


def _forcing(b: _Builder, key: ResourceKey, changes: Iterable[FieldChange]) -> str:
    """The fields forcing a replacement; one patchable only on some resources says where."""
    schema = b.schemas[key.kind]
    out = []
    for c in changes:
        if c.forces_replacement:
            spec = schema.spec(c.path)
            only = spec.patch_only_if if spec and spec.behavior is Behavior.PATCH else None
            out.append(f"{c.path} (patchable only if {only.describe()})" if only else c.path)
    return ", ".join(out)


def _remove_live_default(
    b: _Builder,
    model_key: ResourceKey,
    removal: _Removal,
    want_default: str | None,
    set_default_id: str | None,
    protected: bool,
    declared: set[str],
    ready: Mapping[str, str],
    gone: Mapping[str, str],
    o_versions: Mapping[str, ObservedResource],
) -> None:
    """Delete or replace the live default version without a call the service refuses."""
    name = removal.name
    vkey = ResourceKey(model_key.endpoint, model_key.model, name)
    verb = "replaced" if removal.kind is ActionKind.REPLACE else "deleted"
    if set_default_id is not None and want_default != name:
        # The default moves to another declared version first; after that this is an ordinary
        # version, so even a protected model may lose it (a normal v1 -> v2 rollout).
        _removal_action(b, model_key, removal, (set_default_id, *removal.after))
        return
    if protected:
        b.error(
            vkey,
            f"{vkey.address} is the default version of a protected model (protect: true): "
            f"it cannot be {verb}; set protect: false and apply first",
        )
        return
    if removal.kind is ActionKind.REPLACE:
        # It stays the default. A FAILED version serves nothing, so replacing it costs no
        # downtime; otherwise the user must accept it.
        if not b.options.allow_downtime and removal.observed.state is not State.FAILED:
            b.error(
                vkey,
                f"replacing {vkey.address} (forced by: {_forcing(b, vkey, removal.changes)}) "
                f"would leave model {model_key.address} without a "
                "serving version while it is recreated: declare the change under a new version "
                "name and make it default_version, or pass --allow-downtime",
            )
            return
        # Another declared version serves meanwhile; one that needs no change is preferred,
        # else it becomes the interim default once it is READY (created, replaced or updated).
        candidates = sorted(declared - {name}, key=lambda n: (n in ready, n))
        if candidates:
            interim = candidates[0]
            temp_key = ResourceKey(model_key.endpoint, model_key.model, interim)
            interim_id = b.add(
                Action(
                    _action_id(ActionKind.SET_DEFAULT, temp_key, "#interim"),
                    ActionKind.SET_DEFAULT,
                    temp_key,
                    reason=f"interim default while {name} is replaced (--allow-downtime)",
                    changes=(FieldChange("defaultVersion", name, interim),),
                    **_move_deps(b, ready, interim),
                )
            )
            replace_id = _removal_action(b, model_key, removal, (interim_id, *removal.after))
            b.add(
                Action(
                    _action_id(ActionKind.SET_DEFAULT, vkey),
                    ActionKind.SET_DEFAULT,
                    vkey,
                    reason=f"default version back to {name} after its replacement",
                    changes=(FieldChange("defaultVersion", interim, name),),
                    depends_on=(replace_id,),
                )
            )
            return
    # No declared version can take over: the default can only go once it is the last version.
    blockers = sorted(set(o_versions) - {name} - set(gone))
    if blockers:
        b.error(
            vkey,
            f"{vkey.address} cannot be {verb}: it is the default version and the model keeps "
            f"versions this stack does not manage ({', '.join(blockers)}); the service refuses "
            "to delete a default version while others exist",
        )
        return
    _removal_action(b, model_key, removal, tuple(sorted({*gone.values(), *removal.after})))


def _prune_model(
    b: _Builder, observed: ObservedResource, o_versions: Mapping[str, ObservedResource]
) -> None:
    key = observed.key
    if _protected(observed):
        how = (
            "its labels are fixed at creation here, so the protection cannot be lifted: "
            "delete it by hand (e.g. `gcloud ai-platform models delete`) if it must go"
            if _labels_fixed(b, observed)
            else "set protect: false and apply before removing it from the manifests"
        )
        b.error(key, f"{key.address} is protected (protect: true) but no longer declared: {how}")
        return
    foreign = sorted(n for n, o in o_versions.items() if b.owner(o) != "ours")
    for name in foreign:
        b.ignore(o_versions[name])
    if foreign:
        b.error(
            key,
            f"cannot delete {key.address}: it holds versions this stack does not manage "
            f"({', '.join(foreign)}); delete or adopt them first",
        )
        return
    deps = _delete_all_versions(b, key, o_versions)
    b.add(
        Action(
            _action_id(ActionKind.DELETE, key),
            ActionKind.DELETE,
            key,
            reason="managed live model is no longer declared",
            depends_on=deps,
        )
    )


def _delete_version(
    b: _Builder, vkey: ResourceKey, observed: ObservedResource, reason: str, deps: tuple[str, ...]
) -> str:
    """Delete a live version; one that is CREATING/UPDATING is waited for first (the service
    refuses to delete it before), one already DELETING is only waited for."""
    if observed.state is State.DELETING:
        return b.add(_wait(vkey, observed))
    if observed.state.transitional:
        deps = (*deps, b.add(_wait(vkey, observed)))
    action_id = _action_id(ActionKind.DELETE, vkey)
    return b.add(Action(action_id, ActionKind.DELETE, vkey, reason, depends_on=deps))


def _delete_all_versions(
    b: _Builder, model_key: ResourceKey, o_versions: Mapping[str, ObservedResource]
) -> tuple[str, ...]:
    """Delete every version, the default last; returns the ids the model deletion waits for."""
    ids: list[str] = []
    default_name = next((n for n, o in o_versions.items() if o.is_default), None)
    for name in sorted(o_versions):
        if name != default_name:
            vkey = ResourceKey(model_key.endpoint, model_key.model, name)
            ids.append(_delete_version(b, vkey, o_versions[name], "its model is being deleted", ()))
    if default_name is not None:
        vkey = ResourceKey(model_key.endpoint, model_key.model, default_name)
        reason = "its model is being deleted (default version goes last)"
        ids = [_delete_version(b, vkey, o_versions[default_name], reason, tuple(ids))]
    return tuple(ids)


def _replace_model(
    b: _Builder,
    desired: DesiredResource,
    observed: ObservedResource,
    d_versions: Mapping[str, DesiredResource],
    o_versions: Mapping[str, ObservedResource],
    changes: list[FieldChange],
) -> None:
    key = desired.key
    forcing = ", ".join(c.path for c in changes if c.forces_replacement)
    if desired.protect or (_protected(observed) and not _labels_fixed(b, observed)):
        b.error(
            key,
            f"{key.address} must be replaced ({forcing} cannot change in place) but it is "
            "protected (protect: true)",
        )
        return
    if o_versions and not b.options.allow_downtime:
        b.error(
            key,
            f"{key.address} must be replaced ({forcing} cannot change in place), which deletes "
            "all its versions first: deploy under a new model name, or pass --allow-downtime",
        )
        return
    foreign = sorted(n for n, o in o_versions.items() if b.owner(o) != "ours")
    if foreign:
        b.error(
            key,
            f"cannot replace {key.address}: it holds versions this stack does not manage "
            f"({', '.join(foreign)})",
        )
        return
    deps = _delete_all_versions(b, key, o_versions)
    replace_id = b.add(
        Action(
            _action_id(ActionKind.REPLACE, key),
            ActionKind.REPLACE,
            key,
            reason="replacement forced by: " + forcing,
            changes=tuple(changes),
            depends_on=deps,
            desired=desired.fields,
            labels=desired.labels,
            drift=_is_drift(observed, desired),
        )
    )
    _diff_versions(b, key, desired, None, d_versions, {}, (replace_id,))


def _concerns(key: ResourceKey, targets: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether an error or warning about `key` matters to a --target run.

    A model-level problem concerns every target inside that model (its versions cannot be
    planned while it stands); a version's problem concerns only that version or its model.
    """
    return not targets or any(
        key.model == model and (version is None or key.version in (None, version))
        for model, version in targets
    )


def _select_targets(
    actions: list[Action], targets: tuple[tuple[str, str | None], ...]
) -> list[Action]:
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
    return [a for a in actions if a.id in keep]
