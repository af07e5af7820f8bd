"""Footprints and the rollout peak, table-driven: what quota must hold while a plan applies."""

from __future__ import annotations

from deployer.accounting.footprint import Deployment, Resources, Rollout, footprint


def dep(version: str, machine: str = "n1-standard-4", low: int = 1, high: int | None = 2, **kw):
    return Deployment("us-central1", kw.pop("model", "fraud"), version, machine, low, high, **kw)


def test_a_canary_adds_its_replicas_before_to_after() -> None:
    v1 = dep("v1", low=2, high=4)
    v2 = dep("v2", machine="n1-highmem-16", low=1, high=4)
    result = footprint([v1], [v1, v2])
    region = result.regions["us-central1"]
    assert region.before.at_min.vcpus == 8 and region.before.at_max.vcpus == 16
    assert region.after.at_min.vcpus == 8 + 16
    assert region.after.at_max.vcpus == 16 + 64
    assert region.after.at_max.memory_gib == 4 * 15 + 4 * 104
    assert region.peak == region.after
    assert result.models["us-central1/fraud"] == region


def test_create_before_destroy_runs_old_and_new_together() -> None:
    old = dep("v1", machine="n1-standard-4", low=2, high=2)
    new = dep("v1", machine="n1-standard-8", low=2, high=2)
    result = footprint([old], [new], {old.key: Rollout.CREATE_BEFORE_DESTROY})
    region = result.regions["us-central1"]
    assert region.before.at_max.vcpus == 8
    assert region.after.at_max.vcpus == 16
    assert region.peak.at_max.vcpus == 24


def test_delete_then_create_and_in_place_hold_the_larger() -> None:
    old = dep("v1", machine="n1-standard-4", low=2, high=2)
    new = dep("v1", machine="n1-standard-8", low=1, high=1)
    for rollout in (Rollout.DELETE_THEN_CREATE, Rollout.IN_PLACE):
        peak = footprint([old], [new], {old.key: rollout}).regions["us-central1"].peak
        assert peak.at_max.vcpus == 8
        assert peak.at_max.memory_gib == 30


def test_a_rolling_update_holds_the_running_nodes_plus_its_surge_not_a_second_copy() -> None:
    old = dep("v1", machine="n1-standard-8", low=4, high=8)
    by_count = dep("v1", machine="n1-standard-8", low=4, high=8, surge=1)
    peak = footprint([old], [by_count], {old.key: Rollout.ROLLING}).regions["us-central1"].peak
    assert (peak.at_min.vcpus, peak.at_max.vcpus) == (5 * 8, 9 * 8)
    by_percent = dep("v1", machine="n1-standard-8", low=4, high=8, surge_percent=25)
    peak = footprint([old], [by_percent], {old.key: Rollout.ROLLING}).regions["us-central1"].peak
    assert (peak.at_min.vcpus, peak.at_max.vcpus) == (5 * 8, 10 * 8)  # 25% of 4 and of 8
    copy = footprint([old], [old], {old.key: Rollout.CREATE_BEFORE_DESTROY})
    assert copy.regions["us-central1"].peak.at_max.vcpus == 16 * 8


def test_a_deleted_deployment_counts_at_the_peak() -> None:
    kept, gone, added = dep("v1"), dep("v2"), dep("v3")
    region = footprint([kept, gone], [kept, added]).regions["us-central1"]
    assert region.before.at_max.vcpus == 16
    assert region.after.at_max.vcpus == 16
    assert region.peak.at_max.vcpus == 24


def test_gpus_by_type_from_attached_and_fixed_accelerators() -> None:
    t4 = dep("v1", accelerator_type="NVIDIA_TESLA_T4", accelerator_count=2, high=3)
    l4 = dep("v2", machine="g2-standard-24", low=1, high=1)
    region = footprint([], [t4, l4]).regions["us-central1"]
    assert region.after.at_min.gpus == {"NVIDIA_TESLA_T4": 2, "NVIDIA_L4": 2}
    assert region.after.at_max.gpus == {"NVIDIA_TESLA_T4": 6, "NVIDIA_L4": 2}


def test_regions_and_models_are_separate() -> None:
    a = Deployment("us-central1", "a", "v1", "n1-standard-2", 1, 1)
    b = Deployment("europe-west4", "a", "v1", "n1-standard-2", 1, 1)
    c = Deployment("europe-west4", "b", "v1", "n1-standard-2", 3, 3)
    result = footprint([], [a, b, c])
    assert set(result.regions) == {"us-central1", "europe-west4"}
    assert result.regions["europe-west4"].after.at_min.vcpus == 8
    assert result.models["europe-west4/b"].after.at_min.vcpus == 6
    assert result.total.after.at_min.vcpus == 10


def test_unknown_machine_types_are_named_not_guessed() -> None:
    weird = dep("v1", machine="z9-mystery-8")
    result = footprint([], [weird])
    after = result.regions["us-central1"].after.at_max
    assert after.vcpus == 0 and after.unknown == ("z9-mystery-8",)
    assert result.unknown_machine_types == ("z9-mystery-8",)


def test_no_upper_bound_is_unbounded_at_max() -> None:
    free = Deployment("global", "m", "v1", "mls1-c1-m2", 0, None)
    region = footprint([], [free]).regions["global"]
    assert region.after.at_min == Resources()
    assert region.after.at_max.unbounded
    assert "unbounded" in region.after.at_max.describe()


def test_a_shared_pool_counts_once() -> None:
    """Issue 24's hook: deployments on one resource pool hold the pool's replicas once."""
    a = dep("v1", low=2, high=2, pool="pool-1")
    b = dep("v2", low=2, high=2, pool="pool-1")
    c = dep("v3", low=1, high=1)
    region = footprint([], [a, b, c]).regions["us-central1"]
    assert region.after.at_min.vcpus == 2 * 4 + 4
