"""Presentation shared by the renderers: symbols, headers, value formatting, grouping by model.

Everything here reads the Plan as data (action kinds, routes, typed reasons, field labels the
provider's vocabulary put on each change); nothing depends on which backend produced it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Summary, split_text
from deployer.core.sensitive import SHOWN, is_secret, shown

SYMBOLS: dict[ActionKind, str] = {
    ActionKind.CREATE: "+",
    ActionKind.UPDATE: "~",
    ActionKind.DELETE_THEN_CREATE: "-/+",
    ActionKind.CREATE_THEN_DELETE: "+/-",
    ActionKind.DELETE: "-",
    ActionKind.REROUTE: "»",
    ActionKind.WAIT: "…",
}
"""As Terraform: `-/+` deletes then creates, `+/-` creates the replacement first."""
SYMBOL_WIDTH = max(len(s) for s in SYMBOLS.values())

NO_CHANGES = "No changes. The live state matches the manifests."
DRIFT_TITLE = "Drift: changed outside deployer"
IGNORED_TITLE = "Ignored (not managed by this stack)"
REROUTE_TITLE = "Serving changes (default version, traffic)"
FORCES = "# forces replacement"
VALUE_WIDTH = 72
"""Characters of one value shown; longer ones are elided in the middle."""
CREATE_FIRST_COST = "new one created and serving first, then traffic moves, then the old one goes"
DELETE_FIRST_COST = "deleted, then created again: unavailable in between"


def elide(text: str, width: int = VALUE_WIDTH) -> str:
    """`text` within `width` characters, cut in the middle (`gs://a/…/b`), never at the end."""
    if len(text) <= width:
        return text
    keep = width - 1
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def fmt_value(value: Any, width: int = VALUE_WIDTH) -> str:
    """One-line rendering of a field value: strings quoted, containers as compact JSON; a
    sensitive value (deployer.core.sensitive) as `(sensitive value)`, wherever it is nested."""
    if value is None:
        return "(none)"
    if is_secret(value):
        return SHOWN
    try:
        text = json.dumps(shown(value), sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return elide(text, width)


def one_line(text: str) -> str:
    """Reasons and messages on a single line (they are printed inside lists and comments)."""
    return " ".join(text.split())


def reason_text(action: Action) -> str:
    return one_line(action.reason.text())


def split_route(action: Action) -> bool:
    """A reroute of a weighted split (a traffic change), not of a single target."""
    return action.split


def summary_line(summary: Summary) -> str:
    return (
        f"Plan: {summary.add} to add, {summary.change} to change, "
        f"{summary.replace} to replace, {summary.destroy} to destroy, "
        f"{summary.reroute} to reroute."
    )


def plan_outcome(plan: Plan) -> str:
    """The closing line: that the plan failed, the summary, or that nothing changes."""
    if plan.errors:
        n = len(plan.errors)
        return f"Plan failed: {n} error{'s' if n != 1 else ''}. Nothing will be applied."
    if not plan.actions:
        return NO_CHANGES
    return summary_line(plan.summary)


def header_lines(plan: Plan) -> list[str]:
    """Stack, environment, project and backend; the local twin when the state came from it."""
    env = f" (environment {plan.environment})" if plan.environment else ""
    backend = f", backend {plan.backend}" if plan.backend else ""
    lines = [f'Stack "{plan.stack}"{env} in project "{plan.project}"{backend}']
    if plan.commit:
        lines.append(f"Manifests at commit {plan.commit}")
    if plan.emulator:
        lines.append(f"Live state read from the local twin at {plan.emulator}, not Google Cloud")
    return lines


def group_summary(plan: Plan, actions: Iterable[Action]) -> str:
    """Short counts for a subset of actions, e.g. `1 to add, 2 to destroy, 1 to wait for`."""
    subset = tuple(actions)
    s = replace(plan, actions=subset).summary
    waits = sum(1 for a in subset if a.kind is ActionKind.WAIT)
    parts = [
        f"{n} {what}"
        for n, what in (
            (s.add, "to add"),
            (s.change, "to change"),
            (s.replace, "to replace"),
            (s.destroy, "to destroy"),
            (s.reroute, "to reroute"),
            (waits, "to wait for"),
        )
        if n
    ]
    return ", ".join(parts) or "no changes"


def by_model(actions: Iterable[Action]) -> list[tuple[str, list[Action]]]:
    """Actions grouped by model address, groups in order of first appearance, actions in order."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.key.model_key.address, []).append(action)
    return list(groups.items())


