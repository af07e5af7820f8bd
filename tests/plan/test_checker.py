"""Every plan, executed against a model of the service's rules, is accepted and converges.

`Service` (helpers.py) refuses what `ml` v1 refuses: duplicates, deleting the default while
other versions exist, deleting a model with versions, changing a busy version, patching a
field that has no update mask or on a machine type that refuses it (manualScaling.nodes off
n1-*), switching scaling mode by a patch, setDefault on a version that is not READY. Plans
run in many random orders that respect depends_on, as the parallel executor may run them.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.core.plan import ActionKind
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.plan.planner import plan
from deployer.providers.mlengine.schemas import MODEL, RESOURCES, VERSION
from plan.helpers import (
    OURS,
    THEIRS,
    Refused,
    Service,
    assert_matches,
    assert_topologically_listed,
    digest_of,
    options,
    plan_for,
)
from plan.test_diff import CASES, Case

ORDERS = 12


def _foreign(service: Service) -> list[ResourceKey]:
    return [k for k, r in service.res.items() if r.labels.get("deployer-stack") != "vision"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table_plans_are_accepted_in_any_order(case: Case) -> None:
    observed = case.live.observed()
    plan = plan_for(case.desired, observed, **(case.kw or {}))
    assert_topologically_listed(plan)
    for seed in range(ORDERS):
        service = Service(observed)
        foreign = service.snapshot(_foreign(service))
        service.run(plan, random.Random(seed))
        assert service.snapshot(foreign) == foreign
        if plan.errors:
            continue
        waited = any(a.kind is ActionKind.WAIT for a in plan.actions)
        if waited:  # apply waits, then the next plan finishes the job
            service.run(plan_for(case.desired, service.observed(), **(case.kw or {})))
        assert_matches(service, case.desired)
        again = plan_for(case.desired, service.observed(), **(case.kw or {}))
        assert again.actions == () and again.errors == ()


def test_checker_catches_an_unsafe_order() -> None:
    """The service model is strict enough to fail a plan that deletes the default first."""
    case = next(c for c in CASES if c.id.startswith("new default created, default moved"))
    plan = plan_for(case.desired, case.live.observed())
    delete = next(a for a in plan.actions if a.kind is ActionKind.DELETE)
    service = Service(case.live.observed())
    service.call(plan.actions[0])  # create v2: v1 is still the default
    with pytest.raises(Refused, match="Cannot delete the default version"):
        service.call(delete)


# -- property: apply A, apply B, plan B is empty; foreign resources untouched -----------------

ENDPOINTS = ("us-central1", "europe-west4")


@st.composite
def version_fields(draw: st.DrawFn) -> dict:
    uri = draw(st.sampled_from(["gs://a/1", "gs://a/2"]))
    manual = draw(st.booleans())
    return {
        "description": draw(st.sampled_from([None, "x"])),
        "deploymentUri": uri,
        "artifactDigest": draw(st.sampled_from([digest_of(uri), "rebuilt"])),
        "runtimeVersion": draw(st.sampled_from(["2.8", "2.11"])),
        "pythonVersion": "3.7",
        "framework": draw(st.sampled_from(["TENSORFLOW", "SCIKIT_LEARN"])),
        "machineType": draw(st.sampled_from(["n1-standard-2", "n1-standard-4"])),
        "acceleratorConfig": None,
        "predictionClass": None,
        "packageUris": None,
        "serviceAccount": None,
        "requestLoggingConfig": draw(
            st.sampled_from([None, {"bigqueryTableName": "p.d.t", "samplingPercentage": 0.5}])
        ),
        "scalingMode": "manual" if manual else "auto",
        "manualScaling.nodes": draw(st.integers(1, 2)) if manual else None,
        "autoScaling.minNodes": None if manual else draw(st.integers(1, 2)),
        "autoScaling.maxNodes": None if manual else draw(st.sampled_from([None, 3])),
        "autoScaling.metrics": None
        if manual
        else draw(st.sampled_from([None, [{"name": "CPU_USAGE", "target": 60}]])),
    }


@st.composite
def stacks(draw: st.DrawFn) -> list[DesiredResource]:
    """A random desired state: up to 3 models over 2 endpoints, up to 3 versions each."""
    out: list[DesiredResource] = []
    for name in sorted(draw(st.sets(st.sampled_from(["m1", "m2", "m3"]), max_size=3))):
        endpoints = sorted(draw(st.sets(st.sampled_from(ENDPOINTS), min_size=1)))
        fields = {
            "description": draw(st.sampled_from([None, "d"])),
            "onlinePredictionLogging": draw(st.booleans()),
            "onlinePredictionConsoleLogging": False,
        }
        labels = {**OURS, **draw(st.sampled_from([{}, {"team": "a"}]))}
        versions = sorted(draw(st.sets(st.sampled_from(["v1", "v2", "v3"]), max_size=3)))
        vfields = {v: draw(version_fields()) for v in versions}
        vlabels = {v: {**OURS, **draw(st.sampled_from([{}, {"exp": "b"}]))} for v in versions}
        default = draw(st.sampled_from(versions)) if versions else None
        for endpoint in endpoints:
            out.append(DesiredResource(ResourceKey(endpoint, name), fields, labels))
            for v in versions:
                key = ResourceKey(endpoint, name, v)
                out.append(DesiredResource(key, vfields[v], vlabels[v], is_default=v == default))
    return out


@st.composite
def foreign(draw: st.DrawFn) -> list[ObservedResource]:
    """Unmanaged and other-stack models (with versions) sharing the endpoints."""
    out: list[ObservedResource] = []
    for name in ("x1", "x2"):
        for endpoint in sorted(draw(st.sets(st.sampled_from(ENDPOINTS), max_size=2))):
            labels = draw(st.sampled_from([{}, THEIRS]))
            out.append(ObservedResource(ResourceKey(endpoint, name), {"description": None}, labels))
            for i in range(draw(st.integers(0, 2))):
                key = ResourceKey(endpoint, name, f"v{i}")
                fields = {"deploymentUri": f"gs://x/{i}", "runtimeVersion": "2.11"}
                out.append(ObservedResource(key, fields, labels, is_default=i == 0))
    return out


def _apply(service: Service, desired: list[DesiredResource], rng: random.Random) -> None:
    plan = plan_for(desired, service.observed())
    if plan.errors:  # only downtime may be refused by default
        assert all("--allow-downtime" in e for e in plan.errors), plan.errors
        plan = plan_for(desired, service.observed(), allow_downtime=True)
    assert plan.errors == ()
    assert_topologically_listed(plan)
    service.run(plan, rng)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(a=stacks(), b=stacks(), others=foreign(), seed=st.integers(0, 2**16))
def test_apply_a_then_b_converges(
    a: list[DesiredResource],
    b: list[DesiredResource],
    others: list[ObservedResource],
    seed: int,
) -> None:
    rng = random.Random(seed)
    service = Service(others)
    untouched = service.snapshot(_foreign(service))
    for desired in (a, b):
        _apply(service, desired, rng)
        assert_matches(service, desired)
        assert service.snapshot(_foreign(service)) == untouched
    final = plan_for(b, service.observed())
    assert final.actions == () and final.errors == ()
    assert {(i.address, i.reason) for i in final.ignored} == {
        (k.address, "not managed by deployer" if not r.labels else "managed by stack 'other'")
        for k, r in service.res.items()
        if k.version is None and k in untouched
    }


def test_checker_refuses_a_manual_nodes_patch_on_mls1() -> None:
    """Issue 15: with manualScaling.nodes patchable everywhere (the old schema), the plan patches
    an mls1-* version, which the service refuses; the checker refuses it too."""
    case = next(c for c in CASES if c.id.startswith("mls1 manual nodes of the new default"))
    unconditional = dataclasses.replace(
        VERSION,
        fields=tuple(
            dataclasses.replace(f, patch_only_if=None) if f.path == "manualScaling.nodes" else f
            for f in VERSION.fields
        ),
    )
    model = dataclasses.replace(RESOURCES, kinds=(MODEL, unconditional))
    planned = plan(case.desired, case.live.observed(), model, options())
    update = next(a for a in planned.actions if a.kind is ActionKind.UPDATE)
    assert update.changes[0].mask == "manualScaling.nodes"
    with pytest.raises(Refused, match=r"can only be updated on n1-\* machine types"):
        Service(case.live.observed()).run(planned)


def test_checker_accepts_a_manual_nodes_patch_on_n1() -> None:
    case = next(c for c in CASES if c.id == "manual scaling nodes")
    plan = plan_for(case.desired, case.live.observed())
    assert [a.kind for a in plan.actions] == [ActionKind.UPDATE]
    Service(case.live.observed()).run(plan)
