"""Table-driven tests of the diff: desired + live state + options -> the exact plan.

Addresses and action ids leave out the default region (us-central1). Each row lists the
actions as (kind, address, depends_on, changed paths), then error and warning fragments
(one per message, in order) and the ignored resources. `depends_on` is sorted and lists only
what no other of its dependencies already implies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from deployer.core.ownership import fingerprint
from deployer.core.plan import ActionKind
from plan.helpers import (
    THEIRS,
    Live,
    declare,
    model,
    plan_for,
    summarize,
    version,
)

M1 = model("m", version("v1"))
M2 = model("m", version("v1"), version("v2"), default_version="v1")


def m2(v1: dict[str, Any] | None = None, v2: dict[str, Any] | None = None, **kw: Any) -> dict:
    """M2 with fields of v1 / v2 overridden."""
    return model(
        "m",
        version("v1", **(v1 or {})),
        version("v2", **(v2 or {})),
        **{"default_version": "v1", **kw},
    )


def gv(name: str, nodes: int | None = None, **spec: Any) -> dict[str, Any]:
    """A version on an mls1-* machine type (global endpoint), manually scaled to `nodes`."""
    if nodes is not None:
        spec["scaling"] = {"mode": "manual", "nodes": nodes}
    return version(name, machine_type="mls1-c1-m2", **spec)


def g2(v1: dict[str, Any] | None = None, v2: dict[str, Any] | None = None) -> dict:
    """M2 on the global endpoint with mls1-* versions, fields of v1 / v2 overridden."""
    return model(
        "m",
        gv("v1", **(v1 or {})),
        gv("v2", **(v2 or {})),
        default_version="v1",
        regions=["global"],
    )


def live(*models: dict[str, Any], stack: str = "vision") -> Live:
    return Live.applied(declare(*models), stack)


@dataclass
class Case:
    id: str
    desired: list
    live: Live
    actions: list
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()
    kw: dict | None = None


def replace_v2(paths: tuple[str, ...]) -> list:
    return [("replace", "m/v2", (), paths)]


CASES = [
    # -- create -------------------------------------------------------------------------------
    Case(
        "new model, one version: first version becomes default, no set-default",
        declare(M1),
        Live(),
        [("create", "m", (), ()), ("create", "m/v1", ("create:m",), ())],
    ),
    Case(
        "new model, several versions: set-default after the default's create",
        declare(model("m", version("v1"), version("v2"), default_version="v2")),
        Live(),
        [
            ("create", "m", (), ()),
            ("create", "m/v1", ("create:m",), ()),
            ("create", "m/v2", ("create:m",), ()),
            ("reroute", "m/v2", ("create:m/v2",), ("defaultVersion",)),
        ],
    ),
    Case(
        "one model on two regions",
        declare(model("m", version("v1"), regions=["europe-west4", "us-central1"])),
        Live(),
        [
            ("create", "europe-west4/m", (), ()),
            ("create", "europe-west4/m/v1", ("create:europe-west4/m",), ()),
            ("create", "m", (), ()),
            ("create", "m/v1", ("create:m",), ()),
        ],
    ),
    Case(
        "existing model without versions gets one",
        declare(M1),
        live(M1).drop("m/v1"),
        [("create", "m/v1", (), ())],
    ),
    Case("no change: empty plan", declare(M2), live(M2), []),
    # -- update in place ----------------------------------------------------------------------
    Case(
        "version description",
        declare(model("m", version("v1", description="new"))),
        live(M1),
        [("update", "m/v1", (), ("description",))],
    ),
    Case(
        "version labels",
        declare(model("m", version("v1", labels={"exp": "b"}))),
        live(M1),
        [("update", "m/v1", (), ("labels",))],
    ),
    Case(
        "auto scaling min and max nodes",
        declare(
            model("m", version("v1", scaling={"mode": "auto", "min_nodes": 2, "max_nodes": 5}))
        ),
        live(M1),
        [("update", "m/v1", (), ("autoScaling.minNodes", "autoScaling.maxNodes"))],
    ),
    Case(
        "manual scaling nodes",
        declare(model("m", version("v1", scaling={"mode": "manual", "nodes": 3}))),
        live(model("m", version("v1", scaling={"mode": "manual", "nodes": 1}))),
        [("update", "m/v1", (), ("manualScaling.nodes",))],
    ),
    Case(
        "request logging",
        declare(model("m", version("v1", request_logging={"bigquery_table": "p.d.t"}))),
        live(M1),
        [("update", "m/v1", (), ("requestLoggingConfig",))],
    ),
    Case(
        "model description and labels",
        declare(model("m", version("v1"), description="d", labels={"team": "a"})),
        live(M1),
        [("update", "m", (), ("description", "labels"))],
    ),
    # -- per machine type: what versions.patch accepts on mls1-* (global endpoint) -----------
    Case(
        "mls1 manual nodes of a non-default version: replaced, never patched",
        declare(g2(v2={"scaling": {"mode": "manual", "nodes": 2}})),
        live(g2(v2={"scaling": {"mode": "manual", "nodes": 1}})),
        [("replace", "global/m/v2", (), ("manualScaling.nodes",))],
    ),
    Case(
        "mls1 manual nodes of the default: downtime refused without --allow-downtime",
        declare(model("m", gv("v1", nodes=2), regions=["global"])),
        live(model("m", gv("v1", nodes=1), regions=["global"])),
        [],
        errors=("global/m/v1 (forced by: scaling.nodes (patchable only if machine_type is n1-*)",),
    ),
    Case(
        "mls1 manual nodes of the only version with --allow-downtime: replaced",
        declare(model("m", gv("v1", nodes=2), regions=["global"])),
        live(model("m", gv("v1", nodes=1), regions=["global"])),
        [("replace", "global/m/v1", (), ("manualScaling.nodes",))],
        kw={"allow_downtime": True},
    ),
    Case(
        "mls1 manual nodes of the new default (issue 15): replaced, then the default moves",
        declare(model("m", gv("v2", nodes=2), regions=["global"])),
        live(g2(v1={"nodes": 1}, v2={"nodes": 1})),
        [
            ("replace", "global/m/v2", (), ("manualScaling.nodes",)),
            ("reroute", "global/m/v2", ("replace:global/m/v2",), ("defaultVersion",)),
            ("delete", "global/m/v1", ("reroute:global/m/v2",), ()),
        ],
    ),
    Case(
        "mls1 manual nodes changed live (drift): replaced",
        declare(g2(v2={"scaling": {"mode": "manual", "nodes": 1}})),
        live(g2(v2={"scaling": {"mode": "manual", "nodes": 1}})).set(
            "global/m/v2", manualScaling={"nodes": 3}
        ),
        [("replace", "global/m/v2", (), ("manualScaling.nodes",))],
    ),
    Case(
        "mls1 auto scaling min and max nodes: patched (every machine type)",
        declare(g2(v2={"scaling": {"mode": "auto", "min_nodes": 1, "max_nodes": 3}})),
        live(g2()),
        [("update", "global/m/v2", (), ("autoScaling.minNodes", "autoScaling.maxNodes"))],
    ),
    Case(
        "mls1 description and request logging: patched (every machine type)",
        declare(g2(v2={"description": "x", "request_logging": {"bigquery_table": "p.d.t"}})),
        live(g2()),
        [("update", "global/m/v2", (), ("description", "requestLoggingConfig"))],
    ),
    # -- replace a non-default version --------------------------------------------------------
    Case(
        "artifact URI (and so its digest)",
        declare(m2(v2={"artifact": "gs://acme/v2b"})),
        live(M2),
        replace_v2(("deploymentUri", "artifactDigest")),
    ),
    Case(
        "artifact bytes changed behind the same URI",
        declare(M2, digests={"gs://acme/v2": "newbytes"}),
        live(M2),
        replace_v2(("artifactDigest",)),
    ),
    Case(
        "runtime version",
        declare(m2(v2={"runtime_version": "2.8"})),
        live(M2),
        replace_v2(("runtimeVersion",)),
    ),
    Case(
        "python version (changed live)",
        declare(M2),
        live(M2).set("m/v2", pythonVersion="3.5"),
        replace_v2(("pythonVersion",)),
    ),
    Case(
        "framework",
        declare(m2(v2={"framework": "scikit-learn"})),
        live(M2),
        replace_v2(("framework",)),
    ),
    Case(
        "machine type",
        declare(m2(v2={"machine_type": "n1-standard-4"})),
        live(M2),
        replace_v2(("machineType",)),
    ),
    Case(
        "accelerator",
        declare(m2(v2={"accelerator": {"type": "NVIDIA_TESLA_T4"}})),
        live(M2),
        replace_v2(("acceleratorConfig",)),
    ),
    Case(
        "auto -> manual scaling",
        declare(m2(v2={"scaling": {"mode": "manual", "nodes": 2}})),
        live(M2),
        replace_v2(("autoScaling.minNodes", "manualScaling.nodes", "scalingMode")),
    ),
    Case(
        "manual -> auto scaling",
        declare(M2),
        live(m2(v2={"scaling": {"mode": "manual", "nodes": 2}})),
        replace_v2(("autoScaling.minNodes", "manualScaling.nodes", "scalingMode")),
    ),
    Case(
        "auto scaling metrics",
        declare(
            m2(v2={"scaling": {"mode": "auto", "metrics": [{"name": "CPU_USAGE", "target": 60}]}})
        ),
        live(M2),
        replace_v2(("autoScaling.metrics",)),
    ),
    Case(
        "replace plus patchable change: one replace listing both",
        declare(m2(v2={"runtime_version": "2.8", "description": "x"})),
        live(M2),
        replace_v2(("description", "runtimeVersion")),
    ),
    Case(
        "new default is a replaced version: set-default waits for the replacement",
        declare(m2(v2={"runtime_version": "2.8"}, default_version="v2")),
        live(M2),
        [
            ("replace", "m/v2", (), ("runtimeVersion",)),
            ("reroute", "m/v2", ("replace:m/v2",), ("defaultVersion",)),
        ],
    ),
    Case(
        "new default is updated first, but a failed update does not block the move",
        declare(m2(v2={"description": "x"}, default_version="v2")),
        live(M2),
        [
            ("update", "m/v2", (), ("description",)),
            ("reroute", "m/v2", ("after update:m/v2",), ("defaultVersion",)),
        ],
    ),
    Case(
        "old default replaced after the default moves away",
        declare(m2(v1={"runtime_version": "2.8"}, default_version="v2")),
        live(M2),
        [
            ("reroute", "m/v2", (), ("defaultVersion",)),
            ("replace", "m/v1", ("reroute:m/v2",), ("runtimeVersion",)),
        ],
    ),
    # -- replacing the default that stays default ---------------------------------------------
    Case(
        "refused without --allow-downtime",
        declare(m2(v1={"runtime_version": "2.8"})),
        live(M2),
        [],
        errors=("under a new version name and make it default_version, or pass --allow-downtime",),
    ),
    Case(
        "--allow-downtime: interim default on another READY version",
        declare(m2(v1={"runtime_version": "2.8"})),
        live(M2),
        [
            ("reroute", "m/v2", (), ("defaultVersion",)),
            ("replace", "m/v1", ("reroute:m/v2#interim",), ("runtimeVersion",)),
            ("reroute", "m/v1", ("replace:m/v1",), ("defaultVersion",)),
        ],
        kw={"allow_downtime": True},
    ),
    Case(
        "--allow-downtime: both replaced, the interim default is the replaced other one",
        declare(m2(v1={"runtime_version": "2.8"}, v2={"runtime_version": "2.8"})),
        live(M2),
        [
            ("replace", "m/v2", (), ("runtimeVersion",)),
            ("reroute", "m/v2", ("replace:m/v2",), ("defaultVersion",)),
            ("replace", "m/v1", ("reroute:m/v2#interim",), ("runtimeVersion",)),
            ("reroute", "m/v1", ("replace:m/v1",), ("defaultVersion",)),
        ],
        kw={"allow_downtime": True},
    ),
    Case(
        "--allow-downtime: only version, replaced after the pruned ones are gone",
        declare(model("m", version("v1", runtime_version="2.8"))),
        live(M2),
        [
            ("delete", "m/v2", (), ()),
            ("replace", "m/v1", ("delete:m/v2",), ("runtimeVersion",)),
        ],
        kw={"allow_downtime": True},
    ),
    # -- model replace ------------------------------------------------------------------------
    Case(
        "model replace refused without --allow-downtime",
        declare(m2(online_prediction_logging=True)),
        live(M2),
        [],
        errors=("must be replaced (online_prediction_logging cannot change in place)",),
    ),
    Case(
        "model replace with --allow-downtime: versions out, model, versions back",
        declare(m2(online_prediction_logging=True)),
        live(M2),
        [
            ("delete", "m/v2", (), ()),
            ("delete", "m/v1", ("delete:m/v2",), ()),
            ("replace", "m", ("delete:m/v1",), ("onlinePredictionLogging",)),
            ("create", "m/v1", ("replace:m",), ()),
            ("create", "m/v2", ("replace:m",), ()),
            ("reroute", "m/v1", ("create:m/v1",), ("defaultVersion",)),
        ],
        kw={"allow_downtime": True},
    ),
    Case(
        "model without versions is replaced without --allow-downtime",
        declare(model("m", online_prediction_logging=True)),
        live(model("m")),
        [("replace", "m", (), ("onlinePredictionLogging",))],
    ),
    # -- delete (prune) and default moves -----------------------------------------------------
    Case("prune a non-default version", declare(M1), live(M2), [("delete", "m/v2", (), ())]),
    Case(
        "new default created, default moved, old default deleted",
        declare(model("m", version("v2"))),
        live(M1),
        [
            ("create", "m/v2", (), ()),
            ("reroute", "m/v2", ("create:m/v2",), ("defaultVersion",)),
            ("delete", "m/v1", ("reroute:m/v2",), ()),
        ],
    ),
    Case(
        "default moves to an existing version",
        declare(m2(default_version="v2")),
        live(M2),
        [("reroute", "m/v2", (), ("defaultVersion",))],
    ),
    Case(
        "new default created while the old one stays",
        declare(model("m", version("v1"), version("v2"), default_version="v2")),
        live(M1),
        [
            ("create", "m/v2", (), ()),
            ("reroute", "m/v2", ("create:m/v2",), ("defaultVersion",)),
        ],
    ),
    Case(
        "model no longer declared: non-default versions, default, then model",
        [],
        live(model("m", version("v1"), version("v2"), version("v3"), default_version="v2")),
        [
            ("delete", "m/v1", (), ()),
            ("delete", "m/v3", (), ()),
            ("delete", "m/v2", ("delete:m/v1", "delete:m/v3"), ()),
            ("delete", "m", ("delete:m/v2",), ()),
        ],
    ),
    Case(
        "model declared without versions: default deleted last",
        declare(model("m")),
        live(M2),
        [("delete", "m/v2", (), ()), ("delete", "m/v1", ("delete:m/v2",), ())],
    ),
    Case(
        "default not deleted while an unmanaged version remains",
        declare(model("m")),
        live(M1).add("m/x0", {}),
        [],
        errors=("m/v1 cannot be deleted: it is the default version and the model keeps",),
        ignored=(("us-central1/m/x0", "not managed by deployer"),),
    ),
    # -- protect ------------------------------------------------------------------------------
    Case(
        "protect allows a rollout: the old default goes once the default has moved",
        declare(model("m", version("v2"), protect=True)),
        live(model("m", version("v1"), protect=True)),
        [
            ("create", "m/v2", (), ()),
            ("reroute", "m/v2", ("create:m/v2",), ("defaultVersion",)),
            ("delete", "m/v1", ("reroute:m/v2",), ()),
        ],
    ),
    Case(
        "protect blocks deleting the default version when nothing takes over",
        declare(model("m", protect=True)),
        live(model("m", version("v1"), protect=True)),
        [],
        errors=("m/v1 is the default version of a protected model",),
    ),
    Case(
        "protect does not block pruning a non-default version",
        declare(model("m", version("v1"), protect=True)),
        live(model("m", version("v1"), version("v2"), protect=True, default_version="v1")),
        [("delete", "m/v2", (), ())],
    ),
    Case(
        "protect label live still blocks while the manifest drops protect",
        declare(model("m")),
        live(model("m", version("v1"), protect=True)),
        [("update", "m", (), ("labels",))],
        errors=("m/v1 is the default version of a protected model",),
    ),
    Case(
        "protected model removed from the manifests is not deleted",
        [],
        live(model("m", version("v1"), protect=True)),
        [],
        errors=("us-central1/m is protected (protect: true) but no longer declared",),
    ),
    Case(
        "protected model is not replaced",
        declare(model("m", version("v1"), protect=True, online_prediction_logging=True)),
        live(model("m", version("v1"), protect=True)),
        [],
        errors=("must be replaced (online_prediction_logging cannot change in place) but it is",),
        kw={"allow_downtime": True},
    ),
    # -- ownership ----------------------------------------------------------------------------
    Case(
        "unmanaged model ignored",
        declare(M1),
        live(M1).add("x", {}).add("x/v1", {}, isDefault=True),
        [],
        ignored=(("us-central1/x", "not managed by deployer"),),
    ),
    Case(
        "other stack's model ignored, even when this stack declares nothing",
        [],
        live(M1, stack="other"),
        [],
        ignored=(("us-central1/m", "managed by stack 'other'"),),
    ),
    Case(
        "declared model name held by an unmanaged model",
        declare(M1),
        Live().add("m", {}),
        [],
        errors=("adopt it with `deployer import m --region us-central1`",),
    ),
    Case(
        "declared model name held by another stack",
        declare(M1),
        live(M1, stack="other"),
        [],
        errors=(
            "us-central1/m is declared but the live model of that name belongs to stack 'other': "
            "remove it from that stack's manifests first",
        ),
    ),
    Case(
        "declared version name held by an unmanaged version",
        declare(M1),
        live(M1).set("m/v1", labels={}),
        [],
        errors=("adopt it with `deployer import m/v1 --region us-central1`",),
    ),
    Case(
        "unmanaged version inside a managed model ignored",
        declare(M1),
        live(M1).add("m/x0", {}).add("m/o1", THEIRS),
        [],
        ignored=(
            ("us-central1/m/o1", "managed by stack 'other'"),
            ("us-central1/m/x0", "not managed by deployer"),
        ),
    ),
    Case(
        "managed model of ours holding an unmanaged version is not pruned",
        [],
        live(M1).add("m/x0", {}),
        [],
        errors=("cannot delete us-central1/m: it holds versions this stack does not manage",),
        ignored=(("us-central1/m/x0", "not managed by deployer"),),
    ),
    # -- transitional and failed versions -----------------------------------------------------
    Case(
        "CREATING declared version: wait, no duplicate create",
        declare(M1),
        live(M1).set("m/v1", state="CREATING"),
        [("wait", "m/v1", (), ())],
        warnings=("m/v1 is CREATING: apply waits for it",),
    ),
    Case(
        "UPDATING declared version with a change: wait, no update",
        declare(model("m", version("v1", description="new"))),
        live(M1).set("m/v1", state="UPDATING"),
        [("wait", "m/v1", (), ())],
        warnings=("m/v1 is UPDATING: apply waits for it",),
    ),
    Case(
        "DELETING declared version: wait, then create",
        declare(M2),
        live(M2).set("m/v2", state="DELETING"),
        [("wait", "m/v2", (), ()), ("create", "m/v2", ("wait:m/v2",), ())],
    ),
    Case(
        "undeclared CREATING version: wait, then delete",
        declare(M1),
        live(M2).set("m/v2", state="CREATING"),
        [("wait", "m/v2", (), ()), ("delete", "m/v2", ("wait:m/v2",), ())],
    ),
    Case(
        "undeclared DELETING version: only wait",
        declare(M1),
        live(M2).set("m/v2", state="DELETING"),
        [("wait", "m/v2", (), ())],
    ),
    Case(
        "pruned model with a CREATING version: wait before deleting it",
        [],
        live(M2).set("m/v2", state="CREATING"),
        [
            ("wait", "m/v2", (), ()),
            ("delete", "m/v2", ("wait:m/v2",), ()),
            ("delete", "m/v1", ("delete:m/v2",), ()),
            ("delete", "m", ("delete:m/v1",), ()),
        ],
    ),
    Case(
        "FAILED non-default version replaced",
        declare(M2),
        live(M2).set("m/v2", state="FAILED", errorMessage="bad model"),
        [("replace", "m/v2", (), ("state",))],
        warnings=("m/v2 is FAILED: bad model; it will be replaced",),
    ),
    Case(
        "FAILED only version (serves nothing) replaced without --allow-downtime",
        declare(model("m", version("v1", runtime_version="2.8"))),
        live(M1).set("m/v1", state="FAILED"),
        [("replace", "m/v1", (), ("state", "runtimeVersion"))],
        warnings=("m/v1 is FAILED; it will be replaced",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan(case: Case) -> None:
    plan = plan_for(case.desired, case.live.observed(), **(case.kw or {}))
    assert summarize(plan) == case.actions
    assert len(plan.errors) == len(case.errors), plan.errors
    for message, fragment in zip(plan.errors, case.errors, strict=True):
        assert fragment in message
    assert len(plan.warnings) == len(case.warnings), plan.warnings
    for message, fragment in zip(plan.warnings, case.warnings, strict=True):
        assert fragment in message
    assert [(i.address, i.reason) for i in plan.ignored] == list(case.ignored)


# -- drift ------------------------------------------------------------------------------------


def test_live_change_under_an_unchanged_manifest_is_drift() -> None:
    plan = plan_for(declare(M2), live(M2).set("m/v1", description="hand edit").observed())
    assert summarize(plan) == [("update", "m/v1", (), ("description",))]
    assert [a.address for a in plan.drift] == ["us-central1/m/v1"]


def test_live_change_forcing_replacement_is_drift() -> None:
    plan = plan_for(declare(M2), live(M2).set("m/v2", runtimeVersion="2.8").observed())
    assert [(a.kind, a.address) for a in plan.drift] == [
        (ActionKind.DELETE_THEN_CREATE, "us-central1/m/v2")
    ]


def test_live_model_label_change_is_drift() -> None:
    plan = plan_for(declare(M1), live(M1).label("m", extra="x").observed())
    assert [a.address for a in plan.drift] == ["us-central1/m"]


def test_manifest_change_is_not_drift() -> None:
    desired = declare(model("m", version("v1", description="new", runtime_version="2.8")))
    plan = plan_for(desired, live(M1).observed(), allow_downtime=True)
    assert [a.kind for a in plan.actions] == [ActionKind.DELETE_THEN_CREATE]
    assert plan.drift == ()
    plan = plan_for(declare(model("m", version("v1", description="new"))), live(M1).observed())
    assert [a.kind for a in plan.actions] == [ActionKind.UPDATE]
    assert plan.drift == ()


def test_live_resource_without_spec_label_is_not_drift() -> None:
    observed = live(M1).set("m/v1", description="x").label("m/v1", deployer_spec=None).observed()
    plan = plan_for(declare(M1), observed)
    assert len(plan.actions) == 1 and plan.drift == ()


def test_failed_version_is_not_drift() -> None:
    plan = plan_for(declare(M2), live(M2).set("m/v2", state="FAILED").observed())
    assert plan.actions[0].kind is ActionKind.DELETE_THEN_CREATE and plan.drift == ()


# -- what actions carry -----------------------------------------------------------------------


def test_update_carries_masks_and_before_after() -> None:
    desired = declare(model("m", version("v1", scaling={"mode": "auto", "max_nodes": 4})))
    plan = plan_for(desired, live(M1).observed())
    (change,) = plan.actions[0].changes
    assert (change.path, change.before, change.after) == ("autoScaling.maxNodes", None, 4)
    assert change.mask == "autoScaling.maxNodes" and not change.forces_replacement


def test_replace_says_which_field_forces_it() -> None:
    desired = declare(m2(v2={"runtime_version": "2.8", "description": "x"}))
    (action,) = plan_for(desired, live(M2).observed()).actions
    forcing = [c.path for c in action.changes if c.forces_replacement]
    assert forcing == ["runtimeVersion"]
    assert action.reason.text() == "replacement forced by: runtimeVersion"


def test_create_carries_what_the_provider_writes() -> None:
    desired = declare(model("m", version("v1", description="d", labels={"exp": "a"})))
    plan = plan_for(desired, [])
    create = plan.actions[1]
    assert create.artifact_source == "gs://acme/v1"
    assert create.desired is not None and create.desired["deploymentUri"] == "gs://acme/v1"
    assert create.labels == {"exp": "a", "managed-by": "deployer", "deployer-stack": "vision"}
    paths = {c.path for c in create.changes}
    assert {"description", "deploymentUri", "runtimeVersion", "labels"} <= paths
    assert "acceleratorConfig" not in paths  # empty fields are not listed
    assert plan.summary.add == 2 and not plan.summary.empty


def test_protect_is_written_as_a_model_label() -> None:
    plan = plan_for(declare(model("m", version("v1"), protect=True)), [])
    assert plan.actions[0].labels is not None
    assert plan.actions[0].labels["deployer-protect"] == "true"


# -- --target ---------------------------------------------------------------------------------

TWO = [model("a", version("v1")), model("b", version("v1"))]


def test_target_model_keeps_only_its_actions() -> None:
    plan = plan_for(declare(*TWO), [], targets=(("b", None),))
    assert summarize(plan) == [("create", "b", (), ()), ("create", "b/v1", ("create:b",), ())]


def test_target_version_keeps_its_dependencies() -> None:
    plan = plan_for(declare(*TWO), [], targets=(("a", "v1"),))
    assert summarize(plan) == [("create", "a", (), ()), ("create", "a/v1", ("create:a",), ())]


def test_target_old_default_keeps_the_move_and_the_new_default() -> None:
    desired = declare(model("m", version("v2")), model("b", version("v1")))
    plan = plan_for(desired, live(M1).observed(), targets=(("m", "v1"),))
    assert summarize(plan) == [
        ("create", "m/v2", (), ()),
        ("reroute", "m/v2", ("create:m/v2",), ("defaultVersion",)),
        ("delete", "m/v1", ("reroute:m/v2",), ()),
    ]


def test_target_new_default_does_not_delete_the_old_one() -> None:
    plan = plan_for(declare(model("m", version("v2"))), live(M1).observed(), targets=(("m", "v2"),))
    assert [a.id for a in plan.actions] == [
        "create:us-central1/m/v2",
        "reroute:us-central1/m/v2",
    ]


def test_target_hides_problems_of_other_models_only() -> None:
    observed = Live().add("b", {}).observed()  # b's name is held by an unmanaged model
    plan = plan_for(declare(*TWO), observed, targets=(("a", None),))
    assert plan.errors == () and len(plan.actions) == 2
    plan = plan_for(declare(*TWO), observed, targets=(("b", "v1"),))
    assert len(plan.errors) == 1 and "deployer import b --region us-central1" in plan.errors[0]
    assert plan.actions == ()


def test_target_version_error_not_hidden_by_its_model_target() -> None:
    desired = declare(m2(v1={"runtime_version": "2.8"}))
    plan = plan_for(desired, live(M2).observed(), targets=(("m", None),))
    assert len(plan.errors) == 1 and "--allow-downtime" in plan.errors[0]
    plan = plan_for(desired, live(M2).observed(), targets=(("m", "v2"),))
    assert plan.errors == ()


# -- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_is_order_independent() -> None:
    observed = live(M2, model("n", version("v1"))).observed()
    assert fingerprint(observed) == fingerprint(reversed(observed))
    assert plan_for(declare(M2), observed).fingerprint == fingerprint(observed)


@pytest.mark.parametrize(
    "change",
    [
        lambda lv: lv.set("m/v1", description="x"),
        lambda lv: lv.label("m", extra="x"),
        lambda lv: lv.set("m/v2", state="UPDATING"),
        lambda lv: lv.default("m/v2"),
        lambda lv: lv.drop("m/v2"),
        lambda lv: lv.add("x", {}),
    ],
    ids=["field", "label", "state", "default", "removed", "added"],
)
def test_fingerprint_changes_with_the_observed_state(change: Any) -> None:
    assert fingerprint(change(live(M2)).observed()) != fingerprint(live(M2).observed())
