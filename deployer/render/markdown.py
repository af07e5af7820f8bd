"""The plan as a pull-request comment (GitHub-flavored Markdown).

Summary and destructive changes come first, then drift, then one collapsible section per model,
then ignored resources. The comment never exceeds `limit` characters: whole model sections are
left out from the end, with a note saying how many, and long lists are cut with a count.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from deployer.plan.model import Action, Plan
from deployer.render.values import (
    CHANGE_INDENT,
    DRIFT_TITLE,
    FORCES,
    IGNORED_TITLE,
    by_model,
    change_text,
    drift_fields,
    group_summary,
    one_line,
    plan_outcome,
    symbol,
)

MARKDOWN_LIMIT = 65_000
"""GitHub refuses comments longer than 65,536 characters; stay clearly below."""
LIST_LIMIT = 30
"""Items shown per list (destructive changes, errors, warnings, drift, ignored)."""
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
    tail = _ignored(plan)
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


def _head(plan: Plan) -> str:
    parts = [
        f"## deployer plan: stack {code(plan.stack)} in project {code(plan.project)}\n\n",
        f"**{plan_outcome(plan)}**\n",
    ]
    destructive = [a for a in plan.actions if a.destructive]
    if destructive:
        parts.append(
            _list(
                "### :warning: Destructive changes",
                [_action_item(a) for a in destructive],
                "destructive changes",
            )
        )
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


def _action_item(action: Action) -> str:
    return f"**{action.kind.value}** {code(action.address)}: {escape(action.reason)}"


def _model_section(plan: Plan, model: str, actions: Sequence[Action]) -> str:
    summary = f"<code>{html.escape(model)}</code>: {html.escape(group_summary(plan, actions))}"
    block = "\n".join(_block_lines(actions))
    fence = "`" * max(3, _longest_backtick_run(block) + 1)
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{block}\n{fence}\n\n</details>\n"


def _block_lines(actions: Iterable[Action]) -> list[str]:
    lines: list[str] = []
    for action in actions:
        drift = "  (drift)" if action.drift else ""
        lines.append(f"{symbol(action)} {action.address}  # {one_line(action.reason)}{drift}")
        for change in action.changes:
            forces = f"  {FORCES}" if change.forces_replacement else ""
            lines.append(f"{CHANGE_INDENT}{change_text(action, change)}{forces}")
    return lines


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _truncation_note(left_out: int, total: int, actions: int, limit: int) -> str:
    return (
        f"\n> [!NOTE]\n> Output truncated to stay under {limit:,} characters: "
        f"{left_out:,} of {total:,} model sections ({actions:,} actions) were left out. "
        "Run `deployer plan` locally for the full output.\n"
    )
