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

from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.resources import DesiredResource, ObservedResource
from deployer.plan.planner import PlanOptions, plan
from deployer.plan.present import annotate
from deployer.providers.vertex import state
from deployer.providers.vertex.schemas import RESOURCES, VOCABULARY
from deployer.stacks import load_stack
from plan.vertex_sim import Refused, VertexSim

STACK, PROJECT, REGION = "vision", "demo-project", "us-central1"
ORDERS = 8


def version(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "artifact": f"gs://acme/{name}", "runtime_version": "2.11", **spec}


def model(name: str = "m", *versions: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"name": name, "versions": list(versions), **spec}


def declare(
    *models: dict[str, Any],
    digests: Mapping[str, str] | None = None,
    pools: list[dict[str, Any]] | None = None,
) -> list[DesiredResource]:
    """The desired state of a vertex stack declaring `models` (preview features allowed) and
    resource `pools`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / STACK
        root.mkdir()
        settings = {
            "project": PROJECT,
            "artifacts": "gs://acme-artifacts",
            "region": REGION,
            "backend": "vertex",
            "preview": True,
            "resource_pools": pools or [],
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


POOL_MACHINES = {"small-cpu": "n1-standard-2", "mid-cpu": "n1-standard-4"}
"""A pool's settings never change under the same name here: a pool in use cannot change."""
ENDPOINTS: tuple[dict[str, Any] | None, ...] = (
    None,
    {"dedicated": True},
    {"dedicated": True, "inference_timeout": 300},
    {"private_service_connect": {"project_allowlist": ["acme-prod"]}},
    {"private_service_connect": {"project_allowlist": ["acme-prod", "acme-ci"]}},
)
SCALINGS: tuple[dict[str, Any], ...] = (
    {"mode": "manual", "nodes": 1},
    {"mode": "manual", "nodes": 2},
    {"mode": "auto", "min_nodes": 1, "max_nodes": 3},
    {
        "mode": "auto",
        "min_nodes": 1,
        "max_nodes": 3,
        "metrics": [{"name": "REQUEST_COUNT", "target": 600}],
    },
    {"mode": "auto", "min_nodes": 0, "max_nodes": 2},
    {
        "mode": "auto",
        "min_nodes": 0,
        "max_nodes": 2,
        "scale_to_zero": {"idle_scaledown": 600, "initial_nodes": 2},
    },
)
Drawn = tuple[list[dict[str, Any]], dict[str, str], list[dict[str, Any]]]


@st.composite
def manifests(draw: st.DrawFn) -> Drawn:
    """Models, artifact digests and resource pools of a valid stack: endpoint settings, spot,
    request-count and scale-to-zero scaling, rolling versions and versions on pools included
    (issue 24), within the combinations the validator accepts."""
    pools = sorted(draw(st.lists(st.sampled_from(sorted(POOL_MACHINES)), max_size=2, unique=True)))
    models, digests = [], {}
    for name in draw(st.lists(st.sampled_from(("a", "b")), min_size=0, max_size=2, unique=True)):
        names = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True))
        endpoint = draw(st.sampled_from(ENDPOINTS))
        private = endpoint is not None and not endpoint.get("dedicated")
        versions = []
        for v in sorted(names):
            if pools and not private and draw(st.booleans()):
                versions.append(version(v, resource_pool=draw(st.sampled_from(pools))))
            else:
                scaling = draw(st.sampled_from(SCALINGS))
                machine = draw(st.sampled_from(("n1-standard-2", "n1-standard-4")))
                extra: dict[str, Any] = {"spot": draw(st.booleans())}
                if scaling.get("min_nodes") != 0 and draw(st.booleans()):
                    extra["rollout"] = {"strategy": "rolling", "max_surge": 1}
                versions.append(version(v, machine_type=machine, scaling=scaling, **extra))
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
        if endpoint is not None:
            spec["endpoint"] = endpoint
        models.append(model(name, *versions, **spec))
    declared = [
        {"name": n, "region": r, "machine_type": POOL_MACHINES[n]}
        for n in pools
        for r in ("us-central1", "europe-west4")
    ]
    return models, digests, declared


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), manifests())
def test_apply_a_then_b_is_safe_in_any_order_and_converges(a: Drawn, b: Drawn) -> None:
    """Digests are per artifact URI, so B may change bytes behind a version A declared; B may
    move a model to another kind of endpoint (a new endpoint), roll versions in place, and
    move versions on and off pools."""
    sim = VertexSim()
    desired_a = declare(*a[0], digests=a[1], pools=a[2])
    sim.run(plan_for(desired_a, []))
    assert plan_for(desired_a, sim.observed()).actions == ()
    run_everywhere(sim, declare(*b[0], digests=b[1], pools=b[2]))


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), manifests(), st.integers(0, 10_000))
def test_interrupted_anywhere_the_next_plan_converges(a: Drawn, b: Drawn, seed: int) -> None:
    """A run killed after any number of steps (in any valid order) leaves a state from which
    the next plan is safe and converges: what SIGKILL mid-apply leaves behind."""
    sim = VertexSim()
    sim.run(plan_for(declare(*a[0], digests=a[1], pools=a[2]), []))
    desired = declare(*b[0], digests=b[1], pools=b[2])
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


