"""Terraform-like text output: colored on a terminal, plain under NO_COLOR or when piped."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from deployer.core.plan import Action, ActionKind, Plan
from deployer.render.resources import environments_line, text_lines
from deployer.render.serving import Event, Level, by_model, events, group_heading, grouped
from deployer.render.values import (
    CHANGE_INDENT,
    DRIFT_TITLE,
    FORCES,
    IGNORED_TITLE,
    SERVING_TITLE,
    SET_LIVE,
    change_lines,
    drift_fields,
    header_lines,
    one_line,
    partial_note,
    plan_outcome,
    reason_text,
    replace_cost,
    reroute_text,
    said,
    symbol,
    visible,
)

STYLES: dict[ActionKind, str] = {
    ActionKind.CREATE: "green",
    ActionKind.UPDATE: "yellow",
    ActionKind.DELETE_THEN_CREATE: "red",
    ActionKind.CREATE_THEN_DELETE: "yellow",
    ActionKind.DELETE: "red",
    ActionKind.REROUTE: "cyan",
    ActionKind.WAIT: "blue",
}
"""As Terraform: red for destroy and delete-first replacement, green create, yellow update (and
a create-first replacement, which takes nothing away)."""
LEVEL_STYLES = {Level.DOWN: "bold red", Level.WARN: "yellow", Level.SWITCH: "cyan", Level.QUIET: ""}
HEADING = "bold"
COMMENT = "dim"

Segment = tuple[str, str]
Line = list[Segment]


def render_text(plan: Plan, console: Console | None = None) -> None:
    """Print the plan. Without a console: stdout, colored only on a terminal without NO_COLOR."""
    if console is None:
        console = Console(file=sys.stdout, soft_wrap=True, highlight=False)
    styled = not console.no_color and console.color_system is not None
    for line in _lines(plan):
        text = Text()
        for content, style in line:
            text.append(content, style=style if styled else None)
        console.print(text, soft_wrap=True, highlight=False)


def total_line(plans: Sequence[Plan]) -> str:
    """After several environments' plans: their serving cost together ("" when none is
    priced or there is one plan)."""
    said = environments_line(plans) if len(plans) > 1 else ""
    return f"All environments: {said}" if said else ""


def text_plain(plan: Plan) -> str:
    """The same output without any styling, for files and tests."""
    return "".join("".join(content for content, _ in line) + "\n" for line in _lines(plan))


def _problems(plan: Plan) -> list[Line]:
    out: list[Line] = []
    for title, messages, style in (
        ("Errors:", plan.errors, "red"),
        ("Warnings:", plan.warnings, "yellow"),
    ):
        if messages:
            out += [[], [(title, f"bold {style}")]]
            out += [[(f"  - {one_line(said(plan, m))}", style)] for m in messages]
    return out


def _lines(plan: Plan) -> list[Line]:
    head = header_lines(plan)
    out: list[Line] = [[(head[0], HEADING)]] + [[(line, COMMENT)] for line in head[1:]]
    partial = partial_note(plan)
    if partial:
        out += [[], [(partial, "bold yellow")]]
    if plan.errors:  # a failed plan says so first
        out += _problems(plan)
    story = events(plan)
    if story:
        out += [[], [(f"{SERVING_TITLE}:", HEADING)]]
        for event, models in grouped(story):
            out.append([(f"  {_event_line(event, models)}", LEVEL_STYLES[event.level])])
    drift = plan.drift
    if drift:
        out += [[], [(DRIFT_TITLE, HEADING)]]
        for action in drift:
            out.append(
                [
                    (symbol(action), STYLES[action.kind]),
                    (f" {action.shown}", ""),
                    (f"  # {drift_fields(action)}", "yellow"),
                ]
            )
    for model, actions in by_model(plan.actions):
        out += [[], [(group_heading(plan, model, actions), HEADING)]]
        for action in actions:
            out += _action_lines(plan, action)
    if plan.ignored:
        out += [[], [(f"{IGNORED_TITLE}:", HEADING)]]
        out += [
            [(f"  {i.shown}", ""), (f"  # {one_line(i.reason)}", COMMENT)] for i in plan.ignored
        ]
    accounts = text_lines(plan)
    if accounts:
        out += [[], [(accounts[0], HEADING)]] + [[(line, "")] for line in accounts[1:]]
    if not plan.errors:
        out += _problems(plan)
    out += [[], [(plan_outcome(plan), "bold red" if plan.errors else HEADING)]]
    return out


GROUP_NAMES = 5
"""Models named on one line of the serving section; the rest are counted."""


def _event_line(event: Event, models: list[str]) -> str:
    if len(models) == 1:
        return event.line
    names = ", ".join(models[:GROUP_NAMES])
    more = f" and {len(models) - GROUP_NAMES} more" if len(models) > GROUP_NAMES else ""
    who = f"{names}{more} ({len(models)} models)"
    return f"{event.tag}: {who} {event.text}" if event.tag else f"{who}: {event.text}"


def _action_lines(plan: Plan, action: Action) -> list[Line]:
    style = STYLES[action.kind]
    where = f"  ({action.source})" if action.source and action.kind is ActionKind.CREATE else ""
    comment = reroute_text(plan, action) if action.reroutes else reason_text(action)
    head: Line = [
        (symbol(action), style),
        (f" {action.shown}", style),
        (f"  # {comment}{where}", COMMENT),
    ]
    if action.drift:
        head.append(("  (drift)", "yellow"))
    lines = [head]
    if action.kind.replaces:
        lines.append([(f"{CHANGE_INDENT}# {replace_cost(action)}", style)])
    for change in visible(action):
        shown_at = (
            f"  ({change.source})" if change.source and action.kind is not ActionKind.CREATE else ""
        )
        for text in change_lines(action, change):
            line: Line = [(CHANGE_INDENT + text, "")]
            if change.forces_replacement:
                line.append((f"  {FORCES}", STYLES[ActionKind.DELETE]))
            if change.drift:
                line.append((f"  {SET_LIVE}", "yellow"))
            if shown_at:
                line.append((shown_at, COMMENT))
            lines.append(line)
    return lines
