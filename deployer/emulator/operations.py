"""The background worker that finishes long-running operations.

It scans the persisted pending operations, so an operation in flight when the twin stopped (or
was killed) finishes after the next start, at the time it was due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from deployer.emulator.store import Row

log = logging.getLogger(__name__)
IDLE_POLL = 0.5


class Completer(Protocol):
    """An API half (`ml` v1 or `aiplatform` v1) whose operations the worker finishes."""

    def due_operations(self, now: float) -> tuple[list[Row], float | None]: ...

    def complete(self, endpoint: str, op_name: str) -> None: ...


class OperationWorker:
    def __init__(self, services: Sequence[Completer]) -> None:
        self.services = list(services)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-operations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            upcoming: float | None = None
            for service in self.services:
                try:
                    due, next_due = service.due_operations(time.time())
                    for row in due:
                        if self._stop.is_set():
                            return
                        service.complete(row.endpoint, row.name)
                except Exception:  # keep the worker alive; the operation is retried next scan
                    log.exception("operation worker error")
                    due, next_due = [], time.time() + IDLE_POLL
                busy = busy or bool(due)
                if next_due is not None and (upcoming is None or next_due < upcoming):
                    upcoming = next_due
            if busy:
                continue
            wait = (
                IDLE_POLL if upcoming is None else max(0.0, min(IDLE_POLL, upcoming - time.time()))
            )
            self._wake.wait(wait)