# ---- issue 24: endpoint settings, spot, autoscaling signals, scale to zero, rolling, pools -----


def words(action: Action) -> list[tuple[str, Any, Any, bool]]:
    """An action's changes in the manifest's words: (key, before, after, forces replacement)."""
    (shown,) = annotate(Plan(STACK, PROJECT, (action,)), VOCABULARY).actions
    return [
        (c.name, c.before, c.after, c.forces_replacement) for c in shown.changes if not c.hidden
    ]


def test_private_service_connect_on_a_live_endpoint_sets_up_a_new_endpoint_first() -> None:
    """Enabling Private Service Connect cannot be patched ([MM] Endpoint.yaml: immutable): a
    new endpoint, its deployments there, the traffic there, then the old endpoint drained,
    undeployed and deleted; the plan warns that the URL changes."""
    two = (version("v1"), version("v2"))
    sim = applied(declare(model("m", *two, default_version="v1", traffic={"v1": 80, "v2": 20})))
    psc = {"private_service_connect": {"project_allowlist": ["acme-prod"]}}
    b = declare(model("m", *two, default_version="v1", traffic={"v1": 80, "v2": 20}, endpoint=psc))
    plan = run_everywhere(sim, b)
    assert kinds(plan) == [
        ("replace", "us-central1/m:endpoint"),
        ("replace", "us-central1/m/v1:deployed"),
        ("replace", "us-central1/m/v2:deployed"),
        ("reroute", "us-central1/m:endpoint"),
        ("reroute", "us-central1/m:endpoint"),
        ("delete", "us-central1/m/v1:deployed"),
        ("delete", "us-central1/m/v2:deployed"),
        ("delete", "us-central1/m:endpoint"),
    ]
    endpoint, drain = plan.actions[0], plan.actions[4]
    assert ("endpoint.private_service_connect", None, True, True) in words(endpoint)
    assert "a new endpoint comes first" in endpoint.reason.text()
    assert drain.key.instance and drain.desired == {"traffic": {}}
    assert drain.reason.text() == "traffic: v1 80, v2 20 -> (none)"
    assert plan.actions[-1].key.instance == drain.key.instance
    assert plan.warnings == (
        "us-central1/m:endpoint is replaced (forced by: endpoint.private_service_connect): a "
        "new endpoint "
        "has a new ID and URL: tell its clients; the old URL stops answering once the new "
        "endpoint serves",
    )


