"""Issue 22's review scenarios as real plans on both backends.

Each scenario is a manifest before and after a pull request, and optionally hands on the live
state in between (drift). The "before" manifests are applied (ml v1: the bodies an apply
writes; Vertex: the in-memory Vertex running the plan), the "after" manifests are written to
disk (so FILE:LINE are real) and planned against that live state, then annotated as `deployer
plan` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from plan import helpers
from plan.vertex_sim import VertexSim

from deployer.core.plan import Plan
from deployer.core.resources import ObservedResource, ResourceKey
from deployer.plan.planner import PlanOptions, plan
from deployer.plan.present import annotate
from deployer.providers.mlengine import schemas as ml_schemas
from deployer.providers.mlengine import state as ml_state
from deployer.providers.vertex import catalog as vx_catalog
from deployer.providers.vertex import schemas as vx_schemas
from deployer.providers.vertex import state as vx_state
from deployer.stacks import load_stack
from deployer.workflow import ManifestIndex

BACKENDS = ("mlengine", "vertex")
CANARY = {"v1": 90, "v2": 10}
V1 = {"default_version": "v1"}
Models = list[dict[str, Any]]
Edit = Callable[[Any], None]
Settings = dict[str, Any]


def v(name: str, backend: str, **spec: Any) -> dict[str, Any]:
    """A version of `name` with an artifact of its own, served on a machine both backends
    patch replicas on."""
    machine = spec.pop("machine_type", "n1-standard-2")
    return {
        "name": name,
        "artifact": f"gs://acme/{name}",
        "runtime_version": "2.11",
        "machine_type": machine,
        **spec,
    }


def m(name: str, *versions: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"name": name, "versions": list(versions), **spec}


def _stack(root: Path, backend: str, models: Models, extra: Settings | None = None) -> Any:
    root.mkdir(parents=True, exist_ok=True)
    settings = {
        "stack": "vision",
        "project": "${var.project}",
        "artifacts": "gs://acme-artifacts",
        "region": "us-central1",
        "backend": backend,
        "vars": {"project": "demo-project"},
        "environments": {"prod": {"vars": {"project": "demo-project"}}},
        **(extra or {}),
    }
    (root / "deployer.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    (root / "models.yaml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    return load_stack(root, environment="prod")


def _desired(stack: Any, backend: str) -> list[Any]:
    sources = {
        m.artifact_source(version): helpers.digest_of(m.artifact_source(version))
        for m in stack.models
        for version in m.spec.versions
    }
    state = ml_state if backend == "mlengine" else vx_state
    return state.desired_resources(stack, sources)


def scenario(
    root: Path,
    backend: str,
    before: Models,
    after: Models,
    edit: Edit | None = None,
    extra: list[ObservedResource] | None = None,
    settings: tuple[Settings, Settings] = ({}, {}),
    **options: Any,
) -> Plan:
    """The annotated plan of `after` against `before` as applied, edited by `edit` (the live
    state of that backend), with `extra` live resources (someone else's); `settings`: what
    `deployer.yaml` adds before and after (preview, resource pools)."""
    resources = ml_schemas.RESOURCES if backend == "mlengine" else vx_schemas.RESOURCES
    opts = PlanOptions("vision", "demo-project", environment="prod", **options)
    applied = _desired(_stack(root / "before", backend, before, settings[0]), backend)
    if backend == "mlengine":
        live = helpers.Live.applied(applied)
        if edit is not None:
            edit(live)
        observed = live.observed()
    else:
        sim = VertexSim()
        sim.run(plan(applied, [], resources, PlanOptions("vision", "demo-project")))
        if edit is not None:
            edit(sim)
        observed = sim.observed()
    observed += extra or []
    stack = _stack(root / "manifests", backend, after, settings[1])
    planned = plan(_desired(stack, backend), observed, resources, opts)
    planned = dataclasses.replace(
        planned, backend=backend, environment="prod", commit="0123abcd4567"
    )
    key_name = str if backend == "mlengine" else vx_catalog.alias
    return annotate(planned, resources.vocabulary, ManifestIndex(stack, key_name), observed)


# --- hands on the live state ----------------------------------------------------------------


def vertex_deployment(sim: VertexSim, model: str, alias: str) -> Any:
    g = sim.groups[("us-central1", model)]
    return next(d for d in g.deployed.values() if g.versions[d.vid].labels.get(
        "deployer-version") == alias)  # fmt: skip


def vertex_traffic(sim: VertexSim, model: str, split: dict[str, int]) -> None:
    g = sim.groups[("us-central1", model)]
    assert g.endpoint is not None
    g.endpoint.traffic = {
        vertex_deployment(sim, model, alias).dm: pct for alias, pct in split.items()
    }


def unmanaged_model(backend: str, name: str) -> ObservedResource:
    """A registry model (ml v1: a model) someone made by hand, holding `name`."""
    fields = {"displayName": name, "description": ""} if backend == "vertex" else {}
    return ObservedResource(ResourceKey("us-central1", name), fields, {})


# --- the scenarios --------------------------------------------------------------------------


def first_apply(root: Path, backend: str) -> Plan:
    return scenario(root, backend, [], [m("iris", v("v1", backend), description="Iris")])


def canary(root: Path, backend: str) -> Plan:
    before = [m("iris", v("v1", backend))]
    if backend == "vertex":
        after = [m("iris", v("v1", backend), v("v2", backend), traffic=CANARY, **V1)]
    else:
        after = [m("iris", v("v1", backend), v("v2", backend), **V1)]
    return scenario(root, backend, before, after)


def full_switch(root: Path, backend: str) -> Plan:
    if backend == "vertex":
        before = [m("iris", v("v1", backend), v("v2", backend), traffic=CANARY, **V1)]
    else:
        before = [m("iris", v("v1", backend), v("v2", backend), **V1)]
    return scenario(root, backend, before, [m("iris", v("v2", backend))])


def machine_change(root: Path, backend: str) -> Plan:
    """The serving version moves to a bigger machine: Vertex rolls it without downtime; ml v1
    cannot change a machine in place, so it is recreated: downtime, only with the flag."""
    before = [m("iris", v("v1", backend))]
    after = [m("iris", v("v1", backend, machine_type="n1-standard-4"))]
    return scenario(root, backend, before, after, allow_downtime=backend == "mlengine")


def prune(root: Path, backend: str) -> Plan:
    """A region dropped from one model, another model removed."""
    before = [
        m("iris", v("v1", backend), regions=["us-central1", "europe-west4"]),
        m("old", v("v1", backend, scaling={"mode": "manual", "nodes": 2})),
    ]
    return scenario(root, backend, before, [m("iris", v("v1", backend))])


def drift(root: Path, backend: str) -> Plan:
    """During an incident on-call moved serving back to v1 and scaled v2 up by hand; the pull
    request only edits a description. Applying it would undo both."""
    if backend == "vertex":
        declared = [
            m(
                "iris",
                v("v1", backend),
                v("v2", backend),
                traffic={"v2": 100},
                default_version="v2",
                description="a",
            )
        ]
    else:
        declared = [
            m(
                "iris",
                v("v1", backend),
                v("v2", backend, scaling={"mode": "manual", "nodes": 1}),
                default_version="v2",
                description="a",
            )
        ]
    after = [{**declared[0], "description": "Iris, retrained weekly"}]

    def by_hand(live: Any) -> None:
        if backend == "vertex":
            vertex_traffic(live, "iris", {"v1": 50, "v2": 50})
            scaled = vertex_deployment(live, "iris", "v2")
            scaled.fields.update(minReplicaCount=4, maxReplicaCount=4)
        else:
            live.default("iris/v1").set("iris/v2", manualScaling={"nodes": 4})

    return scenario(root, backend, declared, after, edit=by_hand)


def errors(root: Path, backend: str) -> Plan:
    """A new model whose name a hand-made model already holds."""
    before = [m("iris", v("v1", backend))]
    after = [m("iris", v("v1", backend)), m("legacy", v("v1", backend))]
    return scenario(root, backend, before, after, extra=[unmanaged_model(backend, "legacy")])


def fleet(root: Path, backend: str, models: int = 36) -> Plan:
    """36 models all starting a canary, one moving to a bigger machine, one removed."""
    names = [f"model_{i:02d}" for i in range(models)]
    before = [m(n, v("v1", backend)) for n in names]
    after = []
    for n in names[:-1]:
        if n == names[7]:
            after.append(m(n, v("v1", backend, machine_type="n1-standard-4")))
        elif backend == "vertex":
            after.append(m(n, v("v1", backend), v("v2", backend), traffic=CANARY, **V1))
        else:
            after.append(m(n, v("v1", backend), v("v2", backend), **V1))
    return scenario(root, backend, before, after, allow_downtime=backend == "mlengine")


SCENARIOS: dict[str, Callable[[Path, str], Plan]] = {
    "first_apply": first_apply,
    "canary": canary,
    "full_switch": full_switch,
    "machine_change": machine_change,
    "prune": prune,
    "drift": drift,
    "errors": errors,
    "fleet": fleet,
}


# --- issue 24: Vertex AI in production (Vertex only) ----------------------------------------

PREVIEW = {"preview": True}
POOL = {
    "name": "small-cpu",
    "machine_type": "n1-standard-4",
    "scaling": {"min_nodes": 1, "max_nodes": 3, "metrics": [{"name": "CPU_USAGE", "target": 70}]},
}
ROLLING = {"strategy": "rolling", "max_surge": 1, "max_unavailable": 0}
REQUESTS = {
    "mode": "auto",
    "min_nodes": 2,
    "max_nodes": 8,
    "metrics": [{"name": "REQUEST_COUNT", "target": 600}],
}


def pooled(name: str) -> dict[str, Any]:
    """A version on the shared pool: no machine or scaling of its own."""
    return {
        "name": name,
        "artifact": f"gs://acme/{name}",
        "runtime_version": "2.11",
        "resource_pool": "small-cpu",
    }


def pool_shared(root: Path, backend: str) -> Plan:
    """Two small models move from nodes of their own onto one pool they share."""
    before = [m("spam_filter", v("v1", backend)), m("lang_id", v("v2", backend))]
    after = [m("spam_filter", pooled("v1")), m("lang_id", pooled("v2"))]
    pools = {"resource_pools": [POOL]}
    return scenario(root, backend, before, after, settings=({}, pools))


def rolling_update(root: Path, backend: str) -> Plan:
    """A new upload of a version declared `rollout: rolling` (preview): rolled onto its nodes."""
    ranker = v("v3", backend, machine_type="g2-standard-8", rollout=ROLLING)
    ranker["accelerator"] = {"type": "NVIDIA_L4", "count": 1}
    before = [m("ranker", ranker)]
    after = [m("ranker", {**ranker, "artifact": "gs://acme/v3-retrained"})]
    return scenario(root, backend, before, after, settings=(PREVIEW, PREVIEW))


def endpoint_replacement(root: Path, backend: str) -> Plan:
    """Private Service Connect turned on under a canary: a new endpoint, a new URL."""
    two = (v("v1", backend), v("v2", backend))
    before = [m("ranker", *two, traffic=CANARY, **V1)]
    psc = {"private_service_connect": {"project_allowlist": ["acme-prod"]}}
    after = [m("ranker", *two, traffic=CANARY, endpoint=psc, **V1)]
    return scenario(root, backend, before, after)


def spot_canary(root: Path, backend: str) -> Plan:
    """The serving version scales on requests instead of CPU; a spot canary takes 10%."""
    cpu = {**REQUESTS, "metrics": [{"name": "CPU_USAGE", "target": 60}]}
    before = [m("ranker", v("v1", backend, scaling=cpu))]
    canary_ = v("v2", backend, spot=True, scaling={**REQUESTS, "min_nodes": 1, "max_nodes": 2})
    after = [m("ranker", v("v1", backend, scaling=REQUESTS), canary_, traffic=CANARY, **V1)]
    return scenario(root, backend, before, after)


def scale_to_zero(root: Path, backend: str) -> Plan:
    """A batch scorer called a few times a day lets go of its last node while idle (preview)."""
    auto = {"mode": "auto", "min_nodes": 1, "max_nodes": 2}
    zero = {
        **auto,
        "min_nodes": 0,
        "scale_to_zero": {"idle_scaledown": "1800s", "initial_nodes": 1},
    }
    before = [m("batch_scorer", v("v1", backend, scaling=auto))]
    after = [m("batch_scorer", v("v1", backend, scaling=zero))]
    return scenario(root, backend, before, after, settings=(PREVIEW, PREVIEW))


PRODUCTION: dict[str, Callable[[Path, str], Plan]] = {
    "scale_to_zero": scale_to_zero,
    "pool_shared": pool_shared,
    "rolling_update": rolling_update,
    "endpoint_replacement": endpoint_replacement,
    "spot_canary": spot_canary,
}
"""Issue 24's production plans, Vertex only (golden as `vertex_prod_NAME`)."""
