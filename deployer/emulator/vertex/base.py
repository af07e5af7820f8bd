"""Shared machinery of the Vertex half: names, long-running operations, the LRO quota.

Operations are rows of their own kind in the twin's store, so the one worker thread finishes
them (and finishes them after a restart, at the time they were due), exactly as for `ml` v1.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.emulator.apierrors import exhausted, not_found
from deployer.emulator.base import ApiHalf, now_iso
from deployer.emulator.gcs import GcsReader
from deployer.emulator.knobs import KnobBox
from deployer.emulator.store import Row, Store

Json = dict[str, Any]
ENDPOINT = "aiplatform"
"""The store's `endpoint` column for every Vertex row (names carry project and location)."""
VMODEL = "vertex_model"
VVERSION = "vertex_version"
VENDPOINT = "vertex_endpoint"
VOPERATION = "vertex_operation"
VBQTABLE = "vertex_bq_table"
VPROJECT = "vertex_project"
VPOOL = "vertex_pool"
"""A deployment resource pool."""
"""A project number the twin handed out, and its project id."""
"""A BigQuery table a logging config made the service create (outlives its endpoint)."""
TYPE = "type.googleapis.com/google.cloud.aiplatform.v1."
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
WAIT_CAP_S = 30.0
GENERIC = "GenericOperationMetadata"
"""The metadata of an operation whose own metadata type the discovery document does not have
(endpoints.update's) [INF]."""


def numeric_id(digits: int) -> str:
    """A server-assigned numeric ID with exactly `digits` digits and no leading zero."""
    low = 10 ** (digits - 1)
    high = min(10**digits, 2**63) - 1
    return str(low + secrets.randbelow(high - low + 1))


def project_number(project: str) -> str:
    """The 12-digit project number the twin gives `project` (stable across restarts)."""
    digest = int(hashlib.sha256(project.encode("utf-8")).hexdigest(), 16)
    return str(10**11 + digest % (9 * 10**11))


def location_name(project: str, location: str) -> str:
    return f"projects/{project}/locations/{location}"


