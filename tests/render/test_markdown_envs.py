"""Issue 11 item 3, revised by issue 22: Markdown for repos with environments and regions.

One plan: a section per region (regions without changes on one line), a banner saying what
happens to serving (issue 22: downtime named as such, switches without downtime said to be), a
Mermaid graph only of waits across models. Several saved plans (`deployer show-plans`): one
comment, one section per environment, unchanged environments collapsed. Always at most 65,000
characters.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Route, note
from deployer.core.resources import ResourceKey
from deployer.render.jsonplan import dumps_plan
from deployer.render.markdown import (
    GRAPH_NODE_LIMIT,
    MARKDOWN_LIMIT,
    mermaid_graph,
    mermaid_label,
    render_markdown,
    render_markdown_many,
)
from render.plans import golden
from render.test_golden_backends import _stable, mlengine_plan, vertex_plan


def rollout(region: str, model: str, first: str = "v1", then: str = "v2") -> list[Action]:
    """A version replaced by a new one behind a traffic switch: create, switch, delete."""
    new, old = ResourceKey(region, model, then), ResourceKey(region, model, first)
    endpoint = ResourceKey(region, model, part="endpoint")
    create = Action(
        f"create:{new.address}",
        ActionKind.CREATE,
        new,
        note("declared in manifests, not found live"),
        changes=(FieldChange("artifact", None, f"gs://acme/{model}/{then}"),),
    )
    switch = Action(
        f"set-traffic:{endpoint.address}",
        ActionKind.REROUTE,
        endpoint,
        note(f"traffic: {first} 100 -> {then} 100"),
        changes=(FieldChange("traffic", {first: 100}, {then: 100}),),
        depends_on=(create.id,),
        route=Route("traffic", "traffic", split=True),
    )
    delete = Action(
        f"delete:{old.address}",
        ActionKind.DELETE,
        old,
        note("managed live version is no longer declared"),
        depends_on=(switch.id,),
        ordered_after=(create.id,),
    )
    return [create, switch, delete]


def chained(plan: Plan) -> Plan:
    """`plan` with each model's first action waiting for the previous model's last one: the
    waits across models the Mermaid graph is for."""
    out: list[Action] = []
    previous: Action | None = None
    for action in plan.actions:
        if previous is not None and previous.key.model_key != action.key.model_key:
            action = dataclasses.replace(action, ordered_after=(previous.id,))
        out.append(action)
        previous = action
    return dataclasses.replace(plan, actions=tuple(out))


def env_plan(env: str, regions: int, models: int, project: str = "acme-ml") -> Plan:
    actions = [
        a
        for r in range(regions)
        for m in range(models)
        for a in rollout(f"region-{r:02d}", f"model_{m:03d}")
    ]
    return Plan(
        "vision",
        f"{project}-{env}",
        actions=tuple(actions),
        environment=env,
        backend="mlengine",
    )


def _gfm() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


# --- one plan: regions, banner, graph --------------------------------------------------------


def test_one_section_per_region_and_unchanged_regions_on_one_line() -> None:
    plan = env_plan("prod", regions=2, models=2)
    out = render_markdown(plan, regions=("asia-east1", "region-00", "region-01", "us-east1"))
    heads = re.findall(r"^#### Region `([^`]+)`: (.*)$", out, flags=re.M)
    assert heads == [
        ("region-00", "2 to add, 2 to destroy, 2 to reroute :warning: :twisted_rightwards_arrows:"),
        ("region-01", "2 to add, 2 to destroy, 2 to reroute :warning: :twisted_rightwards_arrows:"),
    ]
    assert "\nNo changes in 2 other regions: `asia-east1`, `us-east1`.\n" in out
    # each model section sits under its region's heading
    assert out.index("Region `region-01`") < out.index("<code>region-01/model_000</code>")
    assert out.index("<code>region-00/model_001</code>") < out.index("Region `region-01`")


def test_banner_says_what_happens_to_serving_and_names_what_is_recreated_or_destroyed() -> None:
    plan = env_plan("prod", regions=1, models=1)
    replace_first = Action(
        "replace:region-00/model_000/v2:deployed",
        ActionKind.CREATE_THEN_DELETE,
        ResourceKey("region-00", "model_000", "v2", part="deployed"),
        note("replacement forced by: machine"),
    )
    replace_gap = dataclasses.replace(
        replace_first,
        id="replace:x",
        key=ResourceKey("global", "m", "v1"),
        kind=ActionKind.DELETE_THEN_CREATE,
    )
    plan = dataclasses.replace(plan, actions=(*plan.actions, replace_first, replace_gap))
    out = render_markdown(plan)
    banner = out[out.index("> [!IMPORTANT]") : out.index("**Plan:")]
    assert "> **What serves changes; no downtime.**" in banner
    assert (
        "- `region-00/model_000`: traffic v1 100% -\\> v2 100%, no downtime; then v1: "
        "version deleted" in banner
    )
    assert "- **1 recreated** (deleted, then created again; none of them serves" in banner
    assert "`global/m/v1`" in banner
    assert "- **1 to destroy**, none of them serving requests: `region-00/model_000/v1`" in banner
    assert "create-before-destroy" not in banner and "[!CAUTION]" not in out
    assert out.index("> [!IMPORTANT]") < out.index("| | action |")


def test_a_switch_that_takes_nothing_away_is_important_not_caution() -> None:
    endpoint = ResourceKey("us-central1", "m", part="endpoint")
    canary = Action(
        "set-traffic:us-central1/m:endpoint",
        ActionKind.REROUTE,
        endpoint,
        note("traffic: v1 90, v2 10 -> v1 50, v2 50"),
        changes=(FieldChange("traffic", {"v1": 90, "v2": 10}, {"v1": 50, "v2": 50}),),
        route=Route("traffic", "traffic", split=True),
    )
    plan = Plan("s", "p", actions=(canary,))
    out = render_markdown(plan)
    assert "> [!IMPORTANT]\n> **What serves changes; no downtime.**" in out
    assert "traffic v1 90%, v2 10% -\\> v1 50%, v2 50%, no downtime" in out
    assert "[!CAUTION]" not in out
    assert "```mermaid" not in out  # one step: no graph
    default = Action(
        "set-default:global/m/v2",
        ActionKind.REROUTE,
        ResourceKey("global", "m", "v2"),
        note("default version: v1 -> v2"),
        changes=(FieldChange("defaultVersion", "v1", "v2"),),
        route=Route("defaultVersion", "default version"),
    )
    out = render_markdown(Plan("s", "p", actions=(default,)))
    assert "`global/m`: default version v1 -\\> v2, no downtime; then v1 stays, serving" in out
    assert render_markdown(Plan("s", "p")).count("> [!") == 0


MERMAID_LINE = re.compile(
    r"^(?:graph TD"
    r'|  subgraph (?P<sub>r\d+)\["[^"\n]*"\]'
    r"|  end"
    r'|    (?P<node>a\d+)\["[^"\n]*"\]'
    r"|  (?P<src>a\d+) (?:-->|-\.->) (?P<dst>a\d+)"
    r"|  classDef (?:create|destroy|replace|serve) [a-z:#0-9,-]+"
    r"|  class (?P<members>a\d+(?:,a\d+)*) (?:create|destroy|replace|serve))$"
)


def assert_well_formed_mermaid(graph: str) -> tuple[set[str], int]:
    """Every line one known statement; subgraphs balanced, nodes unique and declared before
    any edge or class uses them; labels free of characters that end a label or a fence."""
    lines = graph.splitlines()
    assert lines[0] == "graph TD"
    nodes: set[str] = set()
    depth = edges = 0
    for line in lines:
        m = MERMAID_LINE.match(line)
        assert m, line
        if m["sub"]:
            depth += 1
            assert depth == 1
        elif line == "  end":
            depth -= 1
            assert depth == 0
        elif m["node"]:
            assert depth == 1 and m["node"] not in nodes
            nodes.add(m["node"])
        elif m["src"]:
            assert depth == 0 and {m["src"], m["dst"]} <= nodes
            edges += 1
        elif m["members"]:
            assert set(m["members"].split(",")) <= nodes
    assert depth == 0
    for label in re.findall(r'\["([^"]*)"\]', graph):
        assert not set(label) & set("<>`[]{}|\"'"), label
    return nodes, edges


def test_mermaid_graph_is_well_formed_with_the_dependency_edges() -> None:
    plan = env_plan("prod", regions=3, models=2)
    nodes, edges = assert_well_formed_mermaid(mermaid_graph(plan))
    assert len(nodes) == 18
    assert edges == 3 * 2 * 3  # create -> switch -> delete, create -.-> delete
    graph = mermaid_graph(plan)
    assert "  a0 --> a1\n  a1 --> a2\n  a0 -.-> a2\n" in graph
    assert graph.count("  subgraph ") == 3
    # each model's order is in its section: no graph unless an action waits for another model
    assert "```mermaid" not in render_markdown(plan)
    plan = chained(plan)
    out = render_markdown(plan)
    fences = [t for t in _gfm().parse(out) if t.type == "fence" and t.info == "mermaid"]
    (fence,) = fences
    nodes, edges = assert_well_formed_mermaid(fence.content.rstrip("\n"))
    # the ends of the 5 waits across the 6 models, with the edges among them
    assert len(nodes) == 10 and edges == 9
    assert "<summary>Waits across models: 10 actions" in out


def test_mermaid_labels_are_escaped_and_ids_sanitized() -> None:
    hostile = 'm"] --> x[<b>`x`</b>]; click x "javascript:alert(1)"\n%%{init:{}}%%'
    a = Action("create:h", ActionKind.CREATE, ResourceKey("us-c1", hostile, "v1#2"), note("r"))
    b = Action(
        "delete:h",
        ActionKind.DELETE,
        ResourceKey('eu"]', "m"),
        note("r"),
        depends_on=("create:h", "gone"),
    )
    graph = mermaid_graph(Plan("s", "p", actions=(a, b)))
    nodes, edges = assert_well_formed_mermaid(graph)
    assert nodes == {"a0", "a1"} and edges == 1  # an id not in the plan draws no edge
    assert mermaid_label('a"b<c>#') == '"a#34;b#60;c#62;#35;"'
    # the hostile text stays inside one quoted label: no statement of its own, no directive
    assert all(line.count('"') == 2 for line in graph.splitlines()[1:] if "[" in line)
    assert not any(line.lstrip().startswith(("click", "%%")) for line in graph.splitlines())


def test_graph_is_capped_and_says_so() -> None:
    plan = chained(env_plan("prod", regions=10, models=10))  # 300 actions, 99 waits across
    nodes, _ = assert_well_formed_mermaid(mermaid_graph(plan))
    assert len(nodes) == GRAPH_NODE_LIMIT
    out = render_markdown(plan)
    assert f"The graph shows the first {GRAPH_NODE_LIMIT} of 198 actions." in out


def test_graph_goes_first_when_space_is_short() -> None:
    plan = chained(env_plan("prod", regions=2, models=3))
    full = render_markdown(plan)
    graph_len = len(full[full.index("\n<details><summary>Waits") : full.index("### Changes")])
    out = render_markdown(plan, limit=len(full) - graph_len // 2)
    assert "```mermaid" not in out
    assert "The graph of the waits across models was left out" in out
    assert out.count("<details>") == 6 and "model sections" not in out  # every model kept


# --- several environments --------------------------------------------------------------------


def test_unchanged_environments_are_collapsed() -> None:
    prod = env_plan("prod", regions=2, models=1)
    dev = Plan("vision", "acme-ml-dev", environment="dev", backend="mlengine")
    out = render_markdown_many([dev, prod])
    assert out.startswith("## deployer plan: stack `vision`, 2 environments\n")
    assert "| :warning: | `prod` | `acme-ml-prod` | `mlengine` | Plan: 2 to add" in out
    assert "No downtime. |" in out
    assert "|  | `dev` | `acme-ml-dev` | `mlengine` | No changes." in out
    assert "> - `prod`: 2 to destroy, no downtime\n" in out
    assert "<details><summary>Environment <code>dev</code>: No changes." in out
    assert "### Environment `prod`: stack `vision` in project `acme-ml-prod`" in out
    html = _gfm().render(out)
    outside = re.sub(r"(?s)<details>.*?</details>", "", html)
    assert "Environment <code>prod</code>" in outside and "<code>dev</code>" in outside


@pytest.mark.parametrize("limit", [MARKDOWN_LIMIT, 20_000])
def test_cap_holds_with_hundreds_of_actions_across_regions_and_environments(limit: int) -> None:
    plans = [env_plan(env, regions=12, models=15) for env in ("dev", "staging", "prod", "eu")]
    plans.append(Plan("vision", "acme-ml-qa", environment="qa"))
    assert sum(len(p.actions) for p in plans) == 4 * 540
    out = render_markdown_many(plans, limit=limit)
    assert len(out) <= limit
    assert out == render_markdown_many(plans, limit=limit)
    for env in ("dev", "staging", "prod", "eu"):
        assert f"### Environment `{env}`" in out  # every environment keeps its section
    assert "<summary>Environment <code>qa</code>: No changes." in out
    # structure survives truncation: balanced details and fences, graphs well formed
    assert out.count("<details>") == out.count("</details>")
    tokens = _gfm().parse(out)
    for fence in (t for t in tokens if t.type == "fence" and t.info == "mermaid"):
        assert_well_formed_mermaid(fence.content.rstrip("\n"))
    assert "model sections" in out and "left out" in out
    # each plan alone is capped too
    single = render_markdown(plans[0], limit=limit, regions=[f"r{i}" for i in range(200)])
    assert len(single) <= limit


def test_show_plans_renders_saved_plans_as_one_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Golden: the two backends' plans as staging and prod, plus an unchanged dev, saved with
    `--out` and read back by `deployer show-plans`."""
    from deployer.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ml").mkdir()
    (tmp_path / "vx").mkdir()
    staging = dataclasses.replace(vertex_plan(tmp_path / "vx"), environment="staging")
    prod = mlengine_plan(tmp_path / "ml")
    dev = Plan(
        "vision", "demo-project", environment="dev", commit="0123abcd4567", backend="mlengine"
    )
    files = []
    for plan in (dev, staging, prod):
        path = tmp_path / f"plan-{plan.environment}.json"
        path.write_text(dumps_plan(plan) + "\n")
        files.append(str(path))
    result = CliRunner().invoke(app, ["show-plans", *files, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    actual = _stable(result.output, tmp_path)
    assert actual == golden("environments.md", actual)
    expected = _stable(render_markdown_many([dev, staging, prod]), tmp_path)
    assert actual.rstrip("\n") == expected.rstrip("\n")

    text = CliRunner().invoke(app, ["show-plans", *files, "--format", "text"])
    assert text.exit_code == 0 and text.output.count('Stack "vision"') == 3
    missing = CliRunner().invoke(app, ["show-plans", str(tmp_path / "nope.json")])
    assert missing.exit_code != 0
