"""The plan as a pull-request comment (GitHub-flavored Markdown).

What matters is readable without expanding anything: the header (stack, environment, project,
backend, commit, the local twin), that the plan is partial (`--target`), a failure and its
errors first, then a banner saying per model, in plain words, what happens to serving: downtime
named as downtime, a rollout that keeps serving said to, a version gaining traffic while losing
capacity, a serving switch that undoes a change made outside deployer; then the outcome, a
compact table of the first actions (dangerous first, identical rows grouped), warnings and
drift. A collapsible Mermaid graph is added only when it says something the table cannot: an
action waiting for one of another model. Then one section per region (regions without changes
on one line) holding one collapsible section per model whose `diff` block GitHub colors line by
line (the marker in column 0: `+` create, `-` delete, `!` update, replace or serving change),
the ignored resources and a short "how to apply" footer.

`render_markdown_many` puts several plans (one per environment, read back from `--out` files)
in one comment: an overview table and banner, then each plan as its own environment section;
environments without changes are collapsed.

The comment never exceeds `limit` characters: the graph goes first, then model sections, the
most benign first (creates and in-place updates before serving switches, those before deletes
and downtime), with a note naming the models left out; long lists are cut with a count. Several
plans share the limit fairly (a plan that needs less leaves the rest to the others).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from deployer.core.plan import Action, ActionKind, Cost, Plan
from deployer.render.resources import TITLE as RESOURCES_TITLE
from deployer.render.resources import (
    amount_text,
    change_text,
    cost_change,
    cost_line,
    environments_line,
    models_in,
    quota_text,
    region_cost,
)
from deployer.render.serving import (
    DOWNTIME,
    Event,
    Level,
    by_model,
    events,
    group_kind,
    grouped,
    serves,
)
from deployer.render.values import (
    CHANGE_INDENT,
    DRIFT_TITLE,
    FORCES,
    IGNORED_TITLE,
    SET_LIVE,
    change_lines,
    drift_fields,
    group_summary,
    one_line,
    partial_note,
    plan_outcome,
    reason_text,
    replace_cost,
    replace_text,
    reroute_text,
    said,
    symbol,
    visible,
)

MARKDOWN_LIMIT = 65_000
"""GitHub refuses comments longer than 65,536 characters; stay clearly below."""
LIST_LIMIT = 30
"""Items shown per list (destructive changes, errors, warnings, drift, ignored)."""
TABLE_LIMIT = 25
"""Rows of the summary table (the most dangerous first; identical rows grouped)."""
GROUP_NAMES = 3
"""Addresses named in one grouped row of the table."""
TABLE_STEPS = (TABLE_LIMIT, 10, 5, 0)
"""Shorter tables tried in turn when the header alone leaves less than SECTION_ROOM."""
SECTION_ROOM = 2_000
"""Characters the header should leave for model sections and notes."""
ITEM_LIMIT = 300
"""Characters of escaped user text shown per list item: five full lists stay far below limit."""
BANNER_LIMIT = 8
"""Addresses named per line of the banner, serving switches listed in it."""
GRAPH_NODE_LIMIT = 80
"""Actions drawn in the Mermaid graph (the first ones, in plan order)."""
GRAPH_EDGE_LIMIT = 300
"""Dependency edges drawn (GitHub's Mermaid refuses graphs over 500 edges)."""

_ESCAPED = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_LIST_START = re.compile(r"^(\d*)([-.])")
NO_MENTION = "@&#8203;"
"""`@` followed by a zero-width space: `@team` in user text would notify that team (GitHub
links mentions in text, whatever escaping Markdown saw; not inside code)."""

# Every string a plan holds is user-controlled (a saved plan is a file anyone can edit), so each
# lands through the helper for its context: `escape` (inline text), `code` (a code span),
# `cell` (a code span in a table cell), `html_text` (inside an HTML element), `block_text` (a
# line of a fenced block) and `mermaid_label`.


def escape(text: str) -> str:
    """User text as inline Markdown: one line, markup and HTML characters escaped (`|` and
    `\\` too, so it may stand in a table cell), no mentions."""
    text = _ESCAPED.sub(r"\\\1", one_line(text)).replace("&", "&amp;")
    text = _LIST_START.sub(r"\1\\\2", text)  # `- x`, `1. x` would start a list in a list item
    text = text if len(text) <= ITEM_LIMIT else text[: ITEM_LIMIT - 1] + "…"
    return text.replace("@", NO_MENTION)


def code(text: str) -> str:
    """An inline code span that holds any text (backticks included); not for table cells."""
    text = one_line(text)
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text: str) -> str:
    """Code in a table cell. GitHub splits a row at every `|` not escaped by a backslash, even
    inside a code span, where no backslash can escape another: text with `|` or `\\` becomes
    a `<code>` element holding escaped text instead."""
    if "|" not in text and "\\" not in text:
        return code(text)
    return f"<code>{escape(text)}</code>"


