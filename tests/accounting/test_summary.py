"""The plan's accounting as the plan records it: the core's `Usage` (per region before, after,
peak and quota; per model) and `Cost` (currency, monthly before/after at min and max, unknown),
and how the renderers word them (text lines, the cost line)."""

from __future__ import annotations

import pytest

from deployer.accounting.footprint import Deployment, Resources, Rollout
from deployer.accounting.prices import HOURS_PER_MONTH, book_from_file
from deployer.accounting.quota import QuotaExceeded, require_quota
from deployer.accounting.summary import account
from deployer.core.plan import Plan
from deployer.providers.vertex.quota import CPUS, demands
from deployer.render.resources import cost_line, text_lines

BACKENDS = ("mlengine", "vertex")
"""The names a prices file may price (the registry's)."""
BOOK = book_from_file(
    {
        "currency": "USD",
        "as_of": "2026-12-01",
        "vertex": {"*": {"vcpu": {"N1": 0.04}, "memory_gib": {"N1": 0.005}}},
    },
    "prices.yaml",
    BACKENDS,
)
NODE4 = (4 * 0.04 + 15 * 0.005) * HOURS_PER_MONTH


def v(version: str, machine: str = "n1-standard-4", low: int = 2, high: int = 4) -> Deployment:
    return Deployment("us-central1", "fraud", version, machine, low, high)


def test_a_canary_shows_its_footprint_and_cost_delta() -> None:
    result = account(
        "vertex", [v("v1")], [v("v1"), v("v2", low=1, high=2)], book=BOOK,
        limits={(CPUS, "us-central1"): 64}, demands=demands,
        used_by_others={"us-central1": Resources(8, 30)},
    )  # fmt: skip
    usage, cost = result.usage(), result.plan_cost()
    region = usage.regions["us-central1"]
    assert region.before.at_min.vcpus == 8 and region.after.at_min.vcpus == 12
    assert region.peak.at_max.vcpus == 24
    (quota,) = region.quota
    assert (quota.metric, quota.limit, quota.free, quota.asked, quota.ok) == (
        "custom_model_serving_cpus", 64, 56, 24, True,
    )  # fmt: skip
    assert usage.models["us-central1/fraud"].after.at_max.vcpus == 24
    assert cost is not None and cost.currency == "USD" and cost.unknown == ()
    assert cost.total.before == round(2 * NODE4, 2)
    assert cost.total.after == round(3 * NODE4, 2)
    assert cost_line(cost) == (
        f"serving cost: ${2 * NODE4:,.2f}/mo -> ${3 * NODE4:,.2f}/mo (+${NODE4:,.2f}), "
        f"up to ${6 * NODE4:,.2f}/mo at max replicas"
    )
    lines = text_lines(Plan("s", "p", resources=usage, cost=cost))
    assert lines[1] == "  us-central1, at min replicas: 8 vCPUs, 30 GiB -> 12 vCPUs, 45 GiB"
    assert "custom_model_serving_cpus: 24 asked, 56 free (limit 64), 8 used by others" in (
        "\n".join(lines)
    )


def test_a_machine_change_shows_the_rollout_peak_and_quota_refuses_it() -> None:
    old, new = v("v1"), v("v1", machine="n1-standard-8")
    result = account(
        "vertex", [old], [new], {old.key: Rollout.CREATE_BEFORE_DESTROY},
        limits={(CPUS, "us-central1"): 40}, demands=demands,
    )  # fmt: skip
    region = result.usage().regions["us-central1"]
    assert region.after.at_max.vcpus == 32
    assert region.peak.at_max.vcpus == 48
    assert [c.metric for c in result.quota_failures] == [CPUS]
    assert [q.ok for q in region.quota] == [False]
    with pytest.raises(QuotaExceeded, match="the plan needs 48 at its peak"):
        require_quota(list(result.quota))
    text = "\n".join(text_lines(Plan("s", "p", resources=result.usage())))
    assert "us-central1, peak while applying: 48 vCPUs, 180 GiB (at max replicas)" in text
    assert "-- OVER QUOTA" in text


def test_without_prices_or_quotas_only_the_footprint() -> None:
    result = account("mlengine", [], [Deployment("global", "m", "v1", "mls1-c1-m2", 0, None)])
    assert result.plan_cost() is None
    region = result.usage().regions["global"]
    assert region.quota == () and region.after.at_max.unbounded


def test_unknown_machine_types_are_noted_and_unpriced() -> None:
    result = account("vertex", [], [v("v1", machine="z9-new-8")], book=BOOK)
    assert result.usage().notes == ("machine types without a known shape (not counted): z9-new-8",)
    cost = result.plan_cost()
    assert cost is not None and cost.total.after is None
    assert cost.unknown == ("us-central1/fraud/v1: no price for z9-new-8 in us-central1 "
                            "(unknown machine type)",)  # fmt: skip
    assert cost_line(cost) == f"serving cost: unknown ({cost.unknown[0]})"  # nothing priced
