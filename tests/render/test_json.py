"""The JSON plan document: what CI tools parse, and what `deployer apply PLANFILE` executes."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from deployer.core.errors import DeployerError
from deployer.core.plan import (
    FORMAT_VERSION,
    Action,
    ActionKind,
    Amount,
    Cost,
    Extent,
    FieldChange,
    Footprint,
    Monthly,
    Plan,
    QuotaRoom,
    Route,
    Usage,
)
from deployer.render.jsonplan import dumps_plan, loads_plan, plan_from_json, plan_to_json
from deployer.render.text import text_plain
from deployer.workflow import resolved
from render.plans import GOLDEN_DIR, full_plan


def test_document_shape(plan: Plan) -> None:
    doc = json.loads(dumps_plan(plan))
    assert doc["format_version"] == FORMAT_VERSION == "2.1"
    assert (doc["stack"], doc["project"], doc["fingerprint"]) == ("prod", "acme-ml", "f" * 64)
    assert doc["summary"] == {"add": 1, "change": 1, "replace": 1, "destroy": 1, "reroute": 1}
    assert [a["id"] for a in doc["actions"]] == [a.id for a in plan.actions]
    assert [a["kind"] for a in doc["actions"]] == [
        "update",
        "create",
        "delete-then-create",
        "reroute",
        "delete",
        "wait",
    ]
    assert doc["actions"][3]["route"] == {
        "path": "defaultVersion",
        "name": "default version",
        "split": False,
        "serves": True,
    }
    assert [a["resource"] for a in doc["actions"]] == ["model", *["version"] * 5]
    assert doc["drift"] == ["update:us-central1/fashion_mnist"]
    assert doc["ignored"] == [
        {"address": "europe-west1/legacy", "reason": "not managed by deployer"}
    ]
    assert doc["warnings"] == ["global/iris/v7 is UPDATING: apply waits for it"]
    assert doc["errors"] == ["cannot delete us-central1/old/v1: it is the default version"]
    assert doc["artifacts"] == {
        "gs://acme/shared/v2": "sha256:9",
        "models/fashion_mnist/v3": "sha256:abc123",
    }

    replace = doc["actions"][2]
    assert replace["address"] == "us-central1/fashion_mnist/v2"
    assert (replace["endpoint"], replace["model"], replace["version"]) == (
        "us-central1",
        "fashion_mnist",
        "v2",
    )
    assert replace["reason"] == "replacement forced by: runtimeVersion"
    assert replace["why"] == {"code": "note", "note": "replacement forced by: runtimeVersion"}
    assert replace["drift"] is False
    assert replace["changes"] == [
        {
            "path": "runtimeVersion",
            "before": "2.8",
            "after": "2.11",
            "forces_replacement": True,
            "mask": None,
        },
        {
            "path": "autoScaling.maxNodes",
            "before": None,
            "after": 4,
            "forces_replacement": False,
            "mask": "autoScaling.maxNodes",
        },
    ]
    assert doc["actions"][3]["depends_on"] == ["create:us-central1/fashion_mnist/v3"]
    model_action = doc["actions"][0]
    assert model_action["version"] is None
    assert model_action["address"] == "us-central1/fashion_mnist"
    create = doc["actions"][1]
    assert create["artifact_source"] == "models/fashion_mnist/v3"
    assert create["desired"]["autoScaling.metrics"] == [{"name": "CPU_USAGE", "target": 60}]
    assert create["labels"] == {"team": "ml", "env": "prod"}


def test_round_trip_is_exact(plan: Plan, empty_plan: Plan) -> None:
    for original in (plan, empty_plan):
        restored = loads_plan(dumps_plan(original))
        assert restored == original
        # equality of the dataclasses would hide a mapping compared loosely: check the parts
        # that apply executes from
        for a, b in zip(restored.actions, original.actions, strict=True):
            assert (a.desired, a.labels, a.artifact_source) == (
                b.desired,
                b.labels,
                b.artifact_source,
            )
        assert dumps_plan(restored) == dumps_plan(original)


def test_none_and_empty_are_kept_apart(plan: Plan) -> None:
    restored = plan_from_json(plan_to_json(plan))
    by_id = {a.id: a for a in restored.actions}
    assert by_id["replace:us-central1/fashion_mnist/v2"].labels == {}
    assert by_id["delete:us-central1/fashion_mnist/v1"].labels is None
    assert by_id["delete:us-central1/fashion_mnist/v1"].desired is None
    assert by_id["create:us-central1/fashion_mnist/v3"].desired["acceleratorConfig"] is None


BIG = Amount(16, 60.5, {"NVIDIA_TESLA_T4": 2}, unbounded=True, unknown=("z9-new-8",))
USAGE = Usage(
    regions={
        "us-central1": Footprint(
            Extent(Amount(4, 15), BIG),
            Extent(BIG, BIG),
            Extent(BIG, BIG),
            (QuotaRoom("custom_model_serving_cpus", 20, 24, 18.5, 5.5, 4, known=False, ok=False),),
        )
    },
    models={"us-central1/fashion_mnist": Footprint(Extent(BIG, BIG), Extent(BIG, BIG))},
    notes=("machine types without a known shape (not counted): z9-new-8",),
)
COST = Cost(
    "EUR",
    "prices file manifests/prices.yaml",
    as_of="2026-01-15",
    total=Monthly(1.5, None, 2.5, None, 1.25, 3.75),
    models={"us-central1/fashion_mnist": Monthly(1.5, None, 2.5, None, 1.25, 3.75)},
    unknown=("us-central1/fashion_mnist/v2: no price for NVIDIA_TESLA_T4 in us-central1",),
    twin=True,
)


def test_every_plan_field_is_carried() -> None:
    """A field added to Plan, Action or FieldChange must reach the document, or this fails."""
    base = full_plan()
    action = dataclasses.replace(
        base.actions[1],
        changes=(
            FieldChange(
                "machineType",
                "a",
                "b",
                forces_replacement=True,
                mask="m",
                label="machine_type",
                hidden=True,
                shown="a -> b",
                source="models/m.yaml:7",
                drift=True,
            ),
        ),
        depends_on=("update:us-central1/fashion_mnist",),
        ordered_after=("update:us-central1/fashion_mnist",),
        drift=True,
        kind=ActionKind.REROUTE,
        route=Route("traffic", "traffic", split=True, serves=False),
        source="models/m.yaml:3",
        before={"machineType": "a"},
        serving=True,
        title="us-central1/fashion_mnist/v3 (old deployment)",
        key=dataclasses.replace(
            base.actions[1].key, part="deployed", instance="123", kind="deployment"
        ),
    )
    plan = dataclasses.replace(
        base,
        actions=(base.actions[0], action),
        backend="vertex",
        environment="prod",
        emulator="http://127.0.0.1:8780",
        commit="0123abc",
        manifests="manifests",
        targets=("fashion_mnist/v3",),
        smoke_tests={
            "fashion_mnist/v2": {
                "instances": "manifests/models/smoke.jsonl",
                "expect": None,
                "tolerance": 0.001,
                "digest": "ab" * 32,
            }
        },
        resources=USAGE,
        cost=COST,
        groups={"deployment": "Deployment"},  # written for kinds the actions hold
    )
    region = USAGE.regions["us-central1"]
    carried = (
        (Plan, plan),
        (Action, action),
        (FieldChange, action.changes[0]),
        (type(action.key), action.key),
        (Usage, USAGE),
        (Footprint, region),
        (Extent, region.after),
        (Amount, region.after.at_max),
        (QuotaRoom, region.quota[0]),
        (Cost, COST),
        (Monthly, COST.total),
    )
    for cls, obj in carried:
        for f in dataclasses.fields(cls):
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = f.default
            assert getattr(obj, f.name) != default, f"{cls.__name__}.{f.name} left at default"
    assert plan_from_json(json.loads(dumps_plan(plan))) == plan


def test_output_is_deterministic() -> None:
    a = full_plan()
    b = dataclasses.replace(a, artifacts=dict(reversed(list(a.artifacts.items()))))
    assert dumps_plan(a) == dumps_plan(b)
    text = dumps_plan(a)
    # keys sorted within objects, actions in plan order
    doc = json.loads(text)
    assert list(doc) == sorted(doc)
    assert text.index('"update:us-central1/fashion_mnist"') < text.index('"wait:global/iris/v7"')


def test_newer_minor_version_is_read_and_unknown_keys_ignored(plan: Plan) -> None:
    doc = plan_to_json(plan)
    doc["format_version"] = "2.7"
    doc["something_new"] = {"x": 1}
    doc["actions"][0]["also_new"] = True
    assert plan_from_json(doc) == plan


@pytest.mark.parametrize("version", ["3.0", "0.9", "10"])
def test_unknown_major_version_is_refused(plan: Plan, version: str) -> None:
    doc = plan_to_json(plan)
    doc["format_version"] = version
    with pytest.raises(DeployerError, match=f"format_version {version} is not supported"):
        plan_from_json(doc)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("format_version"), "no format_version"),
        (lambda d: d.pop("actions"), "missing 'actions'"),
        (lambda d: d["actions"][0].pop("endpoint"), "missing 'endpoint'"),
        (lambda d: d["actions"][0].update(kind="explode"), "malformed"),
        (lambda d: d["actions"][0].update(why=3), "malformed"),
        (lambda d: d["actions"][0].update(why={"code": "no such reason"}), "malformed"),
        (lambda d: d["actions"][0].update(address="global/other"), "malformed"),
        (lambda d: d.update(resources={"us-central1": 3}), "malformed"),
        (lambda d: d.update(resources={"us-central1": {"before": {}}}), "missing 'min'"),
        (lambda d: d.update(resources={"r": {"before": {"min": {"vcpus": "8"}}}}), "malformed"),
        (lambda d: d.update(cost={"currency": 3}), "malformed"),
        (lambda d: d.update(cost={"currency": "USD", "monthly_after": True}), "malformed"),
        (lambda d: d.update(cost={"currency": "USD", "unknown": [None]}), "malformed"),
    ],
)
def test_broken_documents_are_refused_with_a_clear_error(
    plan: Plan, mutate: Any, message: str
) -> None:
    doc = plan_to_json(plan)
    mutate(doc)
    with pytest.raises(DeployerError, match=message):
        plan_from_json(doc)


def test_not_json_or_not_an_object() -> None:
    with pytest.raises(DeployerError, match="not JSON"):
        loads_plan("Plan: 1 to add")
    with pytest.raises(DeployerError, match="JSON object"):
        loads_plan("[1, 2]")


@pytest.mark.parametrize("backend", ["mlengine", "vertex"])
def test_a_format_1_0_plan_still_loads_in_todays_terms(backend: str) -> None:
    """A plan saved by the previous format (one `replace` kind with a flag, `set-default` and
    `set-traffic`, reasons as text, no resource kinds) reads as today's plan and renders as
    today's text golden does."""
    old = (GOLDEN_DIR / f"legacy_{backend}_plan_1.0.json").read_text()
    plan = resolved(loads_plan(old))
    assert plan.backend == backend
    assert ActionKind.REROUTE in {a.kind for a in plan.actions}
    replaced = {a.kind for a in plan.actions if a.kind.replaces}
    expected = (
        ActionKind.CREATE_THEN_DELETE if backend == "vertex" else ActionKind.DELETE_THEN_CREATE
    )
    assert replaced == {expected}
    for action in plan.actions:
        if action.kind is ActionKind.REROUTE:
            assert action.route is not None and action.desired is not None
            assert action.route.path in action.desired
        if action.key.part == "deployed":
            assert action.key.kind == "deployment"

    # The same actions, in the same order, with the same counts as today's golden (a 1.0 plan
    # lacks what issue 22 added: which deletes serve, names for ids, fields in manifest words).
    def heads(text: str) -> list[str]:
        lines = [line.split("  #", 1)[0].split(" (", 1)[0] for line in text.splitlines()]
        return [re.sub(r"#\d+$", "", line) for line in lines if line[:3].strip() in SYMBOLS]

    from deployer.render.values import SYMBOLS as KINDS

    SYMBOLS = set(KINDS.values())
    today = (GOLDEN_DIR / f"{backend}_plan.txt").read_text()
    legacy_text = text_plain(plan)
    assert heads(legacy_text) == heads(today)

    def counts(text: str) -> list[str]:
        return [line.split(" reroute.")[0] for line in text.splitlines() if line[:6] == "Plan: "]

    assert counts(legacy_text) == counts(today)