def html_text(text: str) -> str:
    """Text inside an HTML element (`<summary>`): one line (a blank line would end the HTML
    block and let Markdown in), entities escaped, no mentions."""
    return html.escape(one_line(text)).replace("@", NO_MENTION)


def block_text(text: str) -> str:
    """A value on one line of a fenced block: never a line of its own (a newline in an
    address or a path of a hand-made plan could pose as another action)."""
    return " ".join(text.splitlines()) if text else text


def render_markdown(plan: Plan, limit: int = MARKDOWN_LIMIT, regions: Sequence[str] = ()) -> str:
    """The comment body, at most `limit` characters, identical for equal plans.

    `regions`: every region the stack declares; those without changes are listed on one line.
    """
    title = (
        f"deployer plan: stack {code(plan.stack)}"
        f"{f' ({code(plan.environment)})' if plan.environment else ''}"
        f" in project {code(plan.project)}"
    )
    top = _cost_top(plan)
    return top + _render(plan, limit - len(top), regions, level=2, title=title)


def render_markdown_many(plans: Sequence[Plan], limit: int = MARKDOWN_LIMIT) -> str:
    """Several plans (one per environment) as one comment of at most `limit` characters:
    an overview, then one section per environment, unchanged environments collapsed."""
    if len(plans) == 1:
        return render_markdown(plans[0], limit)
    overview = _cost_top_many(plans) + _overview(plans) + _cost_by_environment(plans)
    full = [_env_section(plan, 10**9, limit) for plan in plans]
    budget = limit - len(overview) - len(plans)
    if sum(len(s) for s in full) > budget:
        shares = _fair_shares([len(s) for s in full], budget)
        full = [_env_section(plan, share, limit) for plan, share in zip(plans, shares, strict=True)]
    return _fit(overview + "\n".join(full), limit)


# --- one plan -----------------------------------------------------------------------------


def _render(
    plan: Plan, limit: int, regions: Sequence[str], level: int, title: str, cap: int = 0
) -> str:
    """One plan within `limit` characters; notes name `cap` (the whole comment's limit)."""
    cap = cap or limit
    tail = _ignored(plan, level + 1) + _footer(plan)
    for rows in TABLE_STEPS:  # a shorter table when the limit is tight (several plans)
        head = _head(plan, level, title, rows) + _resources_section(plan, level + 1, level > 2)
        if len(head) + len(tail) + SECTION_ROOM <= limit:
            break
    graph = _graph_section(plan)
    groups = by_model(plan.actions)
    by_region = _by_region(groups)
    unchanged = [r for r in dict.fromkeys(regions) if r not in by_region]
    quiet = _unchanged_regions(unchanged)
    sections = [
        (region, model, actions, _model_section(plan, model, actions))
        for region, models in by_region.items()
        for model, actions in models
    ]
    region_heads = {
        region: _region_heading(plan, region, models, level + 2)
        for region, models in by_region.items()
    }
    title_line = f"\n{'#' * (level + 1)} Changes by region\n" if sections or quiet else ""
    fixed = len(head) + len(tail) + len(title_line) + len(quiet)
    note_room = len(_truncation_note([m for _, m, _, _ in sections], 10**9, cap))
    whole = sum(len(s) + 1 for *_, s in sections) + sum(len(h) for h in region_heads.values())
    if fixed + len(graph) + whole > limit:
        graph = _graph_left_out(plan, cap) if graph else ""
    budget = limit - fixed - len(graph) - note_room
    kept = _kept(plan, sections, region_heads, budget)
    body: list[str] = []
    seen: set[str] = set()
    for i, (region, _, _, section) in enumerate(sections):
        if i not in kept:
            continue
        if region not in seen:
            body.append(region_heads[region])
            seen.add(region)
        body.append(section + "\n")
    text = head + graph + title_line + "".join(body).rstrip("\n") + ("\n" if kept else "")
    if len(kept) < len(sections):
        left = [(m, a) for i, (_, m, a, _) in enumerate(sections) if i not in kept]
        text += _truncation_note([m for m, _ in left], sum(len(a) for _, a in left), cap)
    return _fit(text + quiet + tail, limit)


