"""The diff: a pure function from (desired, observed, schemas) to a Plan. No I/O.

Ownership (DESIGN.md section 4): only resources labelled with this stack are changed; everything
else is listed as ignored, and a declared name held by someone else is an error. Ordering
(section 5): new and replaced versions come before the default moves to them, the default moves
before any version it leaves is deleted, and a model goes after its versions. The plan never
contains a call the service would refuse.
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
    """Digest of the observed state a plan was computed from, to refuse stale saved plans."""
    doc = [
        [
            r.key.address,
            dict(r.fields),
            dict(r.labels),
            str(r.state),
            r.is_default,
        ]
        for r in sorted(observed, key=lambda r: r.key)
    ]
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
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, action: Action) -> str:
        self.actions.append(action)
        return action.id

    def owner(self, resource: ObservedResource) -> str | None:
        """'ours', another stack's name, or None for unmanaged."""
        if resource.labels.get(catalog.LABEL_MANAGED_BY) != catalog.LABEL_MANAGED_BY_VALUE:
            return None
        stack = resource.labels.get(catalog.LABEL_STACK, "")
        return "ours" if stack == self.options.stack else stack or "(no stack)"

    def ignore(self, resource: ObservedResource) -> None:
        owner = self.owner(resource)
        why = "not managed by deployer" if owner is None else f"managed by stack '{owner}'"
        self.ignored.append(Ignored(resource.key.address, why))

    def clash(self, resource: ObservedResource) -> None:
        owner = self.owner(resource)
        held = "is not managed by deployer" if owner is None else f"belongs to stack '{owner}'"
        self.errors.append(
            f"{resource.key.address} is declared but the live {resource.key.kind} {held}: "
            f"adopt it with `deployer import {resource.key.address}` or choose another name"
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
            if before != after:
                changes.append(
                    FieldChange(
                        spec.path,
                        before,
                        after,
                        forces_replacement=spec.behavior is Behavior.REPLACE,
                        mask=spec.mask,
                    )
                )
        return changes

    def creation(self, desired: DesiredResource) -> list[FieldChange]:
        changes = [FieldChange(path, None, value) for path, value in sorted(desired.fields.items())]
        changes.append(FieldChange("labels", None, _compared_labels(desired.labels)))
        return [c for c in changes if c.after not in (None, "", {}, [])]


def _protected(resource: ObservedResource) -> bool:
    return resource.labels.get(catalog.LABEL_PROTECT) == "true"


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
    actions = _select_targets(b.actions, options.targets)
    return Plan(
        stack=options.stack,
        project=options.project,
        actions=tuple(actions),
        ignored=tuple(sorted(set(b.ignored), key=lambda i: i.address)),
        errors=tuple(b.errors),
        warnings=tuple(b.warnings),
        fingerprint=fingerprint(observed_list),
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
    if observed is not None and b.owner(observed) != "ours":
        if desired is not None:
            b.clash(observed)
        else:
            b.ignore(observed)
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
                    changes=tuple(b.creation(desired)),
                    desired=desired.fields,
                    labels=desired.labels,
                )
            ),
        )
        o_versions = {}
    else:
        changes = b.field_changes(desired, observed)
        forcing = [c for c in changes if c.forces_replacement]
        if forcing:
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
    protected = desired_model.protect or (observed_model is not None and _protected(observed_model))
    ready_deps: dict[str, str] = {}  # version -> action that makes it READY
    removals: list[tuple[str, ActionKind, ObservedResource, DesiredResource | None, list]] = []

    for name in sorted(d_versions.keys() | o_versions.keys()):
        d = d_versions.get(name)
        o = o_versions.get(name)
        vkey = ResourceKey(model_key.endpoint, model_key.model, name)
        if o is not None and b.owner(o) != "ours":
            if d is not None:
                b.clash(o)
            else:
                b.ignore(o)
            continue
        if d is None:
            assert o is not None
            if o.state is State.DELETING:
                b.add(_wait(vkey, o))
                continue
            removals.append((name, ActionKind.DELETE, o, None, []))
            continue
        if o is None:
            ready_deps[name] = b.add(
                Action(
                    _action_id(ActionKind.CREATE, vkey),
                    ActionKind.CREATE,
                    vkey,
                    reason="declared in manifests, not found live",
                    changes=tuple(b.creation(d)),
                    depends_on=model_dep,
                    desired=d.fields,
                    labels=d.labels,
                    artifact_source=d.artifact_source,
                )
            )
            continue
        if o.state.transitional:
            wait_id = b.add(_wait(vkey, o))
            if o.state is State.DELETING:
                ready_deps[name] = b.add(
                    Action(
                        _action_id(ActionKind.CREATE, vkey),
                        ActionKind.CREATE,
                        vkey,
                        reason="live version is being deleted; it is created again afterwards",
                        changes=tuple(b.creation(d)),
                        depends_on=(wait_id,),
                        desired=d.fields,
                        labels=d.labels,
                        artifact_source=d.artifact_source,
                    )
                )
            else:
                ready_deps[name] = wait_id
                b.warnings.append(
                    f"{vkey.address} is {o.state.value}: apply waits for it; "
                    "run plan again afterwards to see any remaining changes"
                )
            continue
        if o.state is State.FAILED:
            changes = [FieldChange("state", "FAILED", "READY", forces_replacement=True)]
            message = f": {o.error_message}" if o.error_message else ""
            removals.append((name, ActionKind.REPLACE, o, d, changes))
            b.warnings.append(f"{vkey.address} is FAILED{message}; it will be replaced")
            continue
        changes = b.field_changes(d, o)
        if any(c.forces_replacement for c in changes):
            removals.append((name, ActionKind.REPLACE, o, d, changes))
        elif changes:
            b.add(
                Action(
                    _action_id(ActionKind.UPDATE, vkey),
                    ActionKind.UPDATE,
                    vkey,
                    reason="changed: " + ", ".join(c.path for c in changes),
                    changes=tuple(changes),
                    desired=d.fields,
                    labels=d.labels,
                    drift=_is_drift(o, d),
                )
            )

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
                depends_on=tuple(d for d in (ready_deps.get(want_default),) if d) + model_dep,
            )
        )

    surviving = {
        n
        for n, o in o_versions.items()
        if not any(r[0] == n and r[1] is ActionKind.DELETE for r in removals)
    }
    non_default_deletes: list[str] = []
    default_removal = None
    for removal in removals:
        name = removal[0]
        if name == live_default:
            default_removal = removal
            continue
        non_default_deletes.append(_removal_action(b, model_key, removal, (), ready_deps))
    if default_removal is not None:
        _remove_live_default(
            b,
            model_key,
            default_removal,
            want_default,
            set_default_id,
            non_default_deletes,
            surviving,
            protected,
            ready_deps,
            o_versions,
        )


