"""Issue 22: the review scenarios (first apply, canary, full switch, a machine change of the
serving version, prune, drift, errors, two environments, a 36-model fleet) on both backends, as
golden text, Markdown and JSON, and the truths each must tell a reviewer.

Regenerate after an intended change: `UPDATE_GOLDEN=1 pytest tests/render/test_scenarios.py`,
then read every diff.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from deployer.core.plan import ActionKind, Plan
from deployer.render.jsonplan import dumps_plan, loads_plan
from deployer.render.markdown import render_markdown, render_markdown_many
from deployer.render.text import text_plain
from render.plans import golden
from render.scenarios import BACKENDS, PRODUCTION, SCENARIOS, canary, drift, fleet

RENDERS = {"txt": text_plain, "md": render_markdown, "json": dumps_plan}
API_WORDS = (
    "machineSpec",
    "machineType",
    "acceleratorType",
    "containerSpec",
    "imageUri",
    "disableContainerLogging",
    "enableAccessLogging",
    "minReplicaCount",
    "maxReplicaCount",
    "registryVersion",
    "bigqueryDestination",
    "onlinePredictionConsoleLogging",
    "manualScaling",
    "autoScaling",
    "deploymentUri",
    "TENSORFLOW",
    "dedicatedResources",
    "autoscalingMetricSpecs",
    "metricName",
    "aiplatform.googleapis.com",
    "sharedResources",
    "privateServiceConnect",
    "dedicatedEndpoint",
    "clientConnectionConfig",
    "scaleToZeroSpec",
    "idleScaledownPeriod",
    "initialReplicaCount",
    "rolloutOptions",
    "rolloutStrategy",
    "maxSurgeReplicas",
    "maxUnavailableReplicas",
    "spot: True",
    'endpoint: "',
)
"""API field names and values a plan for people must not show (the manifest has its own)."""
SERVICE_IDS = re.compile(r"[#@]\d{3,}|deployed#\d|/v\d+#\d")
CAMEL = re.compile(r"\b[a-z]+[A-Z][A-Za-z]*\b")
"""An API field path (`registryVersion`); the manifest's keys are snake_case."""


@pytest.fixture(params=[(s, b) for s in SCENARIOS for b in BACKENDS], ids=lambda p: "-".join(p))
def case(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, Plan]:
    monkeypatch.chdir(tmp_path)
    name, backend = request.param
    return name, backend, SCENARIOS[name](tmp_path, backend)


@pytest.fixture(params=sorted(PRODUCTION))
def production(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Plan]:
    """Issue 24's production plans (Vertex only)."""
    monkeypatch.chdir(tmp_path)
    return request.param, PRODUCTION[request.param](tmp_path, "vertex")


@pytest.mark.parametrize("suffix", sorted(RENDERS))
def test_production_golden(production: tuple[str, Plan], suffix: str) -> None:
    name, plan = production
    actual = RENDERS[suffix](plan)
    assert actual == golden(f"scenarios/vertex_prod_{name}.{suffix}", actual)


def test_production_plans_speak_the_manifest_not_the_api(production: tuple[str, Plan]) -> None:
    """Issue 22 for issue 24's features: no API field path, camelCase or service id in a plan
    for people, and a saved plan reads the same."""
    _, plan = production
    for out in (text_plain(plan), render_markdown(plan)):
        for word in API_WORDS:
            assert word not in out, word
        words = re.sub(r"```mermaid\n.*?```", "", out, flags=re.S)  # the graph's syntax
        assert not CAMEL.search(words), CAMEL.search(words)
        assert not SERVICE_IDS.search(out), SERVICE_IDS.search(out)
    restored = loads_plan(dumps_plan(plan))
    assert text_plain(restored) == text_plain(plan)
    assert render_markdown(restored) == render_markdown(plan)
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(render_markdown(plan))
    assert html.count("<details>") == html.count("</details>")


@pytest.mark.parametrize("suffix", sorted(RENDERS))
def test_golden(case: tuple[str, str, Plan], suffix: str) -> None:
    name, backend, plan = case
    actual = RENDERS[suffix](plan)
    assert actual == golden(f"scenarios/{backend}_{name}.{suffix}", actual)


def test_no_api_field_name_or_service_id_in_any_plan_for_people(
    case: tuple[str, str, Plan],
) -> None:
    _, _, plan = case
    for out in (text_plain(plan), render_markdown(plan)):
        for word in API_WORDS:
            assert word not in out, word
        assert not SERVICE_IDS.search(out), SERVICE_IDS.search(out)
    restored = loads_plan(dumps_plan(plan))  # a saved plan reads the same
    assert text_plain(restored) == text_plain(plan)
    assert render_markdown(restored) == render_markdown(plan)


