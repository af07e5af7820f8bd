"""Pacing calls under a per-minute quota, shared by all threads of one client.

Google answers 429 past a quota (Vertex: 60 long-running-operation submissions and 600 requests
per project, region and minute; `ml` v1: 300 requests per project and minute). Retrying 429s
alone would make a wide read or a large apply burn its retry budget in bursts; a limiter instead
holds each call until the sliding window has room, so deployer never sends more than the
service allows, however wide it goes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

READ_PARALLELISM = 128
"""Concurrent list calls of a read. Its critical path is two round trips (each region's models,
then each model's versions) only if every versions list goes at once: 100 models in 2 regions
are 200 lists. The request limiter, not this width, is what keeps a read within the quota."""


class WindowLimiter:
    """At most `per_window` acquisitions per key in any `window` seconds (0: unlimited)."""

    def __init__(
        self,
        per_window: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_window = per_window
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}

    def _try(self, key: str) -> float:
        """Take a slot (0.0), or the seconds until the oldest one leaves the window."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.per_window:
                sent.append(now)
                return 0.0
            return sent[0] + self.window - now

    def acquire(self, key: str) -> float:
        """Block until a call counted against `key` may go; the seconds waited."""
        if self.per_window <= 0:
            return 0.0
        waited = 0.0
        while (wait := self._try(key)) > 0:
            self._sleep(wait)
            waited += wait
        return waited


UNLIMITED = WindowLimiter(0)
