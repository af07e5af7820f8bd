"""Annotate a Plan for people: the manifest's words, positions, what a delete removes, names.

The diff speaks in API field paths and service-assigned ids. Reviewers read manifests, so, from
the provider's `Vocabulary` (data) and nothing else:

- each field change gets the manifest key it comes from and the `FILE:LINE` of that key; a field
  whose API shape is not the manifest's (a map, an enum, a negated flag, an image picked by
  `runtime_version`) is shown as the manifest keys it comes from, and fields the manifest writes
  as one key (`scaling.nodes`) as that key; the API change stays in the plan, hidden, for apply;
- internal or computed fields are hidden; deployer's own labels never show as user changes (a
  `protect` toggle, written as a label, reads as `protect`);
- a delete shows, in the same words, the live fields it removes (`before` keeps them as read);
- an address holding an id the service assigned (an old instance of a replacement, a resource
  deployer does not manage) gets a `title` people recognise: `us-central1/iris/v1:deployed (old
  deployment, n1-standard-2)`; names in a traffic split read the same way.

Pure: the apply-relevant parts of the plan (ids, kinds, values, masks, desired state) are
unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from deployer.core import ownership
from deployer.core.model import SENTENCE, Vocabulary
from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Reason, Why
from deployer.core.resources import ObservedResource, ResourceKey

DIGEST_CHARS = 6


class Manifest(Protocol):
    """Where a resource and its keys are declared (see workflow.ManifestIndex)."""

    def locate(self, key: ResourceKey, manifest_key: str = "") -> str:
        """`FILE:LINE` of `manifest_key` under the resource's entry (or of the entry), or ""."""
        ...

    def declares(self, key: ResourceKey, manifest_key: str) -> bool:
        """Whether the resource's entry (or its model's) writes `manifest_key`."""
        ...

    def artifact(self, key: ResourceKey) -> str:
        """The version's `artifact` as written in the manifest, or ""."""
        ...


class _NoManifest:
    def locate(self, key: ResourceKey, manifest_key: str = "") -> str:
        return ""

    def declares(self, key: ResourceKey, manifest_key: str) -> bool:
        return False

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
    names = Names(vocabulary, observed, plan.stack)
    actions = tuple(_action(a, vocabulary, where, names) for a in plan.actions)
    ignored = tuple(
        dataclasses.replace(i, title=i.title or names.address_title(i.address))
        for i in plan.ignored
    )
    groups = dict(vocabulary.groups or {})
    return dataclasses.replace(plan, actions=actions, ignored=ignored, groups=groups)


class Names:
    """How live resources with service-assigned ids read to people."""

    def __init__(
        self, vocabulary: Vocabulary, observed: Iterable[ObservedResource], stack: str
    ) -> None:
        self.vocabulary = vocabulary
        self.stack = stack
        self.live = {o.key: o for o in observed}
        self.by_address = {o.key.address: o for o in self.live.values()}

    def find(self, key: ResourceKey) -> ObservedResource | None:
        """The live resource at `key`; an instance named by its id (the delete of a resource
        replaced create-then-delete names the old one so) is found by that id too."""
        found = self.live.get(key)
        if found is None and key.instance:
            found = next(
                (
                    o
                    for o in self.live.values()
                    if o.key.current == key.current and o.ident == key.instance
                ),
                None,
            )
        return found

    def _described(self, o: ObservedResource) -> tuple[str, str]:
        describe = (self.vocabulary.describe or {}).get(o.key.kind)
        return describe(o.fields) if describe is not None else ("", "")

    def title(self, key: ResourceKey, old: bool = True) -> str:
        """`REGION/MODEL/VERSION:part (old deployment, n1-standard-2)` for an old instance
        (`(n1-standard-2)` for the current one named by its id, with `old` False),
        `REGION/MODEL: NAME (details, not managed by this stack)` for someone else's resource
        whose address holds an id; "" when the address says it already."""
        o = self.find(key)
        if o is None:
            return ""
        ours = ownership.owned_by(o.labels, self.stack)
        name, details = self._described(o)
        if not ours and key.version is not None and key.version.startswith("@"):
            return f"{key.model_key.address}: {self._bystander(o, name, details)}"
        if key.instance:
            what = [f"old {self.vocabulary.noun(key.kind)}"] if old or o.key.instance else []
            what += [details] if details else []
            return f"{key.current.address} ({', '.join(what)})" if what else key.current.address
        return ""

    def _bystander(self, o: ObservedResource, name: str, details: str) -> str:
        owner = ownership.owner(o.labels)
        whose = "not managed by this stack" if owner is None else f"of stack '{owner}'"
        label = name or f"{self.vocabulary.noun(o.key.kind)} {o.ident or o.key.version}"
        return f"{label} ({f'{details}, ' if details else ''}{whose})"

    def address_title(self, address: str) -> str:
        o = self.by_address.get(address)
        return "" if o is None else self.title(o.key)

    def routed(self, model: ResourceKey, kind: str, name: str) -> str:
        """A name in a routing's value (`v1`, `v1#1002`, `@5309…`) as people read it."""
        version, _, instance = name.partition("#")
        for o in self.live.values():
            k = o.key
            if (k.model_key, k.kind, k.version, k.instance) == (model, kind, version, instance):
                found, details = self._described(o)
                if version.startswith("@") and not ownership.owned_by(o.labels, self.stack):
                    return self._bystander(o, found, details)
                if instance:
                    noun = self.vocabulary.noun(kind)
                    return f"{version} (old {noun}{f', {details}' if details else ''})"
        return name