def _kept(
    plan: Plan,
    sections: Sequence[tuple[str, str, list[Action], str]],
    region_heads: dict[str, str],
    budget: int,
) -> set[int]:
    """The model sections that fit in `budget`, the most dangerous kept first (downtime and
    deletes, then serving switches and replacements, then the rest), in plan order within
    the same danger."""
    order = sorted(range(len(sections)), key=lambda i: (_section_rank(sections[i][2]), i))
    kept: set[int] = set()
    heads: set[str] = set()
    used = 0
    for i in order:
        region, _, _, section = sections[i]
        cost = len(section) + 1 + (0 if region in heads else len(region_heads[region]))
        if used + cost > budget:
            continue
        kept.add(i)
        heads.add(region)
        used += cost
    return kept


def _section_rank(actions: Sequence[Action]) -> int:
    """Lower is more dangerous: the section is kept longer when the comment is cut."""
    return min((_rank(a) for a in actions), default=len(FLAGS))


def _fit(body: str, limit: int) -> str:
    """`body`, or its beginning cut at a line end with a note when the fixed parts alone are
    over `limit` (the cut never falls inside a diff block or a graph: they are dropped first)."""
    if len(body) <= limit:
        return body
    note = "\n\n_Output truncated. Run `deployer plan` locally for the full output._\n"
    if limit <= len(note):
        return note[-limit:] if limit > 0 else ""
    cut = body[: limit - len(note)]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    return cut + note


MARKERS: dict[ActionKind, str] = {
    ActionKind.CREATE: "+",
    ActionKind.DELETE: "-",
    ActionKind.UPDATE: "!",
    ActionKind.DELETE_THEN_CREATE: "!",
    ActionKind.CREATE_THEN_DELETE: "!",
    ActionKind.REROUTE: "!",
    ActionKind.WAIT: " ",
}
"""The column-0 marker GitHub colors in a `diff` block: green, red, orange (changed), none."""
DOWNTIME_FLAG = ":rotating_light:"
DESTRUCTIVE_FLAG = ":warning:"
REROUTE_FLAG = ":twisted_rightwards_arrows:"
DRIFT_FLAG = ":pencil2:"
FLAGS = (
    (DOWNTIME_FLAG, "serves nothing for a while"),
    (DESTRUCTIVE_FLAG, "deletes or recreates"),
    (REROUTE_FLAG, "serving switch"),
    (DRIFT_FLAG, "undoes a change made outside deployer"),
    ("", ""),
)
"""Table flags, most dangerous first (their index is the action's rank)."""


def _rank(action: Action) -> int:
    """The index in FLAGS: downtime, destructive, serving switch, drift, the rest."""
    if action.kind is ActionKind.DELETE_THEN_CREATE and action.serving:
        return 0
    if (action.kind is ActionKind.DELETE and not action.superseded) or action.kind is (
        ActionKind.DELETE_THEN_CREATE
    ):
        return 1
    if serves(action):
        return 2
    return 3 if action.drift else 4


def _head(plan: Plan, level: int, title: str, rows: int = TABLE_LIMIT) -> str:
    facts = [f"backend {code(plan.backend)}"] if plan.backend else []
    if plan.environment:
        facts.append(f"environment {code(plan.environment)}")
    if plan.commit:
        facts.append(f"commit {code(plan.commit)}")
    parts = [f"{'#' * level} {title}\n\n", " · ".join(facts) + "\n"]
    if plan.emulator:
        parts.append(
            f"\n> [!NOTE]\n> Live state read from the local twin at {code(plan.emulator)}, "
            "not Google Cloud.\n"
        )
    partial = partial_note(plan)
    if partial:
        parts.append(f"\n> [!WARNING]\n> **{escape(partial)}**\n")
    sub = "#" * (level + 1)
    outcome = f"\n**{':x: ' if plan.errors else ''}{escape(plan_outcome(plan))}**\n"
    if plan.errors:  # a failed plan says so first, with what to fix
        parts.append(outcome)
        errors = [escape(said(plan, e)) for e in plan.errors]
        parts.append(_list(f"{sub} :x: Errors", errors, "errors"))
    parts.append(_banner(plan))
    if not plan.errors:
        parts.append(outcome)
    if plan.actions:
        parts.append(_table(plan, rows))
    if plan.warnings:
        warnings = [escape(said(plan, w)) for w in plan.warnings]
        parts.append(_list(f"{sub} Warnings", warnings, "warnings"))
    drift = plan.drift
    if drift:
        parts.append(
            _list(
                f"{sub} {DRIFT_TITLE}",
                [f"{code(a.shown)}: {escape(drift_fields(a))}" for a in drift],
                "drifted resources",
            )
        )
    return "".join(parts)


