"""Presentation shared by the renderers: symbols, headers, value formatting, grouping by model.

Everything here reads the Plan as data (action kinds, routes, typed reasons, field labels the
provider's vocabulary put on each change); nothing depends on which backend produced it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from deployer.core.plan import (
    Action,
    ActionKind,
    FieldChange,
    Plan,
    Summary,
    Why,
    summarize,
)
from deployer.core.sensitive import SHOWN, is_secret, shown
from deployer.render.serving import (
    DOWNTIME,
    STOPS,
    downtime,
    fates,
    left_by,
    model_actions,
    percent_text,
    shown_names,
    switch_text,
    touches_serving,
)

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
DRIFT_TITLE = "Drift: changed outside deployer (applying undoes it)"
IGNORED_TITLE = "Ignored (not managed by this stack)"
SERVING_TITLE = "Serving"
FORCES = "# forces replacement"
SET_LIVE = "# set outside deployer"
"""Marks a change whose live value (`before`) was set outside deployer: applying undoes it."""
VALUE_WIDTH = 72
"""Characters of one value shown; longer ones are elided in the middle."""
CREATE_FIRST_COST = "no downtime: the new one is created and serving first, then the old one goes"
DELETE_FIRST_COST = "deleted, then created again: unavailable in between"
DELETE_FIRST_SERVING = "deleted, then created again: it serves nothing in between"


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


def said(plan: Plan, message: str) -> str:
    """An error or warning with each address that holds a service-assigned id (an old
    instance, someone else's deployment) named as the plan's titles name it; the JSON keeps
    the message as computed."""
    titles = {a.address: a.title for a in plan.actions if a.title}
    titles.update({i.address: i.title for i in plan.ignored if i.title})
    for address in sorted(titles, key=len, reverse=True):
        if address in message:
            message = message.replace(address, titles[address])
    return message


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


def downtime_note(plan: Plan) -> str:
    """`No downtime.` or `DOWNTIME in 1 model: global/iris.` when the plan touches what serves;
    "" otherwise (and for a failed plan, which applies nothing)."""
    if plan.errors or not touches_serving(plan):
        return ""
    down = downtime(plan)
    if not down:
        return "No downtime."
    out = []
    for tag, says in ((DOWNTIME, "DOWNTIME in"), (STOPS, "Stops serving:")):
        models = list(dict.fromkeys(e.model for e in down if e.tag == tag))
        if models:
            n = len(models)
            what = f" {n} model{'s' if n != 1 else ''}:" if tag == DOWNTIME else ""
            out.append(f"{says}{what} {', '.join(models)}.")
    return " ".join(out)


def plan_outcome(plan: Plan) -> str:
    """The closing line: that the plan failed, the summary, or that nothing changes; whether
    anything serves nothing for a while is said with the summary."""
    if plan.errors:
        n = len(plan.errors)
        return f"Plan failed: {n} error{'s' if n != 1 else ''}. Nothing will be applied."
    if not plan.actions:
        return NO_CHANGES
    note = downtime_note(plan)
    return summary_line(plan.summary) + (f" {note}" if note else "")


def partial_note(plan: Plan) -> str:
    """Terraform's "Resource targeting is in effect", for a plan limited by --target."""
    if not plan.targets:
        return ""
    shown = ", ".join(plan.targets)
    return (
        f"Resource targeting is in effect: only {shown} (and what it needs) was planned; "
        "other changes may be pending. Plan without --target to see everything."
    )


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
    s = summarize(subset)
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


def drift_fields(action: Action) -> str:
    """`scaling.nodes 4 (live) -> 1`: each field set outside deployer, its live value first."""
    drifted = action.drifted or tuple(c for c in action.changes if not c.hidden)
    out = []
    for c in drifted:
        if c.shown:
            out.append(f"{c.name}: {c.shown}")
        elif action.split:
            out.append(f"{c.name} {percent_text(c.before)} (live) -> {percent_text(c.after)}")
        else:
            out.append(f"{c.name} {fmt_value(c.before, 40)} (live) -> {fmt_value(c.after, 40)}")
    return "; ".join(out) or "live state"


def replace_cost(action: Action) -> str:
    """What a replace costs, from how it is done (create-then-delete or not) and whether what
    it replaces serves."""
    if action.kind is ActionKind.CREATE_THEN_DELETE:
        return CREATE_FIRST_COST
    return DELETE_FIRST_SERVING if action.serving else DELETE_FIRST_COST


def replace_text(action: Action) -> str:
    """`forced by machine_type; no downtime: …`: why a replacement, and what it costs."""
    reason = action.reason
    paths = ", ".join(reason.paths)
    if reason.why is Why.FAILED:
        why = "the live one is FAILED"
    elif reason.why is Why.FORCED and paths:
        why = f"forced by {paths}"
    else:
        why = reason_text(action)
    return f"{why}; {replace_cost(action)}"


def visible(action: Action) -> list[FieldChange]:
    return [c for c in action.changes if not c.hidden]


def change_lines(action: Action, change: FieldChange) -> list[str]:
    """`name: before -> after` (`name: value` for a create, and for what a delete removes);
    maps key by key."""
    name = change.name
    if change.shown:
        return [f"{name}: {change.shown}"]
    if split_route(action):
        return [f"{name}: {percent_text(change.before)} -> {percent_text(change.after)}"]
    if action.kind is ActionKind.CREATE and change.before is None:
        return [f"{name}: {fmt_value(change.after)}"]
    if action.kind is ActionKind.DELETE and change.after is None:
        return [f"{name}: {fmt_value(change.before)}"]
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
    """A default move or traffic change in words, with what happens to what served before."""
    text = switch_text(action)
    if action.route is not None and not action.route.serves:
        return f"{text} (routes no requests)"
    model = model_actions(plan, action)
    before = {n.split("#", 1)[0] for n in _names(action, "before")}
    after = _names(action, "after")
    renewed = [
        name for name in after if any(a.kind.replaces and a.key.version == name for a in model)
    ]
    if action.split and before == set(after) and renewed:
        change = next((c for c in action.changes if not c.hidden), action.changes[0])
        return (
            f"{action.route.name if action.route else 'traffic'} stays "
            f"{percent_text(change.after)}: {', '.join(renewed)} "
            f"move{'s' if len(renewed) == 1 else ''} to {'its' if len(renewed) == 1 else 'their'} "
            "replacement once it serves"
        )
    renewing = next((a for a in model if a.create_first and a.key == action.key.current), None)
    if renewing is not None:  # a root replaced create-first (a new endpoint)
        kind = action.key.kind
        if action.key.instance:
            return f"{text}: the old {kind} stops serving once the new {kind} serves"
        return f"{text}: the new {kind} takes the traffic once every version serves there"
    then = fates(model, left_by(action), shown_names(action))
    return text + (f"; then {then}" if then else "")


def _names(action: Action, side: str) -> list[str]:
    change = action.changes[0] if action.changes else None
    value = getattr(change, side) if change is not None else None
    if isinstance(value, Mapping):
        return [str(k) for k, v in sorted(value.items()) if v]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def symbol(action: Action) -> str:
    """The action's symbol, right-aligned so addresses line up (`  +`, `-/+`, `+/-`)."""
    return SYMBOLS[action.kind].rjust(SYMBOL_WIDTH)


CHANGE_INDENT = " " * (SYMBOL_WIDTH + 3)
