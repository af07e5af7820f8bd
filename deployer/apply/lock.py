"""The stack lock: one apply or destroy at a time per stack, held in the artifacts bucket.

The lock is an object `<artifacts>/.deployer/locks/<stack>` created only if absent (generation
precondition 0), so two runners cannot both create it. It names its holder and expires, so a
runner killed mid-apply does not block the stack forever: an expired lock is taken over by
deleting exactly that generation. A live holder renews the expiry while it works.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from deployer.artifacts.gcs import GcsUri, storage_error
from deployer.core.errors import DeployerError

DEFAULT_TTL = 15 * 60


class LockError(DeployerError):
    pass


@dataclass(frozen=True)
class LockInfo:
    id: str
    holder: str
    operation: str
    created: float
    expires: float
    generation: int

    @property
    def expired(self) -> bool:
        return time.time() > self.expires

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return f"lock {self.id} held by {self.holder} ({self.operation}) since {since}"


def lock_uri(artifacts: str, stack: str) -> GcsUri:
    return GcsUri.parse(artifacts).child(".deployer", "locks", stack)


def _holder() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _precondition_failed(exc: Exception) -> bool:
    return getattr(exc, "code", None) == 412


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "code", None) == 404


class StackLock:
    """Acquire with `acquire()`, release with `release()`; or use as a context manager."""

    def __init__(
        self,
        client: Any,
        artifacts: str,
        stack: str,
        operation: str,
        timeout: float = 0.0,
        ttl: float = DEFAULT_TTL,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.on_wait = on_wait
        """Told once, when the lock is held by another run and this one starts waiting."""
        self.client = client
        self.uri = lock_uri(artifacts, stack)
        self.stack = stack
        self.operation = operation
        self.timeout = timeout
        self.ttl = ttl
        self.id = uuid.uuid4().hex[:12]
        self.generation: int | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def _blob(self) -> Any:
        return self.client.bucket(self.uri.bucket).blob(self.uri.prefix)

    def _body(self) -> str:
        now = time.time()
        return json.dumps(
            {
                "id": self.id,
                "holder": _holder(),
                "operation": self.operation,
                "created": now,
                "expires": now + self.ttl,
            }
        )

    def read(self) -> LockInfo | None:
        return read_lock(self.client, self.uri)

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.5
        while True:
            blob = self._blob
            try:
                blob.upload_from_string(
                    self._body(), content_type="application/json", if_generation_match=0
                )
                self.generation = int(blob.generation)
                self._start_renewal()
                return
            except Exception as exc:
                if not _precondition_failed(exc):
                    raise storage_error(exc, f"taking the lock {self.uri}") from None
            current = self.read()
            if current is not None and current.expired:
                self._take_over(current)
                continue
            if current is None:
                continue
            if time.monotonic() >= deadline:
                wait = " (use --lock-timeout to wait for it)" if not self.timeout else ""
                raise LockError(
                    f"stack '{self.stack}' is locked: {current.describe()}{wait}; if that run is "
                    f"gone, `deployer force-unlock {current.id}` removes the lock"
                )
            if self.on_wait is not None:
                left = max(0.0, deadline - time.monotonic())
                self.on_wait(f"Waiting up to {left:.0f}s for the stack lock: {current.describe()}")
                self.on_wait = None
            time.sleep(min(delay, max(0.05, deadline - time.monotonic())))
            delay = min(delay * 1.5, 5.0)

    def _take_over(self, stale: LockInfo) -> None:
        try:
            self._blob.delete(if_generation_match=stale.generation)
        except Exception as exc:
            if not (_precondition_failed(exc) or _not_found(exc)):
                raise storage_error(exc, f"taking over the expired lock {self.uri}") from None

    def _start_renewal(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True, name="lock-renew")
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            blob = self._blob
            try:
                blob.upload_from_string(
                    self._body(),
                    content_type="application/json",
                    if_generation_match=self.generation,
                )
                self.generation = int(blob.generation)
            except Exception:
                return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        if self.generation is None:
            return
        try:
            self._blob.delete(if_generation_match=self.generation)
        except Exception as exc:
            if not (_precondition_failed(exc) or _not_found(exc)):
                raise storage_error(exc, f"releasing the lock {self.uri}") from None
        self.generation = None

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_lock(client: Any, uri: GcsUri) -> LockInfo | None:
    try:
        blob = client.bucket(uri.bucket).get_blob(uri.prefix)
    except Exception as exc:
        raise storage_error(exc, f"reading the lock {uri}") from None
    if blob is None:
        return None
    try:
        doc = json.loads(blob.download_as_bytes(if_generation_match=blob.generation))
        return LockInfo(
            id=str(doc["id"]),
            holder=str(doc.get("holder", "unknown")),
            operation=str(doc.get("operation", "")),
            created=float(doc.get("created", 0)),
            expires=float(doc.get("expires", 0)),
            generation=int(blob.generation),
        )
    except Exception as exc:
        if _not_found(exc) or _precondition_failed(exc):
            return None
        if isinstance(exc, ValueError | KeyError):
            return LockInfo("unreadable", "unknown", "", 0, 0, int(blob.generation))
        raise storage_error(exc, f"reading the lock {uri}") from None


def force_unlock(client: Any, artifacts: str, stack: str, lock_id: str) -> LockInfo:
    uri = lock_uri(artifacts, stack)
    current = read_lock(client, uri)
    if current is None:
        raise LockError(f"stack '{stack}' is not locked")
    if current.id != lock_id:
        raise LockError(f"stack '{stack}' is held by lock {current.id}, not {lock_id}")
    try:
        client.bucket(uri.bucket).blob(uri.prefix).delete(if_generation_match=current.generation)
    except Exception as exc:
        raise storage_error(exc, f"removing the lock {uri}") from None
    return current
