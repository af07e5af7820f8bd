"""The plan's accounting as the renderers read it: the issue's JSON shape (`resources` per
region with before, after, peak and quota{limit, free}; `cost` with currency, monthly_before,
monthly_after, unknown), and lines for text plans."""

from __future__ import annotations

import pytest

from deployer.accounting.footprint import Deployment, Resources, Rollout
from deployer.accounting.prices import HOURS_PER_MONTH, book_from_file
from deployer.accounting.quota import CPUS, QuotaExceeded, require_quota
from deployer.accounting.summary import account

BOOK = book_from_file(
    {
        "currency": "USD",
        "as_of": "2026-12-01",
        "vertex": {"*": {"vcpu": {"N1": 0.04}, "memory_gib": {"N1": 0.005}}},
    },
    "prices.yaml",
)
NODE4 = (4 * 0.04 + 15 * 0.005) * HOURS_PER_MONTH


def v(version: str, machine: str = "n1-standard-4", low: int = 2, high: int = 4) -> Deployment:
    return Deployment("us-central1", "fraud", version, machine, low, high)


def test_a_canary_shows_its_footprint_and_cost_delta() -> None:
    result = account(
        "vertex", [v("v1")], [v("v1"), v("v2", low=1, high=2)], book=BOOK,
        limits={(CPUS, "us-central1"): 64}, used_by_others={"us-central1": Resources(8, 30)},
    )  # fmt: skip
    doc = result.to_json()
    region = doc["resources"]["us-central1"]
    assert region["before"]["min"]["vcpus"] == 8 and region["after"]["min"]["vcpus"] == 12
    assert region["peak"]["max"]["vcpus"] == 24
    assert region["quota"]["custom_model_serving_cpus"]["limit"] == 64
    assert region["quota"]["custom_model_serving_cpus"]["free"] == 56
    money = doc["cost"]
    assert money["currency"] == "USD" and money["unknown"] == []
    assert money["monthly_before"] == round(2 * NODE4, 2)
    assert money["monthly_after"] == round(3 * NODE4, 2)
    assert result.cost_line() == (
        f"serving cost: ${2 * NODE4:,.2f}/mo -> ${3 * NODE4:,.2f}/mo (+${NODE4:,.2f}), "
        f"up to ${6 * NODE4:,.2f}/mo at max replicas"
    )
    lines = result.lines()
    assert lines[0].startswith("us-central1: 8 vCPUs, 30 GiB -> 12 vCPUs, 45 GiB at min replicas")
    assert "custom_model_serving_cpus 56 free" in lines[0]


def test_a_machine_change_shows_the_rollout_peak_and_quota_refuses_it() -> None:
    old, new = v("v1"), v("v1", machine="n1-standard-8")
    result = account(
        "vertex", [old], [new], {old.key: Rollout.CREATE_BEFORE_DESTROY},
        limits={(CPUS, "us-central1"): 40},
    )  # fmt: skip
    region = result.to_json()["resources"]["us-central1"]
    assert region["after"]["max"]["vcpus"] == 32
    assert region["peak"]["max"]["vcpus"] == 48
    assert [c.metric for c in result.quota_failures] == [CPUS]
    with pytest.raises(QuotaExceeded, match="the plan needs 48 at its peak"):
        require_quota(list(result.quota))


def test_without_prices_or_quotas_only_the_footprint() -> None:
    result = account("mlengine", [], [Deployment("global", "m", "v1", "mls1-c1-m2", 0, None)])
    doc = result.to_json()
    assert doc["cost"] is None and doc["resources"]["global"]["quota"] == {}
    assert doc["resources"]["global"]["after"]["max"]["unbounded"] is True
    assert result.cost_line() is None


def test_unknown_machine_types_are_noted() -> None:
    result = account("vertex", [], [v("v1", machine="z9-new-8")], book=BOOK)
    assert result.lines()[-1] == "machine types without a known shape (not counted): z9-new-8"
    assert result.to_json()["cost"]["monthly_after"] is None
