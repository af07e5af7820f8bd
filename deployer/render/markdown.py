"""The plan as a pull-request comment (GitHub-flavored Markdown).

What changes is readable without expanding anything: the header (stack, environment, project,
backend, commit, the local twin), the outcome, a compact table of the first actions (serving
changes first, then destructive ones, both flagged), errors, warnings and drift. Then one
collapsible section per model whose `diff` block GitHub colors line by line (the marker in
column 0: `+` create, `-` delete, `!` update, replace or serving change), the ignored resources
and a short "how to apply" footer. The comment never exceeds `limit` characters: whole model
sections are left out from the end, with a note saying how many, and long lists are cut with a
count.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from deployer.plan.model import Action, ActionKind, Plan
from deployer.render.values import (
    CHANGE_INDENT,
    DRIFT_TITLE,
    FORCES,
    IGNORED_TITLE,
    by_model,
    change_lines,
    drift_fields,
    group_summary,
    one_line,
    plan_outcome,
    replace_cost,
    reroute_text,
    symbol,
    visible,
)

MARKDOWN_LIMIT = 65_000
"""GitHub refuses comments longer than 65,536 characters; stay clearly below."""
LIST_LIMIT = 30
"""Items shown per list (destructive changes, errors, warnings, drift, ignored)."""
TABLE_LIMIT = 25
"""Actions listed in the summary table (serving changes and destructive ones first)."""
ITEM_LIMIT = 300
"""Characters of escaped user text shown per list item: five full lists stay far below limit."""

_ESCAPED = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(text: str) -> str:
    """User text as inline Markdown: one line, markup and HTML characters escaped."""
    text = _ESCAPED.sub(r"\\\1", one_line(text)).replace("&", "&amp;")
    return text if len(text) <= ITEM_LIMIT else text[: ITEM_LIMIT - 1] + "…"


def code(text: str) -> str:
    """An inline code span that holds any text (backticks included)."""
    text = one_line(text)
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """The comment body, at most `limit` characters, identical for equal plans."""
    head = _head(plan)
    tail = _ignored(plan) + _footer(plan)
    groups = by_model(plan.actions)
    sections = [_model_section(plan, model, actions) for model, actions in groups]
    budget = (
        limit
        - len(head)
        - len(tail)
        - len(_truncation_note(len(groups), len(groups), 10**9, limit))
    )
    kept: list[str] = []
    used = 0
    for section in sections:
        if used + len(section) + 1 > budget:
            break
        kept.append(section)
        used += len(section) + 1
    body = head
    if sections:
        body += "\n### Changes by model\n\n" + "\n".join(kept)
    if len(kept) < len(sections):
        left_out = sum(len(actions) for _, actions in groups[len(kept) :])
        body += _truncation_note(len(sections) - len(kept), len(sections), left_out, limit)
    body += tail
    if len(body) > limit:  # only when the fixed parts alone are over: keep the beginning
        note = "\n\n_Output truncated. Run `deployer plan` locally for the full output._\n"
        body = body[: limit - len(note)] + note
    return body


MARKERS: dict[ActionKind, str] = {
    ActionKind.CREATE: "+",
    ActionKind.DELETE: "-",
    ActionKind.UPDATE: "!",
    ActionKind.REPLACE: "!",
    ActionKind.SET_DEFAULT: "!",
    ActionKind.SET_TRAFFIC: "!",
    ActionKind.WAIT: " ",
}
"""The column-0 marker GitHub colors in a `diff` block: green, red, orange (changed), none."""
REROUTE_FLAG = ":twisted_rightwards_arrows:"
DESTRUCTIVE_FLAG = ":warning:"


def _head(plan: Plan) -> str:
    env = f" ({code(plan.environment)})" if plan.environment else ""
    facts = [f"backend {code(plan.backend)}"]
    if plan.environment:
        facts.append(f"environment {code(plan.environment)}")
    if plan.commit:
        facts.append(f"commit {code(plan.commit)}")
    parts = [
        f"## deployer plan: stack {code(plan.stack)}{env} in project {code(plan.project)}\n\n",
        " · ".join(facts) + "\n",
    ]
    if plan.emulator:
        parts.append(
            f"\n> [!NOTE]\n> Live state read from the local twin at {code(plan.emulator)}, "
            "not Google Cloud.\n"
        )
    outcome = plan_outcome(plan)
    parts.append(f"\n**{':x: ' if plan.errors else ''}{outcome}**\n")
    if plan.actions:
        parts.append(_table(plan))
    if plan.errors:
        parts.append(_list("### :x: Errors", [escape(e) for e in plan.errors], "errors"))
    if plan.warnings:
        parts.append(_list("### Warnings", [escape(w) for w in plan.warnings], "warnings"))
    drift = plan.drift
    if drift:
        parts.append(
            _list(
                f"### {DRIFT_TITLE}",
                [f"{code(a.address)}: changed live: {escape(drift_fields(a))}" for a in drift],
                "drifted resources",
            )
        )
    return "".join(parts)


def _table(plan: Plan) -> str:
    """The first actions as `flag | action | address | detail`: serving changes, destructive
    ones, then the rest, each group in plan order."""
    ordered = (
        [a for a in plan.actions if a.reroutes]
        + [a for a in plan.actions if a.destructive]
        + [a for a in plan.actions if not a.reroutes and not a.destructive]
    )
    rows = ["| | action | address | detail |\n", "|---|---|---|---|\n"]
    for action in ordered[:TABLE_LIMIT]:
        rows.append(
            f"| {_flag(action)} | {action.kind.value} | {code(action.address)} "
            f"| {escape(_detail(plan, action))} |\n"
        )
    if len(ordered) > TABLE_LIMIT:
        rows.append(
            f"| | … | {len(ordered) - TABLE_LIMIT:,} more actions | see the sections below |\n"
        )
    legend = f"{REROUTE_FLAG} serving change · {DESTRUCTIVE_FLAG} destructive"
    return "\n" + "".join(rows) + f"\n<sub>{legend}</sub>\n"


def _flag(action: Action) -> str:
    if action.reroutes:
        return REROUTE_FLAG
    return DESTRUCTIVE_FLAG if action.destructive else ""


def _detail(plan: Plan, action: Action) -> str:
    if action.reroutes:
        return reroute_text(plan, action)
    if action.kind is ActionKind.REPLACE:
        return f"{action.reason} ({replace_cost(action)})"
    return action.reason


def _footer(plan: Plan) -> str:
    env = f" --env {plan.environment}" if plan.environment else ""
    if plan.errors:
        how = f"Fix the errors above, then run `deployer plan{env}` again."
    elif not plan.actions:
        return ""
    else:
        how = (
            f"To apply: `deployer apply{env}` plans again and asks before it changes anything; "
            f"`deployer plan{env} --out plan.json` then `deployer apply plan.json` executes "
            "exactly this plan (refused if the live state changed since)."
        )
    return f"\n---\n\n<sub>{how}</sub>\n"


def _ignored(plan: Plan) -> str:
    if not plan.ignored:
        return ""
    items = [f"{code(i.address)}: {escape(i.reason)}" for i in plan.ignored]
    return _list(f"### {IGNORED_TITLE}", items, "ignored resources")


def _list(title: str, items: Sequence[str], what: str) -> str:
    lines = [f"\n{title}\n\n"]
    lines += [f"- {item}\n" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(
            f"- … and {len(items) - LIST_LIMIT:,} more {what} "
            "(run `deployer plan` locally to see them all)\n"
        )
    return "".join(lines)


def _model_section(plan: Plan, model: str, actions: Sequence[Action]) -> str:
    summary = f"<code>{html.escape(model)}</code>: {html.escape(group_summary(plan, actions))}"
    block = "\n".join(_block_lines(actions))
    fence = "`" * max(3, _longest_backtick_run(block) + 1)
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{block}\n{fence}\n\n</details>\n"


def _block_lines(actions: Iterable[Action]) -> list[str]:
    """Diff lines, each starting with the marker GitHub colors (column 0)."""
    lines: list[str] = []
    for action in actions:
        mark = MARKERS[action.kind]
        drift = "  (drift)" if action.drift else ""
        create = action.kind is ActionKind.CREATE
        where = f"  ({action.source})" if action.source and create else ""
        reason = one_line(action.reason)
        lines.append(f"{mark} {symbol(action)} {action.address}  # {reason}{where}{drift}")
        if action.kind is ActionKind.REPLACE:
            lines.append(f"{mark} {CHANGE_INDENT}# {replace_cost(action)}")
        for change in visible(action):
            forces = f"  {FORCES}" if change.forces_replacement else ""
            at = f"  ({change.source})" if change.source and not create else ""
            for text in change_lines(action, change):
                lines.append(f"{mark} {CHANGE_INDENT}{text}{forces}{at}")
    return lines


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _truncation_note(left_out: int, total: int, actions: int, limit: int) -> str:
    return (
        f"\n> [!NOTE]\n> Output truncated to stay under {limit:,} characters: "
        f"{left_out:,} of {total:,} model sections ({actions:,} actions) were left out. "
        "Run `deployer plan` locally for the full output.\n"
    )
