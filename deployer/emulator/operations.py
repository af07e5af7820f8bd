"""The background worker that finishes long-running operations.

It scans the persisted pending operations, so an operation in flight when the twin stopped (or
was killed) finishes after the next start, at the time it was due.
"""

from __future__ import annotations

import logging
import threading
import time

from deployer.emulator.service import Service

log = logging.getLogger(__name__)
IDLE_POLL = 0.5


class OperationWorker:
    def __init__(self, service: Service) -> None:
        self.service = service
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
            try:
                due, upcoming = self.service.due_operations(time.time())
                for row in due:
                    if self._stop.is_set():
                        return
                    self.service.complete(row.endpoint, row.name)
            except Exception:  # keep the worker alive; the operation is retried next scan
                log.exception("operation worker error")
                upcoming = time.time() + IDLE_POLL
            if due:
                continue
            wait = (
                IDLE_POLL if upcoming is None else max(0.0, min(IDLE_POLL, upcoming - time.time()))
            )
            self._wake.wait(wait)