class VertexBase(ApiHalf):
    """State shared by the registry, endpoint and pool parts; every public method is one API
    call."""

    OPERATION_KIND = VOPERATION

    def __init__(
        self,
        store: Store,
        knobs: KnobBox,
        data_dir: Path,
        reader: GcsReader,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(store, knobs, data_dir, reader, wake)
        self._submissions: dict[tuple[str, str], collections.deque[float]] = {}
        self._quota_lock = threading.Lock()
        self._ingest_lock = threading.Lock()

    # ---- project numbers -------------------------------------------------------------------

    def remember_project(self, project: str, number: str) -> None:
        """Keep number -> id, so a name carrying the number finds the project (persisted)."""
        if self.store.get(VPROJECT, ENDPOINT, number) is None:
            with self.store.transaction():
                row = Row(VPROJECT, ENDPOINT, number, "", project, {"id": project}, {}, False, None)
                self.store.put(row)

    def project_of(self, number: str) -> str | None:
        row = self.store.get(VPROJECT, ENDPOINT, number)
        return None if row is None else str(row.data["id"])

    # ---- the LRO quota ---------------------------------------------------------------------

    def _take_lro_slot(self, project: str, location: str) -> None:
        """Count one LRO submission; 429 past `vertex_lro_per_minute` in the sliding minute."""
        limit = self.knobs.get().vertex_lro_per_minute
        now = time.monotonic()
        with self._quota_lock:
            recent = self._submissions.setdefault((project, location), collections.deque())
            while recent and recent[0] <= now - 60.0:
                recent.popleft()
            if len(recent) >= limit:
                raise exhausted(
                    f"Quota exceeded for aiplatform.googleapis.com/long_running_operations: at "
                    f"most {limit} long-running operation requests per minute per region "
                    f"(project {project!r}, region {location!r}). Retry later."
                )
            recent.append(now)

    # ---- operations ------------------------------------------------------------------------

    def _new_operation(
        self,
        project: str,
        location: str,
        scope: str,
        op_type: str,
        metadata_type: str,
        internal: Json,
        extra_metadata: Json | None = None,
    ) -> Json:
        """Persist a pending operation named `{scope}/operations/N` (scope: a resource name)."""
        self._take_lro_slot(project, location)
        knobs = self.knobs.get()
        now = time.time()
        name = f"{scope}/operations/{numeric_id(19)}"
        times = {"createTime": now_iso(now), "updateTime": now_iso(now)}
        metadata: Json = {
            "@type": TYPE + metadata_type,
            **(times if metadata_type == GENERIC else {"genericMetadata": times}),
            **(extra_metadata or {}),
        }
        data: Json = {"name": name, "metadata": metadata}
        internal = {
            **internal,
            "type": op_type,
            "fail": self.knobs.chance(knobs.op_failure_rate),
            "run": self.run_id,
            "start": now,
        }
        row = Row(
            VOPERATION, ENDPOINT, name, location_name(project, location), project, data,
            internal, True, now + knobs.op_seconds,
        )  # fmt: skip
        self.store.put(row)
        return copy.deepcopy(data)

    def _operation_row(self, project: str, location: str, name: str) -> Row:
        """The operation `name`; under `locations/L/operations/N` any scope's N is found."""
        row = self.store.get(VOPERATION, ENDPOINT, name)
        parent = location_name(project, location)
        if row is None and name.startswith(f"{parent}/operations/"):
            suffix = "/operations/" + name.rsplit("/", 1)[1]
            for candidate in self.store.children(VOPERATION, ENDPOINT, parent):
                if candidate.name.endswith(suffix):
                    row = candidate
                    break
        if row is None:
            raise not_found(f"Operation {name!r} not found.")
        return row

    def _render_operation(self, row: Row) -> Json:
        data = copy.deepcopy(row.data)
        if row.pending and row.internal["type"] == "deploy":
            from deployer.providers.vertex import catalog as cv

            start, due = row.internal["start"], row.due or time.time()
            share = (time.time() - start) / max(due - start, 1e-6)
            running = cv.DEPLOYMENT_STAGES[:7]  # STARTING_DEPLOYMENT .. FINISHING_UP
            stage = running[min(len(running) - 1, max(0, int(share * len(running))))]
            data["metadata"]["deploymentStage"] = stage
        return data

    def get_operation(self, project: str, location: str, name: str) -> Json:
        with self.store.transaction():
            return self._render_operation(self._operation_row(project, location, name))

    def wait_operation(self, project: str, location: str, name: str, timeout: str | None) -> Json:
        """Block until done or `timeout` (`"12s"`; capped at 30 s), then answer like get."""
        seconds = WAIT_CAP_S
        if timeout:
            try:
                seconds = min(WAIT_CAP_S, float(timeout.rstrip("s")))
            except ValueError:
                from deployer.emulator.apierrors import invalid

                raise invalid(f"Invalid timeout {timeout!r}; use a duration like '10s'.") from None
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            current = self.get_operation(project, location, name)
            if current.get("done") or time.monotonic() >= deadline:
                return current
            time.sleep(0.02)

    def _prepare(self, endpoint: str, op: Row) -> str | None:
        prepare = getattr(self, f"_prepare_{op.internal['type']}", None)
        if prepare is None or op.internal.get("fail"):
            return None
        outcome: str | None = prepare(op)
        return outcome

    def _finish(self, endpoint: str, op: Row, outcome: str | None) -> None:
        if op.internal.get("fail"):
            self._fail(
                op, "INTERNAL", "Internal error encountered (injected by the emulator's "
                "op_failure_rate); nothing was changed.",
            )  # fmt: skip
            self._abandon(op)
        else:
            getattr(self, f"_finish_{op.internal['type']}")(op, outcome)
        self._release(op)

    def _stamp_done(self, op: Row, when: str) -> None:
        metadata = op.data["metadata"]
        metadata.get("genericMetadata", metadata)["updateTime"] = when

    def _abandon(self, op: Row) -> None:
        """Undo what submission reserved for an operation that ends in error (hook)."""
        if op.internal["type"] == "deploy":
            op.data["metadata"]["deploymentStage"] = "FAILED_TO_DEPLOY"
        artifact = op.internal.get("artifact")
        if artifact and op.internal["type"] == "upload":
            import shutil

            shutil.rmtree(artifact, ignore_errors=True)

    def _release(self, op: Row) -> None:
        """Clear the busy marks an operation set on its endpoint, model or version."""
        for kind, key in (
            (VENDPOINT, "endpoint"),
            (VMODEL, "model"),
            (VVERSION, "version"),
            (VPOOL, "pool"),
        ):
            target = op.internal.get(key)
            if not target:
                continue
            row = self.store.get(kind, ENDPOINT, target)
            if row is not None and row.internal.get("busy") == op.name:
                row.internal.pop("busy")
                self.store.put(row)