def test_endpoint_settings_that_patch_in_place() -> None:
    """The project allow-list, the inference timeout, logging, display name and labels change
    on the live endpoint; turning dedicated on warns that its URL changes."""
    psc = {"private_service_connect": {"project_allowlist": ["acme-prod"]}}
    sim = applied(declare(model("m", version("v1"), endpoint=psc)))
    b = {
        "private_service_connect": {"project_allowlist": ["acme-prod", "acme-ci"]},
        "inference_timeout": "600s",
        "display_name": "Ranker",
        "labels": {"tier": "gold"},
    }
    plan = run_everywhere(sim, declare(model("m", version("v1"), endpoint=b)))
    assert kinds(plan) == [("update", "us-central1/m:endpoint")]
    (update,) = plan.actions
    assert {c.mask for c in update.changes} == {
        "privateServiceConnectConfig",
        "clientConnectionConfig",
        "displayName",
        "labels",
    }
    assert (
        "endpoint.inference_timeout",
        None,
        {"inferenceTimeout": "600s"},
        False,
    ) in words(update)
    sim = applied(declare(model("d", version("v1"))))
    plan = run_everywhere(sim, declare(model("d", version("v1"), endpoint={"dedicated": True})))
    assert kinds(plan) == [("update", "us-central1/d:endpoint")]
    assert plan.warnings == (
        "us-central1/d:endpoint: endpoint.dedicated changes: its URL changes: a dedicated "
        "endpoint answers at its own DNS name only, the regional host no longer does "
        "(Endpoint.dedicatedEndpointEnabled); tell its clients",
    )


def test_spot_is_a_new_deployment_and_request_count_scaling_is_in_place() -> None:
    sim = applied(declare(model("m", version("v1"))))
    plan = run_everywhere(sim, declare(model("m", version("v1", spot=True))))
    assert kinds(plan) == [
        ("replace", "us-central1/m/v1:deployed"),
        ("reroute", "us-central1/m:endpoint"),
        ("delete", "us-central1/m/v1:deployed"),
    ]
    assert ("spot", None, True, True) in words(plan.actions[0])
    sim.run(plan)
    metrics = [{"name": "REQUEST_COUNT", "target": 600}, {"name": "CPU_USAGE", "target": 70}]
    scaling = {"mode": "auto", "min_nodes": 1, "max_nodes": 4, "metrics": metrics}
    plan = run_everywhere(sim, declare(model("m", version("v1", spot=True, scaling=scaling))))
    assert kinds(plan) == [("update", "us-central1/m/v1:deployed")]
    changes = {c.name: c.after for c in annotate(plan, VOCABULARY).actions[0].changes}
    assert changes["scaling.metrics"] == [  # in the manifest's words (issue 22)
        {"name": "CPU_USAGE", "target": 70},
        {"name": "REQUEST_COUNT", "target": 600},
    ]


def test_scaling_to_zero_and_back_is_a_mutate_in_place() -> None:
    sim = applied(declare(model("m", version("v1"))))
    zero = {
        "mode": "auto",
        "min_nodes": 0,
        "max_nodes": 2,
        "scale_to_zero": {"idle_scaledown": "900s"},
    }
    plan = run_everywhere(sim, declare(model("m", version("v1", scaling=zero))))
    assert kinds(plan) == [("update", "us-central1/m/v1:deployed")]
    assert {c.mask for c in plan.actions[0].changes} == {
        "dedicatedResources.minReplicaCount",
        "dedicatedResources.maxReplicaCount",
        "dedicatedResources.scaleToZeroSpec",
        "dedicatedResources.initialReplicaCount",
    }
    sim.run(plan)
    back = run_everywhere(sim, declare(model("m", version("v1"))))
    assert kinds(back) == [("update", "us-central1/m/v1:deployed")]