# --- the banner: what happens to serving, per model, in plain words --------------------------

ALERTS = {Level.DOWN: "CAUTION", Level.WARN: "WARNING", Level.SWITCH: "IMPORTANT"}
HEADLINES = {
    Level.DOWN: "**Downtime: something serves nothing for a while.**",
    Level.WARN: "**No downtime, but check these.**",
    Level.SWITCH: "**What serves changes; no downtime.**",
    Level.QUIET: "**Nothing that serves is touched; no downtime.**",
}


def event_text(event: Event, models: Sequence[str] = ()) -> str:
    """An event as Markdown: the tag in bold, the models it concerns as code."""
    models = models or [event.model]
    who = ", ".join(code(m) for m in models[:GROUP_NAMES])
    if len(models) > GROUP_NAMES:
        who += f" and {len(models) - GROUP_NAMES:,} more ({len(models):,} models)"
    if event.tag:
        return f"**{event.tag}**: {who} {escape(event.text)}"
    return f"{who}: {escape(event.text)}"


def _banner(plan: Plan) -> str:
    found = [e for e in events(plan) if e.level >= Level.SWITCH]
    stopped = {e.model for e in found if e.downtime}
    quiet_deletes = [
        a
        for a in plan.actions
        if a.kind is ActionKind.DELETE
        and not a.superseded
        and not a.serving
        and a.key.model_key.address not in stopped
    ]
    recreated = [a for a in plan.actions if _rank(a) == 1 and a.kind is not ActionKind.DELETE]
    if not found and not quiet_deletes and not recreated:
        return ""
    top = max((e.level for e in found), default=Level.QUIET)
    headline = HEADLINES[top]
    if top is Level.DOWN and not any(e.tag == DOWNTIME for e in found):
        headline = "**Something stops serving.**"
    lines = [f"[!{ALERTS.get(top, 'NOTE')}]", headline]
    said = grouped(found)
    lines += [f"- {event_text(e, models)}" for e, models in said[:BANNER_LIMIT]]
    if len(said) > BANNER_LIMIT:
        lines.append(f"- … and {len(said) - BANNER_LIMIT:,} more (see the table below)")
    if recreated:
        lines.append(
            f"- **{len(recreated)} recreated** (deleted, then created again; none of them "
            f"serves requests): {_addresses(recreated)}"
        )
    if quiet_deletes:
        lines.append(
            f"- **{len(quiet_deletes)} to destroy**, none of them serving requests: "
            f"{_addresses(quiet_deletes)}"
        )
    return "\n" + "".join(f"> {line}\n" for line in lines)


def _addresses(actions: Sequence[Action]) -> str:
    shown = ", ".join(code(a.shown) for a in actions[:BANNER_LIMIT])
    more = len(actions) - BANNER_LIMIT
    return shown + (f", … and {more:,} more" if more > 0 else "")


# --- the summary table ----------------------------------------------------------------------


def _table(plan: Plan, limit: int = TABLE_LIMIT) -> str:
    """`flag | action | address | detail`, the most dangerous rows first (downtime, deletes,
    serving switches, drift, the rest), actions that read the same grouped in one row."""
    ordered = sorted(plan.actions, key=_rank)  # stable: plan order within a rank
    if not limit:
        return f"\n<sub>{len(ordered):,} actions: see the sections below.</sub>\n"
    groups: dict[tuple[str, str, str], list[Action]] = {}
    for action in ordered:
        key = (FLAGS[_rank(action)][0], action.kind_text(), _detail(plan, action))
        groups.setdefault(key, []).append(action)
    rows = ["| | action | address | detail |\n", "|---|---|---|---|\n"]
    shown = list(groups.items())
    for (flag, kind, detail), actions in shown[:limit]:
        count = f" ×{len(actions)}" if len(actions) > 1 else ""
        rows.append(f"| {flag} | {kind}{count} | {_grouped(actions)} | {escape(detail)} |\n")
    if len(shown) > limit:
        left = sum(len(a) for _, a in shown[limit:])
        rows.append(f"| | … | {left:,} more actions | see the sections below |\n")
    used = {flag for (flag, _, _) in groups if flag}
    legend = " · ".join(f"{flag} {what}" for flag, what in FLAGS if flag in used)
    return "\n" + "".join(rows) + (f"\n<sub>{legend}</sub>\n" if legend else "")


def _grouped(actions: Sequence[Action]) -> str:
    names = ", ".join(cell(a.shown) for a in actions[:GROUP_NAMES])
    more = len(actions) - GROUP_NAMES
    return names + (f" and {more:,} more" if more > 0 else "")


