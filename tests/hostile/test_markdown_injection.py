"""Issue 19 item 10: the pull-request comment is built from text users control: names in the
manifests, and every string of a saved plan that `show-plans` renders (a file anyone can
edit). Whatever that text holds, the comment's structure is the one deployer meant: the same
headings, tables with the same cells, lists, code spans, collapsed sections and fenced blocks
as for plain names, and no `@mention` outside code."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from deployer.core.plan import (
    Action,
    ActionKind,
    Amount,
    Cost,
    Extent,
    FieldChange,
    Footprint,
    Ignored,
    Monthly,
    Plan,
    QuotaRoom,
    Route,
    Usage,
    note,
)
from deployer.core.resources import ResourceKey
from deployer.render.markdown import render_markdown, render_markdown_many

PIECES = [
    "`",
    "``",
    "```",
    "|",
    "\\",
    "\\|",
    "<!--",
    "-->",
    "</details>",
    "<details>",
    "<summary>",
    "@octo-org/admins",
    "@alice",
    "*",
    "_",
    "[x](http://e.vil)",
    "![i](http://e.vil/p.png)",
    "#1",
    "&amp;",
    "&#64;",
    "\n",
    "\n\n",
    "\r",
    "\u2028",
    "> ",
    "- ",
    "1. ",
    "# ",
    "~~~",
    ":warning:",
    " ",
    "a",
]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)


def _plan(t: list[str]) -> Plan:
    """A plan with user text `t[i]` in each place a string can come from."""
    model = ResourceKey(t[0], t[1])
    version = ResourceKey(t[0], t[1], t[2])
    endpoint = ResourceKey(t[0], t[1], part="endpoint")
    create = Action(
        f"create:{version.address}",
        ActionKind.CREATE,
        version,
        note(t[3]),
        changes=(FieldChange("description", None, t[4], label=t[5], source=t[6]),),
        source=t[7],
    )
    update = Action(
        f"update:{model.address}",
        ActionKind.UPDATE,
        model,
        note(t[8]),
        changes=(FieldChange("labels", {t[9]: t[10]}, {t[9]: t[11]}, shown=t[12]),),
        drift=True,
    )
    switch = Action(
        f"set-traffic:{endpoint.address}",
        ActionKind.REROUTE,
        endpoint,
        note(t[13]),
        changes=(FieldChange("traffic", {t[14]: 100}, {t[2]: 100}),),
        depends_on=(create.id,),
        route=Route("traffic", "traffic", split=True),
    )
    delete = Action(
        f"delete:{ResourceKey(t[0], t[1], t[14]).address}",
        ActionKind.DELETE,
        ResourceKey(t[0], t[1], t[14]),
        note(t[15]),
        depends_on=(switch.id,),
    )
    return Plan(
        stack=t[16],
        project=t[17],
        actions=(create, update, switch, delete),
        ignored=(Ignored(t[18], t[19]),),
        warnings=(t[20],),
        backend=t[21],
        environment=t[22],
        emulator=t[23],
        commit=t[24],
        resources=_usage(t),
        cost=_cost(t),
    )


def _usage(t: list[str]) -> Usage:
    """Resources with user text where a saved plan has it: region and model keys (`REGION/MODEL`
    keys never hold `/` otherwise), GPU types, machine types, quota metrics, notes."""
    region, one, two = (x.replace("/", "") for x in (t[25], t[26], t[27]))
    small, big = Amount(2, 7.5), Amount(8, 30, {t[28]: 2}, unknown=(t[29],))
    change = Footprint(Extent(small, small), Extent(small, big), Extent(big, big))
    return Usage(
        regions={
            region: dataclasses.replace(change, quota=(QuotaRoom(t[30], 8, 10, 2, ok=False),))
        },
        models={f"{region}/{one}": change, f"{region}/{two}": change},
        notes=(t[31],),
    )


def _cost(t: list[str]) -> Cost:
    region, one, two = (x.replace("/", "") for x in (t[25], t[26], t[27]))
    money = Monthly(10, None, 20, None, 10, 30)
    return Cost(
        "USD",
        t[32],
        as_of=t[33],
        total=Monthly(20, None, 40, None, 20, 60),
        models={f"{region}/{one}": money, f"{region}/{two}": money},
        unknown=(t[34], "b"),
    )


SLOTS = 35


def _structure(tokens: list[Token]) -> list[Any]:
    """Token types (and nesting) without their text; a `<code>` element around text counts as
    a code span (table cells holding `|` use one)."""
    out: list[Any] = []
    for token in tokens:
        if token.children:
            out.append((token.type, _inline(token.children)))
        elif token.type == "html_block":
            out.append((token.type, len(token.content.splitlines())))
        else:
            out.append(token.type)
    return out


def _inline(children: list[Token]) -> list[str]:
    kinds: list[str] = []
    inside = False
    for child in children:
        if child.type == "html_inline" and child.content == "<code>":
            inside = True
            kinds.append("code_inline")
        elif child.type == "html_inline" and child.content == "</code>":
            inside = False
        elif inside or (child.type == "text" and kinds[-1:] == ["text"]):
            continue
        else:
            kinds.append(child.type)
    return kinds


def _mentions(tokens: list[Token]) -> list[str]:
    found = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "text":
                found += re.findall(r"@[A-Za-z0-9]", child.content)
    return found


MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@settings(max_examples=150, deadline=None)
@given(st.lists(hostile, min_size=SLOTS, max_size=SLOTS))
def test_user_text_never_changes_the_comment_structure(pieces: list[str]) -> None:
    texts = [f"{text}q{i}" for i, text in enumerate(pieces)]  # distinct: the same plan shape
    plain = [f"n{i}" for i in range(SLOTS)]
    for render in (
        lambda p: render_markdown(p, regions=(p.actions[0].key.endpoint, "other")),
        lambda p: render_markdown_many([p, dataclasses.replace(p, environment=p.project)]),
    ):
        expected = MD.parse(render(_plan(plain)))
        tokens = MD.parse(render(_plan(texts)))
        assert _structure(tokens) == _structure(expected)
        assert _mentions(tokens) == []


def test_an_environment_name_with_a_backtick_stays_in_its_code_spans() -> None:
    """The case of the issue: the footer put the name in backticks of its own."""
    plain = ["r", "m", "v1"] + ["x"] * (SLOTS - 3)
    named = list(plain)
    named[22] = "prod` </details> <!-- @octo-org/admins `"
    tokens = MD.parse(render_markdown(_plan(named)))
    assert _mentions(tokens) == []
    assert _structure(tokens) == _structure(MD.parse(render_markdown(_plan(plain))))