def test_markdown_renders_as_one_comment(case: tuple[str, str, Plan]) -> None:
    _, _, plan = case
    md = render_markdown(plan)
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)
    assert html.count("<details>") == html.count("</details>")
    assert "<table>" in html or not plan.actions


def _serving(plan: Plan) -> str:
    out = text_plain(plan)
    return out[out.index("Serving:") : out.index("\n\n", out.index("Serving:"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_machine_change_says_downtime_or_not(tmp_path: Path, backend: str) -> None:
    from render.scenarios import machine_change

    plan = machine_change(tmp_path, backend)
    md, text = render_markdown(plan), text_plain(plan)
    if backend == "vertex":  # rolled: never under a destroy banner, counted once
        assert plan.summary.replace == 1 and plan.summary.destroy == 0
        assert "[!CAUTION]" not in md and "DOWNTIME" not in md
        assert "> **What serves changes; no downtime.**" in md
        assert (
            "us-central1/iris: blue-green v1 to machine_type n1-standard-4, no downtime: v1 keeps "
            "100% throughout" in text
        )
        assert text.rstrip().endswith("to reroute. No downtime.")
    else:  # recreated in place: the model serves nothing meanwhile, and it says so
        assert "> [!CAUTION]\n> **Downtime: something serves nothing for a while.**" in md
        assert (
            "DOWNTIME: us-central1/iris serves nothing from the delete of v1 until the new v1 "
            "is READY (planned with --allow-downtime)" in text
        )
        assert text.rstrip().endswith("DOWNTIME in 1 model: us-central1/iris.")


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_serving_switch_per_model_stated_as_before_and_after(
    tmp_path: Path, backend: str
) -> None:
    from render.scenarios import full_switch

    serving = _serving(full_switch(tmp_path, backend))
    lines = serving.splitlines()[1:]
    assert len(lines) == 1  # the registry alias routes no request: not a second switch
    if backend == "vertex":
        assert lines[0] == (
            "  us-central1/iris: traffic v1 90%, v2 10% -> v2 100%, no downtime; then v1: "
            "deployment deleted, version deleted"
        )
    else:
        assert lines[0] == (
            "  us-central1/iris: default version v1 -> v2, no downtime; then v1: version deleted"
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_pruning_says_what_stops_serving_and_what_goes(tmp_path: Path, backend: str) -> None:
    from render.scenarios import prune

    plan = prune(tmp_path, backend)
    text, md = text_plain(plan), render_markdown(plan)
    assert "STOPS SERVING: europe-west4/iris is no longer declared: requests to it fail" in text
    assert "> [!CAUTION]\n> **Something stops serving.**" in md
    # what a removed version served on is shown, not only kept in the JSON
    old = text[text.index("Model us-central1/old") :]
    assert 'machine_type: "n1-standard-2"' in old
    assert ("scaling.nodes: 2" if backend == "mlengine" else "scaling.min_nodes: 2") in old
    if backend == "vertex":
        assert "its deployment, endpoint and model are deleted" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_drift_under_more_traffic_is_called_out(tmp_path: Path, backend: str) -> None:
    plan = drift(tmp_path, backend)
    text, md = text_plain(plan), render_markdown(plan)
    assert "> [!WARNING]\n> **No downtime, but check these.**" in md
    if backend == "mlengine":
        assert (
            "us-central1/iris: v2 gains traffic (0% -> 100%) while its capacity drops "
            "(scaling.nodes 4 (set outside deployer) -> 1)" in text
        )
        assert "scaling.nodes: 4 -> 1  # set outside deployer" in text
        (update,) = [a for a in plan.drift]
        assert [c.name for c in update.drifted] == ["scaling.nodes"]
        description = next(a for a in plan.actions if a.key.version is None)
        assert not description.drift  # the pull request's own change
    else:
        assert (
            "us-central1/iris: v2 gains traffic (50% -> 100%) while its capacity drops "
            "(scaling.min_nodes 4 (set outside deployer) -> 1)" in text
        )
        # the endpoint records the split deployer set and each deployment's spec: the
        # hand-made 50/50 and the nodes scaled by hand are drift, the description is not
        assert (
            "us-central1/iris: traffic v1 50%, v2 50% -> v2 100%, no downtime (undoes a change "
            "made outside deployer)" in text
        )
        assert "traffic: v1 50%, v2 50% -> v2 100%  # set outside deployer" in text
        assert "scaling.min_nodes: 4 -> 1  # set outside deployer" in text
        drifted = {a.key.address: [c.name for c in a.drifted] for a in plan.drift}
        assert drifted == {
            "us-central1/iris:endpoint": ["traffic"],
            "us-central1/iris/v2:deployed": ["scaling.min_nodes", "scaling.max_nodes"],
        }
        described = [
            a for a in plan.actions if a.kind.value == "update" and a.key.part == "endpoint"
        ]
        assert described and not any(a.drift for a in described)  # the pull request's own


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_environments_in_one_comment(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    staging = dataclasses.replace(canary(tmp_path / "s", backend), environment="staging")
    prod = drift(tmp_path / "p", backend)
    out = render_markdown_many([staging, prod])
    assert out == golden(f"scenarios/{backend}_environments.md", out)
    assert "> - `prod`:" not in out or "downtime" in out  # prod needs a look only if...
    assert out.count("### Environment") == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fleet_leads_with_the_dangerous_rows_and_groups_identical_ones(
    tmp_path: Path, backend: str
) -> None:
    plan = fleet(tmp_path, backend)
    md = render_markdown(plan)
    table = md[md.index("| | action |") : md.index("<sub>")]
    rows = [r for r in table.splitlines()[2:] if r.startswith("|")]
    assert len(rows) <= 12  # 35 identical canaries are one row, not 25 rows and a cut
    first = rows[0]
    if backend == "mlengine":
        assert first.startswith("| :rotating_light: | replace | `us-central1/model_07/v1`")
    else:
        assert first.startswith("| :warning: | delete")  # the removed model's deployment
    assert any("×34" in r for r in rows)
    # cut to a small comment, the dangerous sections stay and the benign ones are named
    small = render_markdown(plan, limit=12_000)
    assert len(small) <= 12_000
    kept = re.findall(r"<summary><code>(us-central1/model_\d+)</code>", small)
    assert "us-central1/model_07" in kept and "us-central1/model_35" in kept
    note = small[small.index("Output truncated") :]
    left = re.findall(r"`(us-central1/model_\d+)`", note)
    assert left and "the least dangerous, were left out: " in note
    assert "us-central1/model_34" in left and not set(left) & set(kept)  # canaries, from the end


def test_counts_in_the_json_say_one_replace_not_a_replace_and_a_destroy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from render.scenarios import machine_change

    monkeypatch.chdir(tmp_path)
    plan = machine_change(tmp_path, "vertex")
    doc = json.loads(dumps_plan(plan))
    assert doc["summary"] == {"add": 0, "change": 0, "replace": 1, "destroy": 0, "reroute": 1}
    kinds = [a["kind"] for a in doc["actions"]]
    assert kinds == ["create-then-delete", "reroute", "delete"]  # the old copy still goes
    assert ActionKind.DELETE in {a.kind for a in plan.actions}


def test_vertex_plans_speak_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22 item 9: a new artifact redeploys the version (said in words, not as a registry
    version number), manual nodes read as `scaling.nodes`, request logging as its manifest keys,
    and every field's FILE:LINE is its own key's."""
    from render.scenarios import m, scenario, v

    monkeypatch.chdir(tmp_path)
    before = [m("iris", v("v1", "vertex", scaling={"mode": "manual", "nodes": 1}))]
    logging = {"bigquery_table": "acme.logs.iris", "sampling_percentage": 0.5}
    after = [
        m(
            "iris",
            {
                **v("v1", "vertex", scaling={"mode": "manual", "nodes": 2}),
                "artifact": "gs://acme/v1-retrained",
                "request_logging": logging,
            },
        )
    ]
    plan = scenario(tmp_path, "vertex", before, after)
    text = text_plain(plan)
    for word in API_WORDS:
        assert word not in text, word
    manifest = (tmp_path / "manifests" / "models.yaml").read_text().splitlines()

    def line_of(key: str) -> int:
        return next(i for i, t in enumerate(manifest, 1) if t.strip().startswith(f"{key}:"))

    assert (
        "version: its version is uploaded again (artifact or container changed): the new upload "
        "is deployed in place of the current one  # forces replacement" in text
    )
    assert f"scaling.nodes: 1 -> 2  (manifests/models.yaml:{line_of('nodes')})" in text
    assert "scaling.min_nodes" not in text and "scaling.max_nodes" not in text
    assert (
        'request_logging.bigquery_table: (none) -> "acme.logs.iris"' in text
        and "request_logging.sampling_percentage: (none) -> 0.5" in text
    )
    assert (
        "us-central1/iris: blue-green v1 to artifact gs://acme/v1-retrained (digest 4aaa71…), no "
        "downtime: v1 keeps 100% throughout" in text
    )
    old = text[text.index("(old deployment, n1-standard-2)") :]
    assert "scaling.nodes: 1\n" in old  # what the old deployment ran on, without a position