def _detail(plan: Plan, action: Action) -> str:
    drift = " (undoes a change made outside deployer)" if action.drift else ""
    if action.reroutes:
        return reroute_text(plan, action)
    if action.kind.replaces:
        return f"{replace_text(action)}{drift}"
    return reason_text(action) + drift


def _footer(plan: Plan) -> str:
    env = f" --env {plan.environment}" if plan.environment else ""
    if plan.errors:
        how = f"Fix the errors above, then run {code(f'deployer plan{env}')} again."
    elif not plan.actions:
        return ""
    else:
        how = (
            f"To apply: {code(f'deployer apply{env}')} plans again and asks before it changes "
            f"anything; {code(f'deployer plan{env} --out plan.json')} then "
            "`deployer apply plan.json` executes exactly this plan (refused if the live state "
            "changed since)."
        )
    return f"\n---\n\n<sub>{how}</sub>\n"


def _ignored(plan: Plan, level: int) -> str:
    if not plan.ignored:
        return ""
    items = [f"{code(i.shown)}: {escape(i.reason)}" for i in plan.ignored]
    return _list(f"{'#' * level} {IGNORED_TITLE}", items, "ignored resources")


def _list(title: str, items: Sequence[str], what: str) -> str:
    lines = [f"\n{title}\n\n"]
    lines += [f"- {item}\n" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(
            f"- … and {len(items) - LIST_LIMIT:,} more {what} "
            "(run `deployer plan` locally to see them all)\n"
        )
    return "".join(lines)


# --- regions and models -------------------------------------------------------------------


def _by_region(
    groups: Sequence[tuple[str, list[Action]]],
) -> dict[str, list[tuple[str, list[Action]]]]:
    """Model groups by region (the endpoint part of their addresses), regions in order of
    first appearance."""
    regions: dict[str, list[tuple[str, list[Action]]]] = {}
    for model, actions in groups:
        regions.setdefault(actions[0].key.endpoint, []).append((model, actions))
    return regions


def _region_heading(
    plan: Plan, region: str, models: Sequence[tuple[str, list[Action]]], level: int
) -> str:
    actions = [a for _, group in models for a in group]
    ranks = {_rank(a) for a in actions}
    flags = "".join(f" {flag}" for i, (flag, _) in enumerate(FLAGS[:3]) if i in ranks)
    return f"\n{'#' * level} Region {code(region)}: {group_summary(plan, actions)}{flags}\n\n"


def _unchanged_regions(regions: Sequence[str]) -> str:
    if not regions:
        return ""
    return f"\nNo changes in {len(regions)} other region{'s' if len(regions) != 1 else ''}: " + (
        ", ".join(code(r) for r in regions[:LIST_LIMIT])
        + (f", … and {len(regions) - LIST_LIMIT:,} more" if len(regions) > LIST_LIMIT else "")
        + ".\n"
    )


def _model_section(plan: Plan, model: str, actions: Sequence[Action]) -> str:
    kind = group_kind(plan, actions)
    if kind:  # a group of its own that is no model's (a resource pool)
        key = actions[0].key
        name = (
            f"{html_text(plan.groups[kind])} <code>{html_text(key.model)}</code> ({key.endpoint})"
        )
    else:
        name = f"<code>{html_text(model)}</code>"
    summary = f"{name}: {html_text(group_summary(plan, actions))}"
    block = "\n".join(_block_lines(plan, actions))
    fence = "`" * max(3, _longest_backtick_run(block) + 1)
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{block}\n{fence}\n\n</details>\n"


def _block_lines(plan: Plan, actions: Iterable[Action]) -> list[str]:
    """Diff lines, each starting with the marker GitHub colors (column 0)."""
    lines: list[str] = []
    for action in actions:
        mark = MARKERS[action.kind]
        drift = "  (drift)" if action.drift else ""
        create = action.kind is ActionKind.CREATE
        where = f"  ({action.source})" if action.source and create else ""
        reason = block_text(reroute_text(plan, action) if action.reroutes else reason_text(action))
        lines.append(
            f"{mark} {symbol(action)} {block_text(action.shown)}  # {reason}"
            f"{block_text(where)}{drift}"
        )
        if action.kind.replaces:
            lines.append(f"{mark} {CHANGE_INDENT}# {replace_cost(action)}")
        for change in visible(action):
            forces = f"  {FORCES}" if change.forces_replacement else ""
            live = f"  {SET_LIVE}" if change.drift else ""
            at = f"  ({change.source})" if change.source and not create else ""
            for text in change_lines(action, change):
                lines.append(f"{mark} {CHANGE_INDENT}{block_text(text + forces + live + at)}")
    return lines


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _truncation_note(left_out: Sequence[str], actions: int, limit: int) -> str:
    names = ", ".join(code(m) for m in left_out[:LIST_LIMIT])
    more = len(left_out) - LIST_LIMIT
    return (
        f"\n> [!NOTE]\n> Output truncated to stay under {limit:,} characters: "
        f"{len(left_out):,} model sections ({actions:,} actions), the least dangerous, were "
        f"left out: {names}{f', … and {more:,} more' if more > 0 else ''}. "
        "Run `deployer plan` locally for the full output.\n"
    )


# --- the Mermaid graph of the actions' order ----------------------------------------------

_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 _./:@,+=~()-]")
MERMAID_CLASSES = {
    "create": "fill:#dafbe1,stroke:#1a7f37",
    "destroy": "fill:#ffebe9,stroke:#cf222e",
    "replace": "fill:#fff8c5,stroke:#9a6700",
    "serve": "fill:#ddf4ff,stroke:#0969da",
}