def _wait(key: ResourceKey, observed: ObservedResource) -> Action:
    return Action(
        _action_id(ActionKind.WAIT, key),
        ActionKind.WAIT,
        key,
        reason=f"live {key.kind} is {observed.state.value}; apply waits until it settles",
    )


def _removal_action(
    b: _Builder,
    model_key: ResourceKey,
    removal: tuple[str, ActionKind, ObservedResource, DesiredResource | None, list],
    deps: tuple[str, ...],
    ready_deps: dict[str, str],
) -> str:
    name, kind, observed, desired, changes = removal
    vkey = ResourceKey(model_key.endpoint, model_key.model, name)
    if kind is ActionKind.DELETE:
        return b.add(
            Action(
                _action_id(kind, vkey),
                kind,
                vkey,
                reason="managed live version is no longer declared",
                depends_on=deps,
            )
        )
    assert desired is not None
    forcing = [c.path for c in changes if c.forces_replacement]
    action_id = b.add(
        Action(
            _action_id(kind, vkey),
            kind,
            vkey,
            reason="replacement forced by: " + ", ".join(forcing),
            changes=tuple(changes),
            depends_on=deps,
            desired=desired.fields,
            labels=desired.labels,
            artifact_source=desired.artifact_source,
            drift=observed.state is not State.FAILED and _is_drift(observed, desired),
        )
    )
    ready_deps[name] = action_id
    return action_id