def _action(action: Action, vocabulary: Vocabulary, where: Manifest, names: Names) -> Action:
    changes: list[FieldChange] = []
    for change in action.changes:
        changes.extend(_change(action, change, vocabulary, where))
    before = action.before
    live = names.find(action.key)
    if before is None and action.kind is ActionKind.DELETE and live is not None:
        before = {k: v for k, v in sorted(live.fields.items()) if v is not None}
    if action.kind is ActionKind.DELETE and not changes and before:
        changes = _removed(action, before, live, vocabulary, where)
    if action.route is not None and action.route.split:
        changes += _routed_names(action, changes, names)
    changes = _merged(action, changes, vocabulary, where)
    if action.kind is ActionKind.CREATE or action.kind is ActionKind.DELETE:
        changes.sort(key=lambda c: (not c.hidden, c.name))
    return dataclasses.replace(
        action,
        changes=tuple(changes),
        reason=_reason(action.reason, changes),
        source=action.source or where.locate(action.key),
        before=before,
        title=action.title or names.title(action.key, old=_old(action)),
    )


def _old(action: Action) -> bool:
    """Whether the instance an action names is an old one (superseded or left over)."""
    drained = action.reroutes and bool(action.key.instance)  # the old root's traffic
    return action.reason.why in (Why.SUPERSEDED, Why.LEFTOVER) or drained


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


def _known(vocabulary: Vocabulary, kind: str, path: str) -> bool:
    return path in vocabulary.keys.get(kind, {}) or path in (vocabulary.words or {}).get(kind, {})


def _removed(
    action: Action,
    before: Mapping[str, Any],
    live: ObservedResource | None,
    vocabulary: Vocabulary,
    where: Manifest,
) -> list[FieldChange]:
    """What a delete removes, as manifest keys and values: the fields the vocabulary knows."""
    kind = action.key.kind
    gone = [
        FieldChange(path, value, None)
        for path, value in before.items()
        if _known(vocabulary, kind, path)
        and value not in (None, "", {}, [])
        and value != action.key.version  # the name the address says already
    ]
    if live is not None and vocabulary.keys.get(kind, {}).get("labels") is not None:
        gone.append(FieldChange("labels", ownership.compared_labels(live.labels), None))
    out: list[FieldChange] = []
    for change in gone:
        out.extend(c for c in _change(action, change, vocabulary, where) if not c.hidden)
    return [dataclasses.replace(c, source="") for c in out]