def mermaid_label(text: str) -> str:
    """A quoted Mermaid label: every character outside a small safe set as an entity code
    (`#35;`), so quotes, brackets, HTML, backticks and Markdown cannot escape it."""
    return '"' + _MERMAID_UNSAFE.sub(lambda m: f"#{ord(m.group())};", one_line(text)) + '"'


def _node_class(action: Action) -> str:
    if action.reroutes:
        return "serve"
    if action.kind.replaces:
        return "replace"
    return {ActionKind.CREATE: "create", ActionKind.DELETE: "destroy"}.get(action.kind, "")


def crossing(plan: Plan) -> list[Action]:
    """The actions on either end of a dependency between two models: what the per-model
    sections cannot show (each lists its own model's actions in order)."""
    by_id = {a.id: a for a in plan.actions}
    ends: set[str] = set()
    for a in plan.actions:
        for dep in (*a.depends_on, *a.ordered_after):
            other = by_id.get(dep)
            if other is not None and other.key.model_key != a.key.model_key:
                ends |= {a.id, dep}
    return [a for a in plan.actions if a.id in ends]


def mermaid_graph(plan: Plan, actions: Sequence[Action] | None = None) -> str:
    """`graph TD` of `actions` (default: the plan's) up to GRAPH_NODE_LIMIT, one subgraph per
    region, an edge from each action to those that wait for it (solid: must succeed; dotted:
    must only finish)."""
    drawn = list(plan.actions if actions is None else actions)[:GRAPH_NODE_LIMIT]
    ids = {a.id: f"a{i}" for i, a in enumerate(drawn)}
    lines = ["graph TD"]
    regions: dict[str, list[Action]] = {}
    for action in drawn:
        regions.setdefault(action.key.endpoint, []).append(action)
    for r, (region, inside) in enumerate(regions.items()):
        lines.append(f"  subgraph r{r}[{mermaid_label(region)}]")
        for action in inside:
            kind = action.kind_text(strategy=True)
            lines.append(f"    {ids[action.id]}[{mermaid_label(f'{kind} {action.shown}')}]")
        lines.append("  end")
    edges = [
        f"  {ids[dep]} {arrow} {ids[action.id]}"
        for action in drawn
        for deps, arrow in ((action.depends_on, "-->"), (action.ordered_after, "-.->"))
        for dep in dict.fromkeys(deps)
        if dep in ids
    ]
    lines += edges[:GRAPH_EDGE_LIMIT]
    for name, style in MERMAID_CLASSES.items():
        members = [ids[a.id] for a in drawn if _node_class(a) == name]
        if members:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(members)} {name}")
    return "\n".join(lines)


def _graph_section(plan: Plan) -> str:
    """The graph of the waits across models, when there are any; else nothing (the sections
    already list each model's actions in the order they run)."""
    shown = crossing(plan)
    if not shown:
        return ""
    total = len(shown)
    drawn = shown[:GRAPH_NODE_LIMIT]
    ids = {a.id for a in drawn}
    edges = sum(
        1
        for a in drawn
        for dep in (*dict.fromkeys(a.depends_on), *dict.fromkeys(a.ordered_after))
        if dep in ids
    )
    note = ""
    if len(drawn) < total or edges > GRAPH_EDGE_LIMIT:
        cut = f" and {GRAPH_EDGE_LIMIT:,} of their {edges:,} dependencies"
        note = (
            f"The graph shows the first {len(drawn):,} of {total:,} actions"
            f"{cut if edges > GRAPH_EDGE_LIMIT else ''}.\n\n"
        )
    return (
        f"\n<details><summary>Waits across models: {total:,} actions, an arrow from each to "
        "what waits for it (dotted: waits only for it to finish)</summary>\n\n"
        f"{note}```mermaid\n{mermaid_graph(plan, drawn)}\n```\n\n</details>\n"
    )


