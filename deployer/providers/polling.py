"""When to look at a running long-running operation again.

Polling on fixed or doubling intervals either floods the request quota or notices a finished
operation long after it finished (a 3 s operation seen done at 6.6 s), and every late notice
holds a slot of the 10-concurrent-operation quota the next operation waits for. Two rules keep
the overshoot a small fraction of the operation's own time at a few polls each:

- the interval grows with the time already waited (`fraction` of it, within bounds), so a
  ten-minute operation is polled every 30 s and a two-second one every quarter second;
- operations of one kind in one run take similar times: after the first finishes, later ones
  are first polled shortly before the fastest seen so far would finish, not from the start.
"""

from __future__ import annotations

import threading


class PollSchedule:
    """Delays between polls of operations, learning each kind's duration as they finish."""

    def __init__(
        self,
        fraction: float = 0.1,
        minimum: float = 0.25,
        maximum: float = 30.0,
        lead: float = 0.9,
    ) -> None:
        self.fraction = fraction
        self.minimum = minimum
        self.maximum = maximum
        self.lead = lead
        self._fastest: dict[str, float] = {}
        self._lock = threading.Lock()

    def delay(self, kind: str, elapsed: float) -> float:
        """Seconds to wait before the next poll of a `kind` operation running for `elapsed`."""
        with self._lock:
            fastest = self._fastest.get(kind)
        if fastest is not None and elapsed < self.lead * fastest - self.minimum:
            return self.lead * fastest - elapsed
        return min(self.maximum, max(self.minimum, self.fraction * elapsed))

    def finished(self, kind: str, seconds: float) -> None:
        """Record that a `kind` operation was seen done after `seconds`."""
        with self._lock:
            fastest = self._fastest.get(kind)
            if fastest is None or seconds < fastest:
                self._fastest[kind] = seconds
