"""The quota check: a peak over what is left (limit minus the use of deployments this stack does
not manage) is one error line naming the quota, the region, what is asked and what is free."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from deployer.accounting.footprint import Resources
from deployer.accounting.quota import (
    Limits,
    QuotaCheck,
    QuotaExceeded,
    check_quota,
    require_quota,
)
from deployer.providers.vertex.quota import CPUS, GPU_METRICS, demands, full_metric


def checked(
    peaks: Mapping[str, Resources],
    limits: Limits,
    others: Mapping[str, Resources] | None = None,
    held: Mapping[str, Resources] | None = None,
) -> list[QuotaCheck]:
    """Accounting's check over Vertex's metrics (the mapping the provider hands it)."""
    return check_quota(peaks, demands, limits, others, held)


def test_demands_map_vcpus_and_gpus_to_serving_metrics() -> None:
    asked = demands(Resources(24, 90, {"NVIDIA_TESLA_T4": 2, "NVIDIA_L4": 0}))
    assert asked == {CPUS: 24, GPU_METRICS["NVIDIA_TESLA_T4"]: 2}
    assert full_metric("custom_model_serving_cpus") == CPUS


def test_a_peak_within_what_is_free_passes() -> None:
    checks = checked(
        {"us-central1": Resources(16, 60)},
        {(CPUS, "us-central1"): 24},
        {"us-central1": Resources(8, 30)},
    )
    assert [c.ok for c in checks] == [True]
    assert checks[0].free == 16
    require_quota(checks)


def test_a_peak_over_what_is_free_names_quota_region_asked_and_free() -> None:
    checks = checked(
        {"us-central1": Resources(24, 90), "europe-west4": Resources(4, 15)},
        {(CPUS, "us-central1"): 24, (CPUS, "europe-west4"): 100},
        {"us-central1": Resources(8, 30)},
    )
    with pytest.raises(QuotaExceeded) as caught:
        require_quota(checks)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(f"quota {CPUS} in us-central1: the plan needs 24 at its peak")
    assert "16 free (limit 24, 8 used by deployments this stack does not manage)" in line
    assert "europe-west4" not in line


def test_gpus_are_checked_per_type() -> None:
    t4 = GPU_METRICS["NVIDIA_TESLA_T4"]
    checks = checked(
        {"us-central1": Resources(8, 30, {"NVIDIA_TESLA_T4": 4})},
        {(CPUS, "us-central1"): 100, (t4, "us-central1"): 2},
    )
    failed = [c for c in checks if not c.ok]
    assert [c.metric for c in failed] == [t4]
    assert "needs 4" in failed[0].line() and "2 free" in failed[0].line()


def test_unlimited_and_unknown_quotas_do_not_fail() -> None:
    checks = checked(
        {"us-central1": Resources(1000, 1, {"NVIDIA_L4": 9})},
        {(CPUS, "us-central1"): None},
    )
    assert all(c.ok for c in checks)
    l4 = next(c for c in checks if c.metric == GPU_METRICS["NVIDIA_L4"])
    assert not l4.known and l4.free is None


def test_a_plan_asking_no_more_than_the_stack_holds_needs_no_new_quota() -> None:
    """The service checks quota when it deploys: a plan that only shrinks or deletes holds even
    when the limit was lowered below what the stack already runs."""
    lowered = {(CPUS, "us-central1"): 4}
    held = {"us-central1": Resources(16, 60)}
    assert all(c.ok for c in checked({"us-central1": Resources(16, 60)}, lowered, None, held))
    (more,) = checked({"us-central1": Resources(20, 75)}, lowered, None, held)
    assert not more.ok and more.held == 16