def _graph_left_out(plan: Plan, limit: int) -> str:
    return (
        "\n<sub>The graph of the waits across models was left out "
        f"to stay under {limit:,} characters.</sub>\n"
    )


# --- several plans (one per environment) ----------------------------------------------------


def _env_name(plan: Plan) -> str:
    return plan.environment or "(no --env)"


def _env_flag(plan: Plan) -> str:
    if plan.errors:
        return ":x:"
    ranks = {_rank(a) for a in plan.actions}
    if any(e.downtime for e in events(plan)):
        return DOWNTIME_FLAG
    return next((FLAGS[i][0] for i in sorted(ranks) if FLAGS[i][0]), "")


def _env_alert(plan: Plan) -> str:
    """One line on an environment a reviewer must look at: failed, downtime, deletes, or
    something to check (more traffic on less capacity, drift undone)."""
    if plan.errors:
        n = len(plan.errors)
        return f"failed: {n} error{'s' if n != 1 else ''}, nothing will be applied"
    found = events(plan)
    down = [e for e in found if e.downtime]
    if down:
        models = ", ".join(code(m) for m in dict.fromkeys(e.model for e in down))
        return f"**downtime** in {models}"
    check = [e for e in found if e.level is Level.WARN]
    destroyed = plan.summary.destroy
    said = [f"{destroyed} to destroy"] if destroyed else []
    if check:
        said.append(f"check {event_text(check[0])}")
    text = ", ".join(said)
    return text if not said or "no downtime" in text else f"{text}, no downtime"


def _overview(plans: Sequence[Plan]) -> str:
    stacks = list(dict.fromkeys(p.stack for p in plans))
    which = ("stack " if len(stacks) == 1 else "stacks ") + ", ".join(
        code(s) for s in stacks[:LIST_LIMIT]
    )
    rows = ["| | environment | project | backend | outcome |\n", "|---|---|---|---|---|\n"]
    for plan in plans[:LIST_LIMIT]:
        rows.append(
            f"| {_env_flag(plan)} | {cell(_env_name(plan))} | {cell(plan.project)} "
            f"| {cell(plan.backend)} | {escape(plan_outcome(plan))} |\n"
        )
    if len(plans) > LIST_LIMIT:
        rows.append(f"| | … | {len(plans) - LIST_LIMIT:,} more plans | | |\n")
    alerts = [(p, _env_alert(p)) for p in plans[:LIST_LIMIT]]
    lines = [f"> - {code(_env_name(p))}: {text}\n" for p, text in alerts if text]
    loud = any(p.errors or any(e.downtime for e in events(p)) for p, t in alerts if t)
    worst = "CAUTION" if loud else "WARNING"
    banner = (
        f"\n> [!{worst}]\n> **Look at these environments first** (details in each "
        "environment's section):\n" + "".join(lines)
        if lines
        else ""
    )
    return (
        f"## deployer plan: {which}, {len(plans)} environments\n\n" + "".join(rows) + banner + "\n"
    )


def _env_section(plan: Plan, limit: int, cap: int) -> str:
    title = (
        f"Environment {code(_env_name(plan))}: stack {code(plan.stack)} "
        f"in project {code(plan.project)}"
    )
    if plan.actions or plan.errors or plan.warnings:
        return _render(plan, limit, (), level=3, title=title, cap=cap)
    summary = (
        f"<details><summary>Environment <code>{html_text(_env_name(plan))}</code>: "
        f"{html_text(plan_outcome(plan))}</summary>\n\n"
    )
    closing = "\n</details>\n"
    room = max(limit - len(summary) - len(closing), 0)
    inner = _render(plan, room, (), level=3, title=title, cap=cap)
    return _fit(f"{summary}{inner}{closing}", limit)


def _fair_shares(sizes: Sequence[int], budget: int) -> list[int]:
    """Split `budget` among parts that want `sizes`: each gets what it needs up to an equal
    share of what the smaller ones leave (water-filling), deterministic."""
    shares = [0] * len(sizes)
    left = max(budget, 0)
    pending = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    while pending:
        share = left // len(pending)
        i = pending.pop(0)
        shares[i] = min(sizes[i], share)
        left -= shares[i]
    return shares


# --- resources and cost (deployer.render.resources) ---------------------------------------

