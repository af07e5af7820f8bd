"""What the twin's two API halves (`ml` v1 and `aiplatform` v1) share: one store, one set of
knobs, the artifacts directory, the Cloud Storage reader, and the life of a long-running
operation, which the one worker thread (`operations.OperationWorker`) finishes for both.

An operation is a row of the half's operation kind. Finishing it is the same three steps on
either service: whatever is slow (copying or loading an artifact) runs outside the store's
lock, the half's own outcome is written inside one transaction, and the row is marked done with
the time in the place that half's metadata keeps it.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from deployer.emulator.apierrors import RPC_CODES
from deployer.emulator.gcs import GcsReader
from deployer.emulator.knobs import KnobBox
from deployer.emulator.store import Row, Store

Json = dict[str, Any]


def now_iso(moment: float | None = None) -> str:
    stamp = dt.datetime.fromtimestamp(time.time() if moment is None else moment, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_etag() -> str:
    return base64.b64encode(os.urandom(8)).decode("ascii")


class ApiHalf(abc.ABC):
    """One API's semantics over the shared `Store`; every public method of a subclass is one
    API call, and `due_operations`/`complete` are what the worker calls."""

    OPERATION_KIND: ClassVar[str]
    """The store kind of this half's operation rows."""

    def __init__(
        self,
        store: Store,
        knobs: KnobBox,
        data_dir: Path,
        reader: GcsReader,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.knobs = knobs
        self.artifacts_dir = data_dir / "artifacts"
        self.reader = reader
        self.wake = wake
        self.run_id = uuid.uuid4().hex
        """Tells this run's operations from those a previous run of the twin left pending."""

    @staticmethod
    def _fail(op: Row, status: str, message: str) -> None:
        op.data["error"] = {"code": RPC_CODES[status], "message": message}

    def due_operations(self, now: float) -> tuple[list[Row], float | None]:
        """Pending operations due by `now`, and when the next one falls due."""
        due: list[Row] = []
        upcoming: float | None = None
        for row in self.store.pending_operations(kind=self.OPERATION_KIND):
            if row.due is None or row.due <= now:
                due.append(row)
            elif upcoming is None or row.due < upcoming:
                upcoming = row.due
        return due, upcoming

    def complete(self, endpoint: str, op_name: str) -> None:
        """Finish one due operation: `_prepare` outside the store lock, `_finish` and the done
        mark inside one transaction (a row finished meanwhile is left alone)."""
        row = self.store.get(self.OPERATION_KIND, endpoint, op_name)
        if row is None or not row.pending:
            return
        outcome = self._prepare(endpoint, row)
        with self.store.transaction():
            row = self.store.get(self.OPERATION_KIND, endpoint, op_name)
            if row is None or not row.pending:
                return
            self._finish(endpoint, row, outcome)
            row.pending = False
            row.due = None
            row.data["done"] = True
            self._stamp_done(row, now_iso())
            self.store.put(row)

    def _prepare(self, endpoint: str, op: Row) -> str | None:
        """The slow part of finishing `op`, outside the lock: an error message, or None."""
        return None

    @abc.abstractmethod
    def _finish(self, endpoint: str, op: Row, outcome: str | None) -> None:
        """Write what `op` did (or the error it ends with) to the store."""

    @abc.abstractmethod
    def _stamp_done(self, op: Row, when: str) -> None:
        """Record when `op` finished in its metadata."""
