"""Ctrl-C and SIGTERM during `apply` and `destroy`.

The first signal while actions run stops scheduling: nothing new starts, the actions in flight
are let finish, the lock is released and the run exits 130 saying a re-run converges. A second
signal (or any signal before actions run) stops at once, still releasing the lock on the way
out, and names the actions left in flight.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from deployer.apply.executor import Stop
from deployer.core.errors import DeployerError

EXIT_INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(DeployerError):
    exit_code = EXIT_INTERRUPTED
    prefix = ""

    def __init__(self, message: str, immediate: bool = False) -> None:
        super().__init__(message)
        self.immediate = immediate
        """Threads may still be in flight: the process exits without waiting for them."""


@dataclass
class Guard:
    stop: Stop = field(default_factory=Stop)
    armed: bool = False
    """True while actions run: the first signal then only stops scheduling."""
    signals: int = 0

    def handle(self, signum: int, frame: Any) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.armed and self.signals == 1:
            self.stop.request()
            flight = self.stop.in_flight
            waiting = f"waiting for {len(flight)} in flight ({', '.join(flight)})" if flight else ""
            print(
                f"\nInterrupted ({name}): no new action will start; {waiting or 'stopping'}. "
                "Press Ctrl-C again to stop at once.",
                file=sys.stderr,
                flush=True,
            )
            return
        raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[Guard]:
    """Install the handlers for the block; a KeyboardInterrupt leaving it (after every `with`
    inside, such as the stack lock, has cleaned up) becomes an `Interrupted` error."""
    guard = Guard()
    previous = {sig: signal.signal(sig, guard.handle) for sig in SIGNALS}
    try:
        yield guard
    except KeyboardInterrupt:
        flight = guard.stop.in_flight
        left = f"; left in flight (they may still complete): {', '.join(flight)}" if flight else ""
        raise Interrupted(
            f"Interrupted: stopped at once{left}. The stack lock was released; "
            "run the command again to converge.",
            immediate=True,
        ) from None
    finally:
        for sig, handler in previous.items():
            # Once interrupted the process is on its way out: a late signal must not turn
            # the clean exit 130 into a KeyboardInterrupt traceback.
            signal.signal(sig, signal.SIG_IGN if guard.signals else handler)
