"""Vertex plans: what each manifest change becomes, and that every plan runs safely.

Each scenario applies manifest A to an in-memory Vertex (vertex_sim), then plans B, checks the
plan's shape, runs it in several random orders that respect depends_on — the serving invariant
is checked after every step — and asserts that the next plan is empty.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployer.core.plan import ActionKind, Plan
from deployer.core.resources import DesiredResource, ObservedResource
from deployer.plan.planner import PlanOptions, plan
from deployer.providers.vertex import state
from deployer.providers.vertex.schemas import RESOURCES
from deployer.stacks import load_stack
from plan.vertex_sim import Refused, VertexSim

STACK, PROJECT, REGION = "vision", "demo-project", "us-central1"
ORDERS = 8


def version(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "artifact": f"gs://acme/{name}", "runtime_version": "2.11", **spec}


def model(name: str = "m", *versions: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"name": name, "versions": list(versions), **spec}


def declare(
    *models: dict[str, Any], digests: Mapping[str, str] | None = None
) -> list[DesiredResource]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / STACK
        root.mkdir()
        settings = {
            "project": PROJECT,
            "artifacts": "gs://acme-artifacts",
            "region": REGION,
            "backend": "vertex",
        }
        (root / "deployer.yaml").write_text(yaml.safe_dump(settings))
        (root / "models.yaml").write_text(yaml.safe_dump({"models": list(models)}))
        stack = load_stack(root)
    sources = {
        v["artifact"].rstrip("/"): (digests or {}).get(v["artifact"], "d-" + v["artifact"][-2:])
        for m in models
        for v in m["versions"]
    }
    return state.desired_resources(stack, sources)


def plan_for(desired: list[DesiredResource], observed: list[ObservedResource]) -> Plan:
    return plan(desired, observed, RESOURCES, PlanOptions(stack=STACK, project=PROJECT))


def applied(desired: list[DesiredResource]) -> VertexSim:
    sim = VertexSim()
    plan = plan_for(desired, [])
    assert plan.errors == ()
    sim.run(plan)
    assert plan_for(desired, sim.observed()).actions == ()
    return sim


def ids(plan: Plan) -> list[str]:
    return [a.id for a in plan.actions]


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return [(a.kind.verb, a.address.split("#")[0]) for a in plan.actions]


def run_everywhere(sim: VertexSim, desired: list[DesiredResource]) -> Plan:
    """Plan against `sim`, run the plan in ORDERS orders on copies, converge; returns the plan."""
    plan = plan_for(desired, sim.observed())
    assert plan.errors == ()
    for seed in range(ORDERS):
        copy = VertexSim()
        copy.groups = sim.snapshot()
        copy._dm_ids = iter(range(5000 + 100 * seed, 6000 + 100 * seed))
        copy.run(plan, random.Random(seed))
        again = plan_for(desired, copy.observed())
        assert again.actions == (), [a.id for a in again.actions]
    return plan


A = model("m", version("v1", machine_type="n1-standard-2"))


def test_first_apply_uploads_creates_endpoint_deploys_and_routes_all_traffic() -> None:
    plan = plan_for(declare(A), [])
    assert kinds(plan) == [
        ("create", "us-central1/m:endpoint"),
        ("create", "us-central1/m/v1"),
        ("create", "us-central1/m"),
        ("create", "us-central1/m/v1:deployed"),
        ("reroute", "us-central1/m:endpoint"),
    ]
    traffic = plan.actions[-1]
    assert traffic.desired == {"traffic": {"v1": 100}}
    # The deployment waits for the endpoint's create, so the traffic does too.
    assert traffic.depends_on == ("create:us-central1/m/v1:deployed",)
    run_everywhere(VertexSim(), declare(A))


def test_replica_change_is_a_mutate_in_place_and_keeps_the_deployment() -> None:
    sim = applied(declare(A))
    before = {d.dm for g in sim.groups.values() for d in g.deployed.values()}
    b = declare(model("m", version("v1", scaling={"mode": "auto", "min_nodes": 2, "max_nodes": 5})))
    plan = run_everywhere(sim, b)
    assert kinds(plan) == [("update", "us-central1/m/v1:deployed")]
    assert {c.mask for c in plan.actions[0].changes} == {
        "dedicatedResources.minReplicaCount",
        "dedicatedResources.maxReplicaCount",
    }
    sim.run(plan)
    assert {d.dm for g in sim.groups.values() for d in g.deployed.values()} == before


def test_machine_change_deploys_a_new_copy_shifts_traffic_then_undeploys_the_old() -> None:
    sim = applied(declare(A))
    plan = run_everywhere(sim, declare(model("m", version("v1", machine_type="n1-standard-4"))))
    assert kinds(plan) == [
        ("replace", "us-central1/m/v1:deployed"),
        ("reroute", "us-central1/m:endpoint"),
        ("delete", "us-central1/m/v1:deployed"),
    ]
    replace, traffic, undeploy = plan.actions
    assert traffic.depends_on == (replace.id,)
    assert undeploy.depends_on == (traffic.id,)
    assert undeploy.key.instance  # the old copy, by its id


def test_artifact_change_uploads_a_new_version_and_retires_the_old_after_cutover() -> None:
    sim = applied(declare(A))
    b = declare(A, digests={"gs://acme/v1": "d-new"})
    plan = run_everywhere(sim, b)
    assert kinds(plan) == [
        ("replace", "us-central1/m/v1"),
        ("replace", "us-central1/m/v1:deployed"),
        ("reroute", "us-central1/m:endpoint"),
        ("delete", "us-central1/m/v1:deployed"),
        ("delete", "us-central1/m/v1"),
    ]
    sim.run(plan)
    (g,) = sim.groups.values()
    (v,) = g.versions.values()
    assert v.aliases == {"v1", "default"} and v.fields["artifactDigest"] == "d-new"


def test_rollout_to_a_new_default_then_prune_of_the_old() -> None:
    sim = applied(declare(A))
    b = declare(model("m", version("v2"), default_version="v2"))
    plan = run_everywhere(sim, b)
    order = ids(plan)
    assert order.index("reroute:us-central1/m:endpoint") < next(
        i for i, a in enumerate(order) if a.startswith("delete:us-central1/m/v1:deployed")
    )
    assert "reroute:us-central1/m/v2" in order


def test_dropping_a_model_routes_nothing_undeploys_deletes_endpoint_then_model() -> None:
    sim = applied(declare(A))
    plan = run_everywhere(sim, declare(model("other", version("v1"))))
    mine = [k for k in kinds(plan) if "/m" in k[1] and "other" not in k[1]]
    assert mine == [
        ("reroute", "us-central1/m:endpoint"),
        ("delete", "us-central1/m/v1:deployed"),
        ("delete", "us-central1/m:endpoint"),
        ("delete", "us-central1/m"),
    ]


def test_interrupted_replacement_converges_from_any_point() -> None:
    sim = applied(declare(A))
    b = declare(A, digests={"gs://acme/v1": "d-new"})
    plan = plan_for(b, sim.observed())
    for stop in range(1, len(plan.actions)):
        partial = VertexSim()
        partial.groups = sim.snapshot()
        for action in plan.actions[:stop]:
            partial.perform(action)
        resumed = plan_for(b, partial.observed())
        assert resumed.errors == ()
        partial.run(resumed, random.Random(stop))
        assert plan_for(b, partial.observed()).actions == ()


def test_checker_refuses_an_undeploy_before_the_traffic_moves() -> None:
    sim = applied(declare(A))
    plan = plan_for(
        declare(model("m", version("v1", machine_type="n1-standard-4"))), sim.observed()
    )
    undeploy = plan.actions[-1]
    sim.perform(plan.actions[0])
    with pytest.raises(Refused):
        sim.perform(undeploy)


def test_unmanaged_versions_block_deleting_their_model() -> None:
    sim = applied(declare(A))
    (g,) = sim.groups.values()
    from plan.vertex_sim import _Version

    g.versions[99] = _Version(99, {}, {"team": "x"}, set())
    plan = plan_for(declare(model("other", version("v1"))), sim.observed())
    assert any("does not manage" in e for e in plan.errors)
    assert not any(a.key.model == "m" for a in plan.actions)
    assert ActionKind.DELETE not in {a.kind for a in plan.actions if a.key.model == "m"}


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

VERSIONS = ("v1", "v2", "v3")


@st.composite
def manifests(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, str]]:
    models, digests = [], {}
    for name in draw(st.lists(st.sampled_from(("a", "b")), min_size=0, max_size=2, unique=True)):
        names = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True))
        versions = []
        for v in sorted(names):
            scaling = draw(
                st.sampled_from(
                    (
                        {"mode": "manual", "nodes": 1},
                        {"mode": "manual", "nodes": 2},
                        {"mode": "auto", "min_nodes": 1, "max_nodes": 3},
                    )
                )
            )
            machine = draw(st.sampled_from(("n1-standard-2", "n1-standard-4")))
            versions.append(version(v, machine_type=machine, scaling=scaling))
            digests[f"gs://acme/{v}"] = draw(st.sampled_from(("d-x", "d-y")))
        default = draw(st.sampled_from(sorted(names)))
        spec: dict[str, Any] = {"default_version": default}
        others = sorted(set(names) - {default})
        if others and draw(st.booleans()):
            canary = draw(st.sampled_from(others))
            share = draw(st.sampled_from((10, 50)))
            spec["traffic"] = {default: 100 - share, canary: share}
            others.remove(canary)
        for name_ in others:
            if draw(st.booleans()):
                next(v for v in versions if v["name"] == name_)["deployed"] = False
        spec["regions"] = draw(
            st.lists(st.sampled_from(("us-central1", "europe-west4")), min_size=1, unique=True)
        )
        spec["description"] = draw(st.sampled_from(("", "first", "second")))
        models.append(model(name, *versions, **spec))
    return models, digests


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), manifests())
def test_apply_a_then_b_is_safe_in_any_order_and_converges(
    a: tuple[list[dict[str, Any]], dict[str, str]], b: tuple[list[dict[str, Any]], dict[str, str]]
) -> None:
    """Digests are per artifact URI, so B may change bytes behind a version A declared."""
    sim = VertexSim()
    desired_a = declare(*a[0], digests=a[1])
    sim.run(plan_for(desired_a, []))
    assert plan_for(desired_a, sim.observed()).actions == ()
    run_everywhere(sim, declare(*b[0], digests=b[1]))


def test_canary_then_full_switch() -> None:
    two = (version("v1"), version("v2"))
    sim = applied(declare(model("m", *two, default_version="v1")))
    canary = declare(model("m", *two, default_version="v1", traffic={"v1": 90, "v2": 10}))
    plan = run_everywhere(sim, canary)
    assert kinds(plan) == [("reroute", "us-central1/m:endpoint")]
    assert plan.actions[0].reason.text() == "traffic: v1 100, v2 0 -> v1 90, v2 10".replace(
        ", v2 0", ""
    )
    sim.run(plan)
    full = declare(model("m", *two, default_version="v2"))
    plan = run_everywhere(sim, full)
    assert kinds(plan) == [
        ("reroute", "us-central1/m:endpoint"),
        ("reroute", "us-central1/m/v2"),  # the registry default follows the traffic
    ]


def test_undeployed_version_stays_registered() -> None:
    two = (version("v1"), version("v2"))
    sim = applied(declare(model("m", *two, default_version="v1")))
    plan = run_everywhere(
        sim, declare(model("m", version("v1"), version("v2", deployed=False), default_version="v1"))
    )
    assert kinds(plan) == [("delete", "us-central1/m/v2:deployed")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), manifests(), st.integers(0, 10_000))
def test_interrupted_anywhere_the_next_plan_converges(
    a: tuple[list[dict[str, Any]], dict[str, str]],
    b: tuple[list[dict[str, Any]], dict[str, str]],
    seed: int,
) -> None:
    """A run killed after any number of steps (in any valid order) leaves a state from which
    the next plan is safe and converges: what SIGKILL mid-apply leaves behind."""
    sim = VertexSim()
    sim.run(plan_for(declare(*a[0], digests=a[1]), []))
    desired = declare(*b[0], digests=b[1])
    plan = plan_for(desired, sim.observed())
    rng = random.Random(seed)
    done: set[str] = set()
    for _ in range(rng.randrange(len(plan.actions) + 1)):
        ready = [
            x for x in plan.actions if x.id not in done and all(d in done for d in x.depends_on)
        ]
        action = rng.choice(ready)
        sim.perform(action)
        done.add(action.id)
    run_everywhere(sim, desired)