def test_a_rolling_version_is_rolled_in_place_and_says_so() -> None:
    """A new upload under `rollout: rolling`: no second deployment and no traffic move, one
    update after the upload (the service's rolling update), the old upload deleted after it."""
    rolling = {"strategy": "rolling", "max_surge": 1, "max_unavailable": 0}
    a = model("m", version("v1", rollout=rolling))
    sim = applied(declare(a))
    plan = run_everywhere(sim, declare(a, digests={"gs://acme/v1": "d-new"}))
    assert kinds(plan) == [
        ("replace", "us-central1/m/v1"),
        ("update", "us-central1/m/v1:deployed"),
        ("delete", "us-central1/m/v1"),
    ]
    upload, roll, retire = plan.actions
    assert roll.depends_on == (upload.id,) and retire.depends_on == (roll.id,)
    assert [(c.path, c.after, c.mask) for c in roll.changes] == [
        ("registryVersion", "onto the new upload in place (rollout: rolling)", "rolloutOptions")
    ]
    assert roll.desired is not None
    assert roll.desired["rolloutOptions"] == {"maxSurgeReplicas": 1, "maxUnavailableReplicas": 0}
    machine = declare(
        model("m", version("v1", rollout=rolling, machine_type="n1-standard-4")),
        digests={"gs://acme/v1": "d-newer"},
    )
    plan = run_everywhere(sim, machine)
    assert ("replace", "us-central1/m/v1:deployed") in kinds(plan)
    assert plan.warnings == (
        "us-central1/m/v1:deployed: machine_type cannot change in place, so it is replaced "
        "beside the old one rather than moved onto the new upload in place (rollout: rolling)",
    )


POOLS = [{"name": "small-cpu", "machine_type": "n1-standard-4", "scaling": {"max_nodes": 3}}]


def test_two_models_share_a_pool_created_first_and_removed_after_them() -> None:
    shared = {"resource_pool": "small-cpu"}
    both = (model("a", version("v1", **shared)), model("b", version("v1", **shared)))
    plan = run_everywhere(VertexSim(), declare(*both, pools=POOLS))
    by = {a.id: a for a in plan.actions}
    assert by["create:us-central1/small-cpu:pool"].changes
    for name in ("a", "b"):
        deploy = by[f"create:us-central1/{name}/v1:deployed"]
        assert "create:us-central1/small-cpu:pool" in deploy.depends_on
        assert ("resource_pool", None, "small-cpu", False) in words(deploy)
    sim = VertexSim()
    sim.run(plan)
    moved = (model("a", version("v1")), model("b", version("v1")))
    plan = run_everywhere(sim, declare(*moved))
    gone = next(a for a in plan.actions if a.key.kind == "pool")
    assert gone.kind is ActionKind.DELETE
    assert {d.split("#")[0] for d in gone.depends_on} == {
        "delete:us-central1/a/v1:deployed",
        "delete:us-central1/b/v1:deployed",
    }


def test_a_pool_in_use_cannot_change_and_says_what_to_do() -> None:
    shared = model("a", version("v1", resource_pool="small-cpu"))
    sim = applied(declare(shared, pools=POOLS))
    bigger = [{**POOLS[0], "machine_type": "n1-standard-8"}]
    plan = plan_for(declare(shared, pools=bigger), sim.observed())
    assert plan.errors == (
        "us-central1/small-cpu:pool must be replaced (machine_type cannot change in place) while "
        "us-central1/a/v1:deployed uses it: declare the new settings under another name, move "
        "what uses it there, then remove the old one",
    )
    assert not any(a.key.kind == "pool" for a in plan.actions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests(), st.integers(0, 10_000))
def test_new_uploads_of_every_version_roll_or_replace_and_converge(a: Drawn, seed: int) -> None:
    """The same stack with new bytes behind every artifact: each served version is rolled in
    place (rollout: rolling) or deployed anew beside the old one (blue-green), in any order,
    interrupted anywhere, and converges."""
    sim = VertexSim()
    sim.run(plan_for(declare(*a[0], digests=a[1], pools=a[2]), []))
    flipped = {uri: "d-y" if digest == "d-x" else "d-x" for uri, digest in a[1].items()}
    desired = declare(*a[0], digests=flipped, pools=a[2])
    plan = plan_for(desired, sim.observed())
    rolled = {a.key.address for a in plan.actions if a.kind is ActionKind.UPDATE}
    declared_rolling = {
        f"{r}/{m['name']}/{v['name']}:deployed"
        for m in a[0]
        for r in m["regions"]
        for v in m["versions"]
        if v.get("rollout") and v.get("deployed", True)
    }
    assert rolled == declared_rolling
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
