"""Issue 22 items 2 and 3, case by case on plans the real planner makes: what happens to serving
reads from action kinds, the `serving` flag and routes, never from a backend's name.
"""

from __future__ import annotations

import dataclasses

from plan.helpers import Live, declare, model, plan_for, version

from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Route, note
from deployer.core.resources import ResourceKey
from deployer.render.markdown import render_markdown
from deployer.render.serving import Level, events
from deployer.render.text import text_plain

M2 = model("m", version("v1"), version("v2"), default_version="v1")


def _lines(plan: Plan) -> list[tuple[Level, str]]:
    return [(e.level, e.line) for e in events(plan)]


def test_a_recreated_default_with_another_version_to_serve_has_no_downtime() -> None:
    desired = declare(
        model("m", version("v1", runtime_version="2.8"), version("v2"), default_version="v1")
    )
    plan = plan_for(desired, Live.applied(declare(M2)).observed(), allow_downtime=True)
    assert [a.kind for a in plan.actions] == [
        ActionKind.REROUTE,
        ActionKind.DELETE_THEN_CREATE,
        ActionKind.REROUTE,
    ]
    assert _lines(plan) == [
        (
            Level.SWITCH,
            "us-central1/m: v1 is recreated (delete, then create) while v2 serves: the default "
            "version moves to v2 and back, no downtime",
        )
    ]
    assert "DOWNTIME" not in text_plain(plan) and "No downtime." in text_plain(plan)


def test_the_only_version_recreated_is_downtime_named_as_such() -> None:
    desired = declare(model("m", version("v1", runtime_version="2.8")))
    plan = plan_for(
        desired, Live.applied(declare(model("m", version("v1")))).observed(), allow_downtime=True
    )
    (replace,) = plan.actions
    assert replace.kind is ActionKind.DELETE_THEN_CREATE and replace.serving
    assert _lines(plan) == [
        (
            Level.DOWN,
            "DOWNTIME: us-central1/m serves nothing from the delete of v1 until the new v1 is "
            "READY (planned with --allow-downtime)",
        )
    ]
    md = render_markdown(plan)
    assert "| :rotating_light: | replace | `us-central1/m/v1` |" in md
    assert "it serves nothing in between" in md


def test_a_failed_default_serves_nothing_and_is_recreated() -> None:
    applied = declare(model("m", version("v1")))
    observed = Live.applied(applied).set("m/v1", state="FAILED").observed()
    plan = plan_for(applied, observed)
    assert _lines(plan) == [
        (
            Level.WARN,
            "us-central1/m: v1 is FAILED and serves nothing: recreated (delete, then create)",
        )
    ]


def test_a_non_serving_version_replaced_is_no_serving_event() -> None:
    desired = declare(
        model("m", version("v1"), version("v2", runtime_version="2.8"), default_version="v1")
    )
    plan = plan_for(desired, Live.applied(declare(M2)).observed())
    (replace,) = plan.actions
    assert replace.kind is ActionKind.DELETE_THEN_CREATE and not replace.serving
    assert events(plan) == []
    md = render_markdown(plan)
    assert "> [!NOTE]\n> **Nothing that serves is touched; no downtime.**" in md
    assert "- **1 recreated** (deleted, then created again; none of them serves requests)" in md


def test_the_switch_names_the_version_that_loses_traffic_not_the_one_that_gains_it() -> None:
    desired = declare(model("m", version("v1"), version("v2"), default_version="v2"))
    plan = plan_for(desired, Live.applied(declare(M2)).observed())
    (switch,) = [a for a in plan.actions if a.reroutes]
    assert switch.address == "us-central1/m/v2"  # the action is addressed to the new default
    assert _lines(plan) == [
        (
            Level.SWITCH,
            "us-central1/m: default version v1 -> v2, no downtime; then v1 stays, serving nothing",
        )
    ]


