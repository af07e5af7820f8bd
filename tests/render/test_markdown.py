"""Markdown for pull-request comments: summary and dangers first, bounded length."""

from __future__ import annotations

import re

import pytest

from deployer.core.plan import Action, ActionKind, FieldChange, Ignored, Plan, note
from deployer.core.resources import ResourceKey
from deployer.render.markdown import MARKDOWN_LIMIT, render_markdown
from render.plans import golden, version


def test_small_plan_comment(plan: Plan) -> None:
    actual = render_markdown(plan)
    assert actual == golden("full_plan.md", actual)


def test_empty_plan_comment(empty_plan: Plan) -> None:
    assert render_markdown(empty_plan) == (
        "## deployer plan: stack `prod` in project `acme-ml`\n\n"
        "backend `mlengine`\n\n"
        "**No changes. The live state matches the manifests.**\n"
    )


def test_user_text_cannot_inject_markup() -> None:
    hostile = "<script>alert(1)</script> *bold* [link](http://x) `code` & </details>"
    plan = Plan(
        "s",
        "p",
        actions=(
            Action(
                "update:us-central1/fashion_mnist/v1",
                ActionKind.UPDATE,
                version("v1"),
                note("changed: description"),
                changes=(FieldChange("description", "a ``` b", hostile),),
            ),
        ),
        errors=(hostile,),
        ignored=(Ignored("global/x", hostile),),
    )
    out = render_markdown(plan)
    outside_code = re.sub(r"(?s)(`{3,})diff\n.*?\n\1\n", "", out)
    for raw in ("<script>", "[link](", "*bold*", "</details> ", "& "):
        assert raw not in outside_code
    assert outside_code.count("<details>") == outside_code.count("</details>") == 1
    assert out.count(r"\<script\>alert\(1\)\</script\>") == 2  # error and ignored reason
    # the value holding a fence is inside a longer fence, so the block cannot end early
    assert "````diff\n" in out
    assert '"a ``` b"' in out


def many_models_plan(models: int = 300, per_model: int = 10) -> Plan:
    actions = []
    for m in range(models):
        name = f"model_{m:04d}"
        for v in range(per_model):
            key = ResourceKey("us-central1", name, f"v{v}")
            kind = ActionKind.DELETE if v % 2 else ActionKind.CREATE
            changes = (
                ()
                if kind is ActionKind.DELETE
                else (
                    FieldChange("deploymentUri", None, f"gs://bucket/{name}/{'d' * 64}"),
                    FieldChange("labels", None, {"team": "ml", "model": name}),
                )
            )
            actions.append(
                Action(f"{kind.value}:{key.address}", kind, key, note("reason"), changes=changes)
            )
    return Plan("big", "acme-ml", actions=tuple(actions))


def test_huge_plan_is_truncated_by_whole_model_sections() -> None:
    plan = many_models_plan()
    out = render_markdown(plan)
    assert len(out) <= MARKDOWN_LIMIT
    assert out == render_markdown(plan)
    assert "**Plan: 1500 to add, 0 to change, 0 to replace, 1500 to destroy, 0 to reroute.**" in out
    # destructive changes stay first in the summary table, identical rows grouped
    assert (
        "| :warning: | delete ×1500 | `us-central1/model_0000/v1`, `us-central1/model_0000/v3`, "
        "`us-central1/model_0000/v5` and 1,497 more | reason |" in out
    )
    assert "|  | create ×1500 |" in out
    assert out.index("| :warning: | delete") < out.index("Changes by region")
    assert "```mermaid" not in out  # no model waits for another

    kept = re.findall(r"<summary><code>us-central1/(model_\d+)</code>", out)
    assert 0 < len(kept) < 300
    assert kept == [f"model_{m:04d}" for m in range(len(kept))]  # a prefix, in plan order
    assert out.count("<details>") == out.count("</details>") == len(kept)
    assert out.count("#### Region `us-central1`") == 1
    left = 300 - len(kept)
    assert (
        f"{left:,} model sections ({left * 10:,} actions), the least dangerous, were left out: "
        f"`us-central1/model_{len(kept):04d}`, " in out
    )
    assert f"… and {left - 30:,} more. Run `deployer plan` locally for the full output." in out
    # the sections that are shown are complete
    last = kept[-1]
    assert out.count(f"us-central1/{last}/v") >= 10


def test_plan_under_the_limit_is_not_truncated() -> None:
    plan = many_models_plan(models=5)
    out = render_markdown(plan)
    assert "left out" not in out
    assert out.count("<details>") == 5  # the models; no graph: no model waits for another
    assert out.count("```mermaid\n") == 0


@pytest.mark.parametrize("limit", [4_000, 9_000])
def test_custom_limit(limit: int) -> None:
    out = render_markdown(many_models_plan(models=40), limit=limit)
    assert len(out) <= limit
    assert "model sections" in out and "left out" in out


def test_enormous_fixed_parts_are_summarized_not_cut() -> None:
    long = "x" * 2000
    replaces = tuple(
        Action(
            f"replace:{version(f'v{i}').address}",
            ActionKind.DELETE_THEN_CREATE,
            version(f"v{i}"),
            note(f"replacement forced by: {i} {long}"),
            changes=(FieldChange("runtimeVersion", "2.8", long, forces_replacement=True),),
            drift=True,
        )
        for i in range(1000)
    )
    plan = Plan(
        "s",
        "p",
        actions=replaces,
        errors=tuple(f"error {i}: {long}" for i in range(500)),
        warnings=tuple(f"warning {i}: <{long}>" for i in range(500)),
        ignored=tuple(Ignored(f"global/m{i}", long) for i in range(5000)),
    )
    out = render_markdown(plan)
    assert len(out) <= MARKDOWN_LIMIT
    for count in (
        "| | … | 975 more actions |",
        "- … and 470 more errors",
        "- … and 470 more warnings",
        "- … and 970 more drifted resources",
        "- … and 4,970 more ignored resources",
    ):
        assert count in out
    assert "1 model sections (1,000 actions), the least dangerous, were left out" in out
