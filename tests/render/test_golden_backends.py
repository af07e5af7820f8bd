"""Golden text, JSON and Markdown of plans built by the real engine on both backends.

Each plan comes from manifests on disk (so positions and artifact paths are real), the pure diff
against a live state the test sets up (an applied earlier manifest, then edits), and the same
annotation `deployer plan` applies (workflow: Vocabulary, ManifestIndex). Between them the two
plans hold every action kind: create, update, delete-then-create (mlengine), create-then-delete
(vertex), delete, reroute (a default version; a traffic split) and wait.

Regenerate after an intended change: `UPDATE_GOLDEN=1 pytest tests/render/test_golden_backends.py`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from plan import helpers
from plan.vertex_sim import VertexSim

from deployer.core.plan import ActionKind, Plan
from deployer.plan.planner import PlanOptions, plan
from deployer.plan.present import annotate
from deployer.providers.mlengine import schemas as ml_schemas
from deployer.providers.mlengine import state as ml_state
from deployer.providers.vertex import catalog as vx_catalog
from deployer.providers.vertex import schemas as vx_schemas
from deployer.providers.vertex import state as vx_state
from deployer.render.jsonplan import dumps_plan, loads_plan
from deployer.render.markdown import render_markdown
from deployer.render.text import text_plain
from deployer.stacks import load_stack
from deployer.workflow import ManifestIndex
from render.plans import golden

DIGEST = "8cf5d1e2a4b6c8d0"
SETTINGS = """\
stack: vision
project: ${var.project}
artifacts: gs://acme-artifacts
region: us-central1
vars: {project: demo-project}
environments:
  prod: {vars: {project: demo-project}}
"""

ML_MODELS = """\
models:
  - name: iris
    regions: [global]
    default_version: v2
    versions:
      - name: v2
        artifact: ../export/iris/2
        runtime_version: "2.11"
  - name: fashion_mnist
    description: Fashion-MNIST classifier, retrained every week on the newest labelled batch
    default_version: v2
    versions:
      - name: v1
        artifact: gs://acme/v1
        runtime_version: "2.11"
        machine_type: n1-standard-2
      - name: v2
        artifact: gs://acme/v2
        runtime_version: "2.11"
        machine_type: n1-standard-4
        scaling: {mode: manual, nodes: 3}
        labels: {owner: vision-team, experiment: b}
  - name: mnist
    versions:
      - name: v1
        artifact: gs://acme/v1
        runtime_version: "2.11"
"""

VX_MODELS = """\
models:
  - name: iris
    default_version: v2
    versions:
      - name: v2
        artifact: ../export/iris/2
        runtime_version: "2.11"
  - name: fashion
    description: Fashion classifier
    versions:
      - name: v1
        artifact: gs://acme/v1
        runtime_version: "2.11"
        machine_type: n1-standard-4
