"""Presentation shared by the renderers: symbols, value formatting, grouping by model."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from deployer.plan.model import Action, ActionKind, FieldChange, Plan, Summary

SYMBOLS: dict[ActionKind, str] = {
    ActionKind.CREATE: "+",
    ActionKind.UPDATE: "~",
    ActionKind.REPLACE: "-/+",
    ActionKind.DELETE: "-",
    ActionKind.SET_DEFAULT: "»",
    ActionKind.SET_TRAFFIC: "»",
    ActionKind.WAIT: "…",
}
SYMBOL_WIDTH = max(len(s) for s in SYMBOLS.values())

NO_CHANGES = "No changes. The live state matches the manifests."
DRIFT_TITLE = "Drift: changed outside deployer"
IGNORED_TITLE = "Ignored (not managed by this stack)"
FORCES = "# forces replacement"


def fmt_value(value: Any) -> str:
    """One-line rendering of a field value: strings quoted, containers as compact JSON."""
    if value is None:
        return "(none)"
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


def one_line(text: str) -> str:
    """Reasons and messages on a single line (they are printed inside lists and comments)."""
    return " ".join(text.split())


def summary_line(summary: Summary) -> str:
    return (
        f"Plan: {summary.add} to add, {summary.change} to change, "
        f"{summary.replace} to replace, {summary.destroy} to destroy."
    )


def plan_outcome(plan: Plan) -> str:
    """The closing line: the summary, or that nothing changes."""
    if not plan.actions and not plan.errors:
        return NO_CHANGES
    return summary_line(plan.summary)


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
    return ", ".join(c.path for c in action.changes) or "live state"


def split_text(split: Any) -> str:
    """A traffic split as `v1 90, v2 10` (`none` when nothing is routed)."""
    if not split:
        return "none"
    return ", ".join(f"{name} {pct}" for name, pct in sorted(dict(split).items()))


def change_text(action: Action, change: FieldChange) -> str:
    """`path: before -> after`, or `path: value` for a field a create sets."""
    if action.kind is ActionKind.SET_TRAFFIC:
        return f"{change.path}: {split_text(change.before)} -> {split_text(change.after)}"
    if action.kind is ActionKind.CREATE and change.before is None:
        return f"{change.path}: {fmt_value(change.after)}"
    return f"{change.path}: {fmt_value(change.before)} -> {fmt_value(change.after)}"


def symbol(action: Action) -> str:
    """The action's symbol, right-aligned so addresses line up (`  +`, `-/+`, `+/-`).

    As Terraform: `-/+` deletes then creates, `+/-` creates the replacement first.
    """
    if action.kind is ActionKind.REPLACE and action.create_first:
        return "+/-"
    return SYMBOLS[action.kind].rjust(SYMBOL_WIDTH)


CHANGE_INDENT = " " * (SYMBOL_WIDTH + 3)
