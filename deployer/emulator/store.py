"""SQLite persistence of the twin's models, versions and operations.

WAL with synchronous=NORMAL survives a killed process (not a power cut).
One table holds every resource as JSON, keyed by (kind, endpoint, full name). Each API call runs
inside `transaction()`, which serializes writers with a lock and commits once at the end, so a
crash (even SIGKILL) leaves either the whole call or none of it on disk.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    parent TEXT NOT NULL,
    project TEXT NOT NULL,
    data TEXT NOT NULL,
    internal TEXT NOT NULL DEFAULT '{}',
    pending INTEGER NOT NULL DEFAULT 0,
    due REAL,
    PRIMARY KEY (kind, endpoint, name)
);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (kind, endpoint, parent, name);
CREATE INDEX IF NOT EXISTS resources_pending ON resources (pending, due);
"""

MODEL = "model"
VERSION = "version"
OPERATION = "operation"


@dataclass
class Row:
    kind: str
    endpoint: str
    name: str
    parent: str
    project: str
    data: dict[str, Any]
    internal: dict[str, Any]
    pending: bool
    due: float | None


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def _row(self, values: tuple[Any, ...]) -> Row:
        kind, endpoint, name, parent, project, data, internal, pending, due = values
        return Row(
            kind, endpoint, name, parent, project, json.loads(data), json.loads(internal),
            bool(pending), due,
        )  # fmt: skip

    _COLUMNS = "kind, endpoint, name, parent, project, data, internal, pending, due"

    def get(self, kind: str, endpoint: str, name: str) -> Row | None:
        with self._lock:
            cur = self._db.execute(
                f"SELECT {self._COLUMNS} FROM resources WHERE kind=? AND endpoint=? AND name=?",
                (kind, endpoint, name),
            )
            found = cur.fetchone()
        return self._row(found) if found else None

    def put(self, row: Row) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO resources ({self._COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    row.kind, row.endpoint, row.name, row.parent, row.project,
                    json.dumps(row.data, sort_keys=True), json.dumps(row.internal, sort_keys=True),
                    int(row.pending), row.due,
                ),
            )  # fmt: skip

    def delete(self, kind: str, endpoint: str, name: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM resources WHERE kind=? AND endpoint=? AND name=?",
                (kind, endpoint, name),
            )

    def children(
        self, kind: str, endpoint: str, parent: str, after: str = "", limit: int = -1
    ) -> list[Row]:
        """Resources under `parent`, in name order, starting after the name `after`."""
        with self._lock:
            cur = self._db.execute(
                f"SELECT {self._COLUMNS} FROM resources WHERE kind=? AND endpoint=? AND parent=?"
                " AND name>? ORDER BY name LIMIT ?",
                (kind, endpoint, parent, after, limit),
            )
            rows = cur.fetchall()
        return [self._row(r) for r in rows]

    def count(self, kind: str, project: str, *, pending_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM resources WHERE kind=? AND project=?"
        if pending_only:
            sql += " AND pending=1"
        with self._lock:
            return int(self._db.execute(sql, (kind, project)).fetchone()[0])

    def count_children(self, kind: str, endpoint: str, parent: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "SELECT COUNT(*) FROM resources WHERE kind=? AND endpoint=? AND parent=?",
                (kind, endpoint, parent),
            )
            return int(cur.fetchone()[0])

    def pending_operations(self, project: str | None = None, kind: str = OPERATION) -> list[Row]:
        sql = f"SELECT {self._COLUMNS} FROM resources WHERE kind=? AND pending=1"
        args: tuple[Any, ...] = (kind,)
        if project is not None:
            sql += " AND project=?"
            args += (project,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY due", args).fetchall()
        return [self._row(r) for r in rows]

    def wipe(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM resources")
