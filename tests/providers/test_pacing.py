"""Request pacing and operation polling: quotas are never exceeded and finished operations are
noticed within a small fraction of their own time."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.providers.mlengine import catalog
from deployer.providers.mlengine.client import MLClient
from deployer.providers.mlengine.provider import MLEngineProvider
from deployer.providers.pacing import WindowLimiter
from deployer.providers.polling import PollSchedule


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def poll_times(schedule: PollSchedule, kind: str, duration: float) -> list[float]:
    """When a waiter following `schedule` polls an operation that takes `duration`."""
    elapsed, polls = 0.0, []
    while True:
        elapsed += schedule.delay(kind, elapsed)
        polls.append(elapsed)
        if elapsed >= duration:
            schedule.finished(kind, elapsed)
            return polls


@pytest.mark.parametrize("duration", [0.1, 2.0, 30.0, 600.0])
def test_a_finished_operation_is_noticed_within_a_tenth_of_its_time(duration: float) -> None:
    polls = poll_times(PollSchedule(), "CREATE_VERSION", duration)
    overshoot = polls[-1] - duration
    assert overshoot <= max(0.25, 0.1 * duration) + 1e-9
    assert len(polls) <= 75  # ten concurrent ten-minute operations: ~70 polls a minute, not 2400


def test_later_operations_of_a_kind_are_first_polled_near_the_fastest_seen() -> None:
    schedule = PollSchedule()
    first = poll_times(schedule, "CREATE_VERSION", 20.0)
    later = poll_times(schedule, "CREATE_VERSION", 20.0)
    assert len(later) <= 3 < len(first)
    assert later[-1] - 20.0 <= 2.0
    other = poll_times(schedule, "DELETE_VERSION", 20.0)
    assert len(other) == len(first)  # durations are learned per kind


def test_a_wide_read_waits_for_the_request_quota_instead_of_exceeding_it(
    twin: Any, project: str
) -> None:
    clock = FakeClock()
    sent: list[float] = []

    class Recording(WindowLimiter):
        def acquire(self, key: str) -> float:
            waited = super().acquire(key)
            sent.append(clock.now)
            return waited

    limiter = Recording(5, 60.0, clock=clock, sleep=clock.sleep)
    client = MLClient(project, emulator=twin.url, request_limiter=limiter)
    assert MLEngineProvider(project, client=client).read(catalog.ENDPOINTS, "vision") == []
    assert len(sent) >= 14  # every endpoint's model list
    for at in sent:
        assert sum(1 for t in sent if at <= t < at + 60.0) <= 5
    assert clock.now >= 120.0  # it waited for the window twice rather than send more


def test_collections_are_built_once_and_shared_by_threads(twin: Any, project: str) -> None:
    import threading

    client = MLClient(project, emulator=twin.url)
    models = [client.models("us-central1") for _ in range(3)]
    assert models[0] is models[1] is models[2]  # not rebuilt (with docstrings) per call
    seen: list[int] = []

    def read() -> None:
        body = client.execute(
            "us-central1",
            "list models",
            lambda r: r.projects().models().list(parent=f"projects/{project}"),
        )
        seen.append(len(body.get("models", [])))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [0] * 8
