"""Terraform-like text output: colored on a terminal, plain under NO_COLOR or when piped."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text

from deployer.core.plan import Action, ActionKind, Plan
from deployer.render.resources import text_lines
from deployer.render.values import (
    CHANGE_INDENT,
    DRIFT_TITLE,
    FORCES,
    IGNORED_TITLE,
    REROUTE_TITLE,
    by_model,
    change_lines,
    drift_fields,
    header_lines,
    one_line,
    plan_outcome,
    reason_text,
    replace_cost,
    reroute_text,
    symbol,
    visible,
)

STYLES: dict[ActionKind, str] = {
    ActionKind.CREATE: "green",
    ActionKind.UPDATE: "yellow",
    ActionKind.DELETE_THEN_CREATE: "red",
    ActionKind.CREATE_THEN_DELETE: "red",
    ActionKind.DELETE: "red",
    ActionKind.REROUTE: "cyan",
    ActionKind.WAIT: "blue",
}
"""As Terraform: red for destroy and forced replacement, green create, yellow update."""
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


def text_plain(plan: Plan) -> str:
    """The same output without any styling, for files and tests."""
    return "".join("".join(content for content, _ in line) + "\n" for line in _lines(plan))


def _lines(plan: Plan) -> list[Line]:
    head = header_lines(plan)
    out: list[Line] = [[(head[0], HEADING)]] + [[(line, COMMENT)] for line in head[1:]]
    reroutes = [a for a in plan.actions if a.reroutes]
    if reroutes:
        out += [[], [(f"{REROUTE_TITLE}:", HEADING)]]
        for action in reroutes:
            out.append(
                [
                    (symbol(action), STYLES[action.kind]),
                    (f" {action.address}", STYLES[action.kind]),
                    (f"  {reroute_text(plan, action)}", ""),
                ]
            )
    drift = plan.drift
    if drift:
        out += [[], [(DRIFT_TITLE, HEADING)]]
        for action in drift:
            out.append(
                [
                    (symbol(action), STYLES[action.kind]),
                    (f" {action.address}", ""),
                    (f"  # changed live: {drift_fields(action)}", COMMENT),
                ]
            )
    for model, actions in by_model(plan.actions):
        out += [[], [(f"Model {model}", HEADING)]]
        for action in actions:
            out += _action_lines(action)
    if plan.ignored:
        out += [[], [(f"{IGNORED_TITLE}:", HEADING)]]
        out += [
            [(f"  {i.address}", ""), (f"  # {one_line(i.reason)}", COMMENT)] for i in plan.ignored
        ]
    accounts = text_lines(plan)
    if accounts:
        out += [[], [(accounts[0], HEADING)]] + [[(line, "")] for line in accounts[1:]]
    for title, messages, style in (
        ("Warnings:", plan.warnings, "yellow"),
        ("Errors:", plan.errors, "red"),
    ):
        if messages:
            out += [[], [(title, f"bold {style}")]]
            out += [[(f"  - {one_line(m)}", style)] for m in messages]
    out += [[], [(plan_outcome(plan), "bold red" if plan.errors else HEADING)]]
    return out


def _action_lines(action: Action) -> list[Line]:
    style = STYLES[action.kind]
    where = f"  ({action.source})" if action.source and action.kind is ActionKind.CREATE else ""
    head: Line = [
        (symbol(action), style),
        (f" {action.address}", style),
        (f"  # {reason_text(action)}{where}", COMMENT),
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
            if shown_at:
                line.append((shown_at, COMMENT))
            lines.append(line)
    return lines
