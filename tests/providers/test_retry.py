"""The shared retry helper: what it waits, and when it gives up (fake clock, no real sleeps)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deployer.providers.mlengine.errors import ProviderError
from deployer.providers.retry import Backoff, RetryPolicy, call


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def flaky(failures: list[ProviderError]) -> Callable[[], str]:
    def fn() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    return fn


def busy(retry_after: float | None = None) -> ProviderError:
    return ProviderError("quota", status=429, retryable=True, retry_after=retry_after)


def test_retries_transient_errors_with_growing_jittered_waits() -> None:
    t = FakeTime()
    policy = RetryPolicy(attempts=5, initial_delay=1.0, max_delay=30.0, deadline=100.0)
    fn = flaky([busy(), busy(), busy()])
    assert call(fn, policy, sleep=t.sleep, clock=t.clock) == "ok"
    assert len(t.waits) == 3
    for n, wait in enumerate(t.waits):
        assert 0.5 * 2**n <= wait <= 2**n


def test_honors_retry_after_up_to_the_cap() -> None:
    t = FakeTime()
    policy = RetryPolicy(attempts=5, initial_delay=0.1, max_delay=10.0)
    call(
        flaky([busy(retry_after=4.0), busy(retry_after=60.0)]), policy, sleep=t.sleep, clock=t.clock
    )
    assert t.waits[0] == 4.0 and t.waits[1] == 10.0


def test_gives_up_after_the_attempts_and_raises_the_last_error() -> None:
    t = FakeTime()
    errors = [busy() for _ in range(5)]
    with pytest.raises(ProviderError) as info:
        call(
            flaky(list(errors)),
            RetryPolicy(attempts=3, initial_delay=0.1),
            sleep=t.sleep,
            clock=t.clock,
        )
    assert info.value is errors[2] and len(t.waits) == 2


def test_never_waits_past_the_deadline() -> None:
    t = FakeTime()
    policy = RetryPolicy(attempts=100, initial_delay=1.0, max_delay=8.0, deadline=20.0)
    with pytest.raises(ProviderError):
        call(flaky([busy() for _ in range(100)]), policy, sleep=t.sleep, clock=t.clock)
    assert t.now <= 20.0


def test_permanent_errors_are_not_retried() -> None:
    t = FakeTime()
    with pytest.raises(ProviderError):
        call(flaky([ProviderError("bad request", status=400)]), sleep=t.sleep, clock=t.clock)
    assert t.waits == []


def test_poll_intervals_grow_to_the_cap_and_stop_at_the_deadline() -> None:
    t = FakeTime()
    backoff = Backoff(20.0, initial=0.2, maximum=5.0, sleep=t.sleep, clock=t.clock)
    while backoff.wait():
        pass
    assert t.waits[0] == 0.2 and max(t.waits) == 5.0
    assert t.waits[:-1] == sorted(t.waits[:-1])  # growing; the last one fits the deadline
    assert t.now == pytest.approx(20.0)