def test_a_routing_that_serves_nothing_is_no_serving_switch() -> None:
    alias = Action(
        "reroute:us-central1/m/v2",
        ActionKind.REROUTE,
        ResourceKey("us-central1", "m", "v2"),
        note("registry default alias: v1 -> v2"),
        changes=(FieldChange("defaultVersion", "v1", "v2"),),
        route=Route("defaultVersion", "registry default alias", serves=False),
    )
    plan = Plan("s", "p", actions=(alias,))
    assert events(plan) == []
    assert "registry default alias v1 -> v2 (routes no requests)" in text_plain(plan)
    assert "No downtime" not in text_plain(plan)  # nothing that serves is touched


def test_a_serving_switch_that_undoes_drift_is_a_warning() -> None:
    switch = Action(
        "reroute:us-central1/m:endpoint",
        ActionKind.REROUTE,
        ResourceKey("us-central1", "m", part="endpoint"),
        note("traffic"),
        changes=(FieldChange("traffic", {"v1": 50, "v2": 50}, {"v2": 100}, drift=True),),
        route=Route("traffic", "traffic", split=True),
    )
    plan = Plan("s", "p", actions=(switch,))
    assert _lines(plan) == [
        (
            Level.WARN,
            "us-central1/m: traffic v1 50%, v2 50% -> v2 100%, no downtime (undoes a change "
            "made outside deployer); then v1 stays, serving nothing",
        )
    ]
    drifted = dataclasses.replace(plan, actions=(dataclasses.replace(switch, drift=True),))
    assert "traffic v1 50%, v2 50% (live) -> v2 100%" in text_plain(drifted)


def test_a_bystander_holding_traffic_reads_by_its_name_never_by_its_id() -> None:
    """Issue 22 item 9: someone's experiment deployed by hand on the endpoint with 10% of the
    traffic reads as `bob-experiment (model iris_experiment, …)` in the error that stops the
    plan and in the ignored list, never as `@5309142862`."""
    from plan.test_rollout import declare as vertex_declare
    from plan.vertex_sim import VertexSim

    from deployer.core.resources import ObservedResource
    from deployer.plan.planner import PlanOptions
    from deployer.plan.planner import plan as make_plan
    from deployer.plan.present import annotate
    from deployer.providers.vertex import schemas

    iris = {"name": "iris", "versions": [{"name": "v1", "artifact": "gs://acme/v1"}]}
    for entry in iris["versions"]:
        entry["runtime_version"] = "2.11"
    desired = vertex_declare(iris)
    options = PlanOptions("vision", "demo-project")
    sim = VertexSim()
    sim.run(make_plan(desired, [], schemas.RESOURCES, options))
    observed = []
    for o in sim.observed():
        if o.key.part == "endpoint":
            o = dataclasses.replace(
                o, fields={**o.fields, "traffic": {"v1": 90, "@5309142862": 10}}
            )
        observed.append(o)
    bystander = ObservedResource(
        ResourceKey("us-central1", "iris", "@5309142862", part="deployed", kind="deployment"),
        {
            "displayName": "bob-experiment",
            "model": "iris_experiment",
            "machineSpec": {"machineType": "n1-standard-4"},
        },
        {},
        ident="5309142862",
    )
    observed.append(bystander)
    planned = make_plan(desired, observed, schemas.RESOURCES, options)
    shown = annotate(planned, schemas.VOCABULARY, observed=observed)
    text, md = text_plain(shown), render_markdown(shown)
    name = "bob-experiment (model iris_experiment, n1-standard-4, not managed by this stack)"
    # it holds traffic: the plan refuses to take it away (issue 19), and says whose it is
    assert f"us-central1/iris:endpoint routes 10% to us-central1/iris: {name}, which" in text
    assert f"us-central1/iris: {name}  # not managed by deployer" in text
    for out in (text, md):
        assert "5309142862" not in out
    assert "@5309142862" in shown.errors[0]  # the plan (and its JSON) keeps the address