RESOURCE_ROWS = 20
"""Rows of the resources table (regions, and the models in them that change)."""
RESOURCE_ROOM = 8_000
"""Characters the resources section may take; rows beyond are counted, not shown."""


def money_text(text: str) -> str:
    """Inline text with `$` escaped too: GitHub reads text between two `$` as math."""
    return escape(text).replace("$", "\\$")


def cost_text(cost: Cost) -> str:
    """The cost line in Markdown: its own words as they are (a line starting `serving cost:`
    cannot turn into markup), `$` escaped (math), what has no price escaped as user text."""
    return cost_line(cost, quote=escape).replace("$", "\\$")


def _cost_top(plan: Plan) -> str:
    """The comment's first line: `serving cost: $A/mo -> $B/mo (+$C)`."""
    if plan.cost is None:
        return ""
    return f"{cost_text(plan.cost)}\n\n"


def _cost_top_many(plans: Sequence[Plan]) -> str:
    said = environments_line(plans, cost_text)
    return f"{said}\n\n" if said else ""


def _cost_by_environment(plans: Sequence[Plan]) -> str:
    priced = [p for p in plans if p.cost is not None][:LIST_LIMIT]
    if not priced:
        return ""
    rows = ["| environment | serving cost |\n", "|---|---|\n"]
    for plan in priced:
        if plan.cost is not None:
            rows.append(f"| {cell(_env_name(plan))} | {cost_text(plan.cost)} |\n")
    return "\n" + "".join(rows)


def _resources_section(plan: Plan, level: int, repeat_cost: bool = True) -> str:
    """Per region (and per model that changes): before -> after at min and at max replicas,
    the peak while applying, the monthly cost; the quota checked; where prices come from.
    `repeat_cost`: say the cost line again (an environment's section of several plans; a
    single plan's comment opens with it)."""
    usage, cost = plan.resources, plan.cost
    if usage is None and cost is None:
        return ""
    currency = cost.currency if cost is not None else ""
    rows = [
        "| | at min replicas | at max replicas | peak while applying (max) | per month (min) |\n",
        "|---|---|---|---|---|\n",
    ]
    wanted: list[str] = []
    for region, each in sorted((usage.regions if usage else {}).items()):
        money = region_cost(plan, region)
        models = models_in(plan, region)
        alone = len(models) == 1
        name = f"{region}/{models[0][0]}" if alone else region
        wanted.append(
            f"| {cell(name)} | {escape(change_text(each.before.at_min, each.after.at_min))} "
            f"| {escape(change_text(each.before.at_max, each.after.at_max))} "
            f"| {escape(amount_text(each.peak.at_max))} "
            f"| {money_text(cost_change(money, currency)) if money else ''} |\n"
        )
        for model, footprint, monthly in [] if alone else models:
            if footprint.before == footprint.after and (
                monthly is None or monthly.before == monthly.after
            ):
                continue
            wanted.append(
                f"| ↳ {cell(model)} "
                f"| {escape(change_text(footprint.before.at_min, footprint.after.at_min))} "
                f"| {escape(change_text(footprint.before.at_max, footprint.after.at_max))} "
                f"| {escape(amount_text(footprint.peak.at_max))} "
                f"| {money_text(cost_change(monthly, currency)) if monthly else ''} |\n"
            )
    used = 0
    for row in wanted[:RESOURCE_ROWS]:
        if used + len(row) > RESOURCE_ROOM:
            break
        rows.append(row)
        used += len(row)
    left = len(wanted) - (len(rows) - 2)
    if left > 0:
        rows.append(f"| | … | {left:,} more rows | run `deployer plan` locally | |\n")
    parts = [f"\n{'#' * level} {RESOURCES_TITLE}\n\n"]
    if wanted:
        parts.append("".join(rows))
    quota = [
        f"{':x: ' if not q.ok else ''}{code(region)} {escape(quota_text(q))}"
        for region, each in sorted((usage.regions if usage else {}).items())
        for q in each.quota
    ]
    if quota:
        parts.append(_list("**Serving quota** (the peak at max replicas):", quota, "quotas"))
    if cost is not None:
        if repeat_cost:
            parts.append(f"\n{cost_text(cost)}\n")
        dated = f" (as of {cost.as_of})" if cost.as_of and cost.as_of not in cost.source else ""
        parts.append(f"\n<sub>Prices: {escape(cost.source + dated)}</sub>\n")
        if cost.unknown:
            parts.append(_list("No price for:", [escape(u) for u in cost.unknown], "deployments"))
    if usage is not None and usage.notes:
        parts.append(_list("Notes:", [escape(n) for n in usage.notes], "notes"))
    return "".join(parts)