def drift_fields(action: Action) -> str:
    return ", ".join(c.name for c in action.changes if not c.hidden) or "live state"


def replace_cost(action: Action) -> str:
    """What a replace costs, from how it is done (create-then-delete or not)."""
    return CREATE_FIRST_COST if action.kind is ActionKind.CREATE_THEN_DELETE else DELETE_FIRST_COST


def visible(action: Action) -> list[FieldChange]:
    return [c for c in action.changes if not c.hidden]


def change_lines(action: Action, change: FieldChange) -> list[str]:
    """`name: before -> after` (`name: value` for a create); maps key by key."""
    name = change.name
    if change.shown:
        return [f"{name}: {change.shown}"]
    if split_route(action):
        return [f"{name}: {split_text(change.before)} -> {split_text(change.after)}"]
    if action.kind is ActionKind.CREATE and change.before is None:
        return [f"{name}: {fmt_value(change.after)}"]
    before, after = change.before, change.after
    if _is_map(before) and _is_map(after) and (before or after):
        b, a = dict(before or {}), dict(after or {})
        return [
            f"{name}.{k}: {fmt_value(b.get(k))} -> {fmt_value(a.get(k))}"
            for k in sorted(set(b) | set(a))
            if b.get(k) != a.get(k)
        ]
    return [f"{name}: {fmt_value(before)} -> {fmt_value(after)}"]


def _is_map(value: Any) -> bool:
    return value is None or isinstance(value, Mapping)


def reroute_text(plan: Plan, action: Action) -> str:
    """A default move or traffic change, and what then happens to what served before."""
    change = action.changes[0] if action.changes else None
    if change is None:
        return reason_text(action)
    if split_route(action):
        text = f"traffic: {split_text(change.before)} -> {split_text(change.after)}"
        before = dict(change.before or {})
        after = dict(change.after or {})
        old = [v for v in sorted(before) if not after.get(v)]
    else:
        text = f"default version: {change.before or '(none)'} -> {change.after}"
        old = [v.strip() for v in str(change.before or "").split(",") if v.strip()]
    fates = [f"{v}: {_fate(plan, action, v)}" for v in old if v != change.after]
    if split_route(action):
        fates += [
            f"{v} moves to its replacement"
            for v in sorted(after)
            if any(
                a.kind.replaces and a.key.model_key == action.key.model_key and a.key.version == v
                for a in plan.actions
            )
        ]
    return text + ("; then " + "; ".join(fates) if fates else "")


def _fate(plan: Plan, move: Action, version: str) -> str:
    """`version deleted`, `deployment deleted, version deleted`, … : the plan's other actions
    on a version that stops serving."""
    model = move.key.model_key
    done = [
        a
        for a in plan.actions
        if a.key.model_key == model and a.key.version == version and not a.reroutes
    ]
    if not done:
        return "stays, no traffic" if move.key.part else "stays, no longer the default"
    words = {
        ActionKind.DELETE: "deleted",
        ActionKind.DELETE_THEN_CREATE: "replaced",
        ActionKind.CREATE_THEN_DELETE: "replaced",
        ActionKind.UPDATE: "updated",
        ActionKind.CREATE: "created",
        ActionKind.WAIT: "waited for",
    }
    return ", ".join(dict.fromkeys(f"{a.key.kind} {words[a.kind]}" for a in done))


def symbol(action: Action) -> str:
    """The action's symbol, right-aligned so addresses line up (`  +`, `-/+`, `+/-`)."""
    return SYMBOLS[action.kind].rjust(SYMBOL_WIDTH)


CHANGE_INDENT = " " * (SYMBOL_WIDTH + 3)