def _remove_live_default(
    b: _Builder,
    model_key: ResourceKey,
    removal: tuple[str, ActionKind, ObservedResource, DesiredResource | None, list],
    want_default: str | None,
    set_default_id: str | None,
    non_default_deletes: list[str],
    surviving: set[str],
    protected: bool,
    ready_deps: dict[str, str],
    o_versions: Mapping[str, ObservedResource],
) -> None:
    """Delete or replace the live default version without a call the service refuses."""
    name, kind, _observed, _desired, _changes = removal
    vkey = ResourceKey(model_key.endpoint, model_key.model, name)
    if protected:
        b.errors.append(
            f"{vkey.address} is the default version of a protected model (protect: true): "
            f"it cannot be {'replaced' if kind is ActionKind.REPLACE else 'deleted'}; "
            "set protect: false and apply first"
        )
        return
    if set_default_id is not None and want_default != name:
        _removal_action(b, model_key, removal, (set_default_id,), ready_deps)
        return
    if kind is ActionKind.REPLACE:
        others = sorted(n for n in surviving - {name} if o_versions[n].state is State.READY)
        if not b.options.allow_downtime:
            b.errors.append(
                f"replacing {vkey.address} would leave model {model_key.address} without a "
                "serving version while it is recreated: declare the change under a new version "
                "name and make it default_version, or pass --allow-downtime"
            )
            return
        deps: tuple[str, ...] = ()
        if others:
            temp_key = ResourceKey(model_key.endpoint, model_key.model, others[0])
            deps = (
                b.add(
                    Action(
                        _action_id(ActionKind.SET_DEFAULT, temp_key, "#interim"),
                        ActionKind.SET_DEFAULT,
                        temp_key,
                        reason=f"interim default while {name} is replaced (--allow-downtime)",
                        changes=(FieldChange("defaultVersion", name, others[0]),),
                    )
                ),
            )
        replace_id = _removal_action(b, model_key, removal, deps, ready_deps)
        if others:
            b.add(
                Action(
                    _action_id(ActionKind.SET_DEFAULT, vkey),
                    ActionKind.SET_DEFAULT,
                    vkey,
                    reason=f"default version back to {name} after its replacement",
                    changes=(FieldChange("defaultVersion", others[0], name),),
                    depends_on=(replace_id,),
                )
            )
        return
    # Deleting the live default with nothing declared to take over: only possible last.
    if surviving - {name}:
        b.errors.append(
            f"cannot delete {vkey.address}: it is the default version and the model keeps "
            f"other versions ({', '.join(sorted(surviving - {name}))}); declare a "
            "default_version"
        )
        return
    _removal_action(b, model_key, removal, tuple(non_default_deletes), ready_deps)


def _prune_model(
    b: _Builder, observed: ObservedResource, o_versions: Mapping[str, ObservedResource]
) -> None:
    key = observed.key
    if _protected(observed):
        b.errors.append(
            f"{key.address} is protected (protect: true) but no longer declared: set "
            "protect: false and apply before removing it from the manifests"
        )
        return
    foreign = sorted(n for n, o in o_versions.items() if b.owner(o) != "ours")
    for name in foreign:
        b.ignore(o_versions[name])
    if foreign:
        b.errors.append(
            f"cannot delete {key.address}: it holds versions this stack does not manage "
            f"({', '.join(foreign)}); delete or adopt them first"
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


def _delete_all_versions(
    b: _Builder, model_key: ResourceKey, o_versions: Mapping[str, ObservedResource]
) -> tuple[str, ...]:
    """Delete every version, the default last; returns the ids the model deletion waits for."""
    ids: list[str] = []
    default_name = next((n for n, o in o_versions.items() if o.is_default), None)
    for name in sorted(o_versions):
        if name == default_name:
            continue
        o = o_versions[name]
        vkey = ResourceKey(model_key.endpoint, model_key.model, name)
        if o.state is State.DELETING:
            ids.append(b.add(_wait(vkey, o)))
            continue
        ids.append(
            b.add(
                Action(
                    _action_id(ActionKind.DELETE, vkey),
                    ActionKind.DELETE,
                    vkey,
                    reason="its model is being deleted",
                )
            )
        )
    if default_name is not None:
        vkey = ResourceKey(model_key.endpoint, model_key.model, default_name)
        ids = [
            b.add(
                Action(
                    _action_id(ActionKind.DELETE, vkey),
                    ActionKind.DELETE,
                    vkey,
                    reason="its model is being deleted (default version goes last)",
                    depends_on=tuple(ids),
                )
            )
        ]
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
    if _protected(observed) or desired.protect:
        b.errors.append(
            f"{key.address} must be replaced ({forcing} cannot change in place) but it is "
            "protected (protect: true)"
        )
        return
    if o_versions and not b.options.allow_downtime:
        b.errors.append(
            f"{key.address} must be replaced ({forcing} cannot change in place), which deletes "
            "all its versions first: deploy under a new model name, or pass --allow-downtime"
        )
        return
    foreign = sorted(n for n, o in o_versions.items() if b.owner(o) != "ours")
    if foreign:
        b.errors.append(
            f"cannot replace {key.address}: it holds versions this stack does not manage "
            f"({', '.join(foreign)})"
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
