"""Annotate a Plan for people: manifest vocabulary, positions, and what a delete removes.

The diff speaks in API field paths. Reviewers read manifests, so each field change gets the
manifest key it comes from (from the provider's `Vocabulary`, as data), the `FILE:LINE` of that
key, and internal or computed fields are marked hidden. deployer's own labels never show as user
changes (a `protect` toggle, written as a label, reads as `protect`). Deletes carry the live
fields they remove. Pure: the apply-relevant parts of the plan (ids, kinds, values, masks,
desired state) are unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from deployer.core import ownership
from deployer.core.model import Vocabulary
from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Reason, Why
from deployer.core.resources import ObservedResource, ResourceKey

DIGEST_CHARS = 6


class Manifest(Protocol):
    """Where a resource and its keys are declared (see workflow.ManifestIndex)."""

    def locate(self, key: ResourceKey, manifest_key: str = "") -> str:
        """`FILE:LINE` of `manifest_key` under the resource's entry (or of the entry), or ""."""
        ...

    def artifact(self, key: ResourceKey) -> str:
        """The version's `artifact` as written in the manifest, or ""."""
        ...


class _NoManifest:
    def locate(self, key: ResourceKey, manifest_key: str = "") -> str:
        return ""

    def artifact(self, key: ResourceKey) -> str:
        return ""


def annotate(
    plan: Plan,
    vocabulary: Vocabulary,
    manifest: Manifest | None = None,
    observed: Iterable[ObservedResource] = (),
) -> Plan:
    """The plan with presentation data filled in; see the module docstring."""
    where = manifest or _NoManifest()
    live = {o.key: o for o in observed}
    actions = tuple(_action(a, vocabulary, where, live) for a in plan.actions)
    return dataclasses.replace(plan, actions=actions)


def _action(
    action: Action,
    vocabulary: Vocabulary,
    where: Manifest,
    live: Mapping[ResourceKey, ObservedResource],
) -> Action:
    changes: list[FieldChange] = []
    for change in action.changes:
        changes.extend(_change(action, change, vocabulary, where))
    if action.kind is ActionKind.CREATE:
        changes.sort(key=lambda c: c.name)
    reason = _reason(action.reason, changes)
    before = action.before
    if before is None and action.kind is ActionKind.DELETE and action.key in live:
        before = {k: v for k, v in sorted(live[action.key].fields.items()) if v is not None}
    return dataclasses.replace(
        action,
        changes=tuple(changes),
        reason=reason,
        source=action.source or where.locate(action.key),
        before=before,
    )


def _reason(reason: Reason, changes: list[FieldChange]) -> Reason:
    """A reason naming fields names them as the manifest does (`runtime_version`)."""
    if reason.why is Why.CHANGED:
        names = [c.name for c in changes if not c.hidden]
    elif reason.why in (Why.FORCED, Why.FAILED):
        names = [c.name for c in changes if not c.hidden and c.forces_replacement]
    else:
        return reason
    if not names:
        return reason
    return dataclasses.replace(reason, paths=tuple(dict.fromkeys(names)))


def _change(
    action: Action, change: FieldChange, vocabulary: Vocabulary, where: Manifest
) -> list[FieldChange]:
    label = vocabulary.key(action.key.kind, change.path)
    if label is None:
        return [dataclasses.replace(change, hidden=True)]
    out = dataclasses.replace(
        change, label=label if label != change.path else "", source=where.locate(action.key, label)
    )
    if change.path == vocabulary.artifact:
        return [dataclasses.replace(out, shown=_artifact(change, where.artifact(action.key)))]
    if label == "labels":
        return _labels(action, out, where)
    return [out]


def _artifact(change: FieldChange, written: str) -> str:
    def digest(value: Any) -> str:
        return f"(digest {str(value)[:DIGEST_CHARS]}…)" if value else "(none)"

    after = f"{written} {digest(change.after)}" if written else digest(change.after)
    if change.before is None and change.after is not None:
        return after
    return f"{digest(change.before)} -> {after}"


def _labels(action: Action, change: FieldChange, where: Manifest) -> list[FieldChange]:
    """User labels only (the values shown; apply writes `Action.labels`, not these); a
    `protect` toggle, kept as a label, shows as `protect`."""

    def user(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {k: v for k, v in value.items() if not ownership.own_label(k)} or None

    before, after = user(change.before), user(change.after)
    out = [dataclasses.replace(change, before=before, after=after, hidden=before == after)]
    protect = [
        isinstance(value, Mapping) and ownership.protected(value)
        for value in (change.before, change.after)
    ]
    if protect[0] != protect[1] and change.before is not None:
        out.append(
            FieldChange(
                "labels." + ownership.LABEL_PROTECT,
                protect[0],
                protect[1],
                label="protect",
                source=where.locate(action.key, "protect"),
            )
        )
    return out