def _change(
    action: Action, change: FieldChange, vocabulary: Vocabulary, where: Manifest
) -> list[FieldChange]:
    kind = action.key.kind
    label = vocabulary.key(kind, change.path)
    if label is None:
        return [dataclasses.replace(change, hidden=True)]
    spoken = _spoken(action, change, vocabulary, where)
    if spoken is not None:
        return spoken
    out = dataclasses.replace(
        change, label=label if label != change.path else "", source=where.locate(action.key, label)
    )
    if change.path == vocabulary.artifact:
        return [dataclasses.replace(out, shown=_artifact(change, where.artifact(action.key)))]
    if label == "labels":
        return _labels(action, out, where)
    return [out]


def _spoken(
    action: Action, change: FieldChange, vocabulary: Vocabulary, where: Manifest
) -> list[FieldChange] | None:
    """A field with `words`: one change per manifest key whose value differs, the API change
    kept hidden (apply reads its mask); None when the field has no words."""
    kind = action.key.kind
    said = [
        vocabulary.say(kind, change.path, value) if value is not None else {}
        for value in (change.before, change.after)
    ]
    before, after = said
    if before is None or after is None:
        return None
    out = [dataclasses.replace(change, hidden=True)]
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    if not keys:
        out[0] = dataclasses.replace(change, label=vocabulary.key(kind, change.path) or "")
        return out  # the words do not tell the values apart: shown as they are
    for key in keys:
        if key == SENTENCE:
            shown = str(after.get(key) or before.get(key))
            key = vocabulary.key(kind, change.path) or change.path
            shown_change = FieldChange(change.path, None, None, shown=shown)
        else:
            shown_change = FieldChange(change.path, before.get(key), after.get(key))
        out.append(
            dataclasses.replace(
                shown_change,
                forces_replacement=change.forces_replacement,
                label=key or change.path,
                source=where.locate(action.key, key or ""),
                drift=change.drift,
            )
        )
    return out


def _merged(
    action: Action, changes: list[FieldChange], vocabulary: Vocabulary, where: Manifest
) -> list[FieldChange]:
    """Changes of fields that all hold one manifest key's value, shown once as that key when
    the manifest writes it (`scaling.nodes`, not the minimum and maximum replica counts)."""
    for key, paths in (vocabulary.merged or {}).get(action.key.kind, {}).items():
        parts = [c for c in changes if c.path in paths and not c.hidden]
        values = {(repr(c.before), repr(c.after)) for c in parts}
        if len(parts) != len(paths) or len(values) != 1 or not where.declares(action.key, key):
            continue
        first = parts[0]
        source = "" if action.kind is ActionKind.DELETE else where.locate(action.key, key)
        one = dataclasses.replace(first, label=key, mask=None, source=source, hidden=False)
        changes = [dataclasses.replace(c, hidden=True) if c in parts else c for c in changes] + [
            one
        ]
    return changes


def _routed_names(action: Action, changes: list[FieldChange], names: Names) -> list[FieldChange]:
    """A split naming old instances or others' resources, again with names people read; the
    change as computed stays (apply and smoke tests read it) but is hidden."""
    route = action.route
    assert route is not None
    for i, change in enumerate(changes):
        if change.path != route.path or change.hidden:
            continue

        def renamed(value: Any) -> Any:
            if not isinstance(value, Mapping):
                return value
            out: dict[str, Any] = {}
            for k, v in value.items():
                name = names.routed(action.key.model_key, route.target, str(k))
                while name in out:  # two old instances that read the same stay two entries
                    name += "'"
                out[name] = v
            return out

        before, after = renamed(change.before), renamed(change.after)
        if (before, after) == (change.before, change.after):
            return []
        changes[i] = dataclasses.replace(change, hidden=True)
        return [dataclasses.replace(change, before=before, after=after, mask=None)]
    return []


def _artifact(change: FieldChange, written: str) -> str:
    def digest(value: Any) -> str:
        return f"(digest {str(value)[:DIGEST_CHARS]}…)" if value else "(none)"

    if change.after is None:
        return digest(change.before)
    after = f"{written} {digest(change.after)}" if written else digest(change.after)
    if change.before is None:
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
    if protect[0] != protect[1] and change.before is not None and change.after is not None:
        out.append(
            FieldChange(
                "labels." + ownership.LABEL_PROTECT,
                protect[0],
                protect[1],
                label="protect",
                source=where.locate(action.key, "protect"),
                drift=change.drift,
            )
        )
    return out