"""


def _manifests(root: Path, models: str, backend: str) -> Path:
    (root / "export" / "iris" / "2").mkdir(parents=True)
    (root / "export" / "iris" / "2" / "saved_model.pb").write_bytes(b"")
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "deployer.yaml").write_text(SETTINGS + f"backend: {backend}\n")
    (manifests / "models.yaml").write_text(models)
    return manifests


def _finish(planned: Plan, stack, vocabulary, observed, key_name=str) -> Plan:
    planned = dataclasses.replace(
        planned,
        backend=stack.backend,
        environment=stack.environment or "",
        emulator="http://127.0.0.1:8780",
        commit="0123abcd4567",
    )
    return annotate(planned, vocabulary, ManifestIndex(stack, key_name), observed)


def mlengine_plan(root: Path) -> Plan:
    stack = load_stack(_manifests(root, ML_MODELS, "mlengine"), environment="prod")
    before = helpers.declare(
        helpers.model("iris", helpers.version("v1"), regions=["global"]),
        helpers.model(
            "fashion_mnist",
            helpers.version("v1", runtime_version="2.8", machine_type="n1-standard-2"),
            helpers.version(
                "v2",
                machine_type="n1-standard-4",
                scaling={"mode": "manual", "nodes": 2},
                labels={"experiment": "a"},
            ),
            description="Fashion MNIST",
            default_version="v2",
        ),
        helpers.model("mnist", helpers.version("v1")),
        helpers.model("old_model", helpers.version("v1")),
    )
    live = helpers.Live.applied(before).set("mnist/v1", state="CREATING")
    observed = live.observed()
    sources = {m.artifact_source(v): DIGEST for m in stack.models for v in m.spec.versions}
    sources.update({"gs://acme/v1": helpers.digest_of("gs://acme/v1")})
    sources.update({"gs://acme/v2": helpers.digest_of("gs://acme/v2")})
    desired = ml_state.desired_resources(stack, sources)
    planned = plan(desired, observed, ml_schemas.RESOURCES, PlanOptions("vision", "demo-project"))
    return _finish(planned, stack, ml_schemas.VOCABULARY, observed)


def vertex_plan(root: Path) -> Plan:
    stack = load_stack(_manifests(root, VX_MODELS, "vertex"), environment="prod")
    spec = {"runtime_version": "2.11"}
    before_models = [
        {"name": "iris", "versions": [{"name": "v1", "artifact": "gs://acme/i1", **spec}]},
        {
            "name": "fashion",
            "description": "Fashion",
            "versions": [
                {
                    "name": "v1",
                    "artifact": "gs://acme/v1",
                    "machine_type": "n1-standard-2",
                    **spec,
                }
            ],
        },
        {"name": "old", "versions": [{"name": "v1", "artifact": "gs://acme/o1", **spec}]},
    ]
    from plan.test_rollout import declare  # the vertex manifest builder of the engine tests

    options = PlanOptions("vision", "demo-project")
    sim = VertexSim()
    sim.run(plan(declare(*before_models), [], vx_schemas.RESOURCES, options))
    observed = sim.observed()
    sources = {m.artifact_source(v): DIGEST for m in stack.models for v in m.spec.versions}
    sources["gs://acme/v1"] = "d-v1"  # as declare() digested it: unchanged
    desired = vx_state.desired_resources(stack, sources)
    planned = plan(desired, observed, vx_schemas.RESOURCES, options)
    return _finish(planned, stack, vx_schemas.VOCABULARY, observed, vx_catalog.alias)


BUILDERS = {"mlengine": mlengine_plan, "vertex": vertex_plan}


@pytest.fixture(params=sorted(BUILDERS))
def backend_plan(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Plan, Path]:
    monkeypatch.chdir(tmp_path)
    return request.param, BUILDERS[request.param](tmp_path), tmp_path


def _stable(text: str, root: Path) -> str:
    return text.replace(str(root.resolve()), "<repo>").replace(str(root), "<repo>")


def test_plans_hold_every_action_kind(backend_plan: tuple[str, Plan, Path]) -> None:
    name, planned, _ = backend_plan
    assert planned.errors == ()
    kinds = {a.kind for a in planned.actions}
    if name == "mlengine":
        expected = set(ActionKind) - {ActionKind.CREATE_THEN_DELETE}
        assert not any(a.route and a.route.split for a in planned.actions)
    else:
        # the in-memory Vertex settles every operation at once: nothing to wait for
        expected = set(ActionKind) - {ActionKind.WAIT, ActionKind.DELETE_THEN_CREATE}
        assert any(a.route and a.route.split for a in planned.actions)
    assert kinds == expected


@pytest.mark.parametrize(
    ("suffix", "render"),
    [("txt", text_plain), ("md", render_markdown), ("json", dumps_plan)],
)
def test_golden(
    backend_plan: tuple[str, Plan, Path], suffix: str, render, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, plan, root = backend_plan
    monkeypatch.chdir(root)  # saved plans name local artifacts relative to where plan ran
    actual = _stable(render(plan), root)
    assert actual == golden(f"{name}_plan.{suffix}", actual)


def test_saved_plan_renders_the_same(backend_plan: tuple[str, Plan, Path]) -> None:
    _, plan, _ = backend_plan
    restored = loads_plan(dumps_plan(plan))
    assert dumps_plan(restored) == dumps_plan(plan)
    assert text_plain(restored) == text_plain(plan)
    assert render_markdown(restored) == render_markdown(plan)


def test_what_a_reviewer_needs_is_in_the_text(backend_plan: tuple[str, Plan, Path]) -> None:
    name, plan, _ = backend_plan
    out = text_plain(plan)
    head = out.splitlines()[:3]
    assert head[0] == f'Stack "vision" (environment prod) in project "demo-project", backend {name}'
    assert "local twin at http://127.0.0.1:8780" in head[2]
    # what happens to serving comes before any model section, in plain words, said once
    serving = out[out.index("Serving:") : out.index("Model ")]
    if name == "mlengine":
        assert (
            "  global/iris: default version v1 -> v2, no downtime; then v1: version deleted\n"
            in (serving)
        )
        assert "STOPS SERVING: us-central1/old_model is no longer declared" in serving
    else:
        assert (
            "  us-central1/iris: traffic v1 100% -> v2 100%, no downtime; then v1: deployment "
            "deleted, version deleted\n" in serving
        )
        assert (
            "  us-central1/fashion: blue-green v1 to machine_type n1-standard-4, no downtime: v1 "
            "keeps 100% throughout\n" in serving
        )
        assert "registry default alias" not in serving  # it routes no request
        assert "STOPS SERVING: us-central1/old is no longer declared" in serving
    # manifest vocabulary with positions; internal fields and deployer's labels never shown
    assert "artifact: ../export/iris/2 (digest 8cf5d1…)" in out
    assert "runtime_version" in out or name == "vertex"
    for internal in ("artifactDigest", "deploymentUri", "artifactUri", "scalingMode", "etag"):
        assert internal not in out
    for api in ("machineSpec", "machineType", "disableContainerLogging", "imageUri", "TENSORFLOW"):
        assert api not in out
    assert not re.search(r"#\d|@\d", out)  # no service-assigned ids in addresses
    assert "managed-by" not in out and "deployer-stack" not in out
    assert re.search(r"\(manifests/models\.yaml:\d+\)", out)
    assert all(len(line) < 160 for line in out.splitlines())
    assert out.rstrip().endswith(
        "Stops serving: us-central1/old_model."
        if name == "mlengine"
        else "Stops serving: us-central1/old."
    )


def test_markdown_as_github_renders_it(backend_plan: tuple[str, Plan, Path]) -> None:
    """Render with a CommonMark/GFM parser: the default move and every destructive action are
    visible outside <details>, and each line of a diff block starts with its marker."""
    _, plan, _ = backend_plan
    md = render_markdown(plan)
    gfm = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # GFM minus autolinks
    tokens = gfm.parse(md)
    html = gfm.render(md)
    outside = re.sub(r"(?s)<details>.*?</details>", "", html)
    assert "<table>" in outside
    for action in plan.actions:
        if action.destructive or action.reroutes:
            assert f"<code>{action.shown}</code>" in outside, action.address
    assert "then v1: " in outside
    fences = [t for t in tokens if t.type == "fence" and t.info == "diff"]
    assert fences
    # no graph: every dependency is inside one model, and its section lists it in order
    assert [t.info for t in tokens if t.type == "fence" and t.info != "diff"] == []
    # the banner: what stops serving, and the switches without downtime, outside <details>
    assert "<strong>Something stops serving.</strong>" in outside
    assert "<strong>STOPS SERVING</strong>" in outside
    assert "no downtime" in outside
    markers = {"+": ActionKind.CREATE, "-": ActionKind.DELETE, "!": None, " ": ActionKind.WAIT}
    for fence in fences:
        for line in fence.content.splitlines():
            assert line[:1] in markers and line[1:2] == " ", line
            if line[4:5] in "+-" and line[2:5].strip() in ("+", "-"):
                assert line[0] == line[4], line  # create green, delete red
            if "-/+" in line[:5] or "+/-" in line[:5]:
                assert line[0] == "!", line  # a replace is a change, not a deletion
    assert "deployer apply plan.json" in md


def test_failed_plan_never_ends_with_a_zero_summary() -> None:
    plan = Plan("vision", "demo-project", errors=("a", "b"))
    assert text_plain(plan).endswith("Plan failed: 2 errors. Nothing will be applied.\n")
    assert "**:x: Plan failed: 2 errors. Nothing will be applied.**" in render_markdown(plan)
    assert "0 to add" not in text_plain(plan) + render_markdown(plan)


def test_long_values_are_elided_in_the_middle() -> None:
    from deployer.render.values import VALUE_WIDTH, elide, fmt_value

    long = "gs://acme-artifacts/fashion_mnist/" + "a" * 80 + "/end"
    shown = fmt_value(long)
    assert len(shown) == VALUE_WIDTH and "…" in shown and shown.endswith('/end"')
    assert shown.startswith('"gs://acme-artifacts/')
    assert elide("short") == "short"
