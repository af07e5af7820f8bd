"""Retrying calls that fail transiently: exponential backoff with jitter, honoring Retry-After.

Shared by the providers' reads and the executor's writes. An exception is retried when it says
so (`.retryable` true, as `ProviderError` does); its `.retry_after` (seconds), when set, is the
least the next attempt waits. Attempts are bounded, and so is the total time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    """Total tries, the first included."""
    initial_delay: float = 0.5
    max_delay: float = 30.0
    """Cap on one wait, Retry-After included."""
    multiplier: float = 2.0
    deadline: float = 180.0
    """No attempt starts after this many seconds since the first."""

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1-based): half-jittered exponential."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (retry - 1))
        wait = rng.uniform(base / 2, base)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_delay)


DEFAULT_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)

_rng = random.Random()


def is_retryable(exc: BaseException) -> bool:
    return bool(getattr(exc, "retryable", False))


def retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if value is not None else None


def call(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    retryable: Callable[[BaseException], bool] = is_retryable,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `fn`, retrying retryable exceptions per `policy`; the last exception propagates.

    `on_retry(exc, retry_number, wait_seconds)` is called before each wait (for progress logs).
    """
    started = clock()
    retry = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            retry += 1
            if not retryable(exc) or retry >= policy.attempts:
                raise
            wait = policy.delay(retry, retry_after(exc), _rng)
            if clock() + wait - started > policy.deadline:
                raise
            if on_retry is not None:
                on_retry(exc, retry, wait)
            sleep(wait)


class Backoff:
    """Growing poll intervals (e.g. 0.2 s -> 5 s) bounded by a deadline, for polling loops.

    `for _ in Backoff(timeout): check()` ... `wait()` returns False once the deadline passed.
    """

    def __init__(
        self,
        timeout: float,
        initial: float = 0.2,
        maximum: float = 5.0,
        multiplier: float = 1.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self._interval = initial
        self._maximum = maximum
        self._multiplier = multiplier
        self._sleep = sleep
        self._clock = clock
        self._deadline = clock() + timeout

    @property
    def expired(self) -> bool:
        return self._clock() >= self._deadline

    def wait(self) -> bool:
        """Sleep the next interval (never past the deadline); False when time is up."""
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            return False
        self._sleep(min(self._interval, remaining))
        self._interval = min(self._maximum, self._interval * self._multiplier)
        return True
