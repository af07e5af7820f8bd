"""Turning Google API failures into one line a user can act on (shared by every provider).

googleapiclient raises `HttpError` for HTTP answers and lets socket/httplib2 errors through for
transport problems; both become `ProviderError`, whose `.retryable` tells the retry helper
whether trying again can help (429 and 5xx answers, timeouts, dropped connections).
"""

from __future__ import annotations

import errno
import json
import socket
from typing import Any

from deployer.core.errors import DeployerError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_HINT = (
    "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS "
    "(or set AIPLATFORM_EMULATOR_HOST to use the local twin started by `deployer emulator`)"
)


class ProviderError(DeployerError):
    """A failed call to the cloud API. `status` is the HTTP status (None for transport errors),
    `reason` Google's canonical status string (e.g. ALREADY_EXISTS), `message` the service's own
    text, `retry_after` the seconds the service asked to wait."""

    def __init__(
        self,
        text: str,
        *,
        status: int | None = None,
        reason: str = "",
        message: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.reason = reason
        self.message = message or text
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def already_exists(self) -> bool:
        return self.status == 409


class OperationFailed(ProviderError):
    """A long-running operation ended in error, or a version ended FAILED."""


class OperationTimeout(ProviderError):
    """A long-running operation did not finish within its time limit (it may still finish)."""


RPC_STATUSES: dict[int, tuple[str, int]] = {
    1: ("CANCELLED", 499),
    2: ("UNKNOWN", 500),
    3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504),
    5: ("NOT_FOUND", 404),
    6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409),
    11: ("OUT_OF_RANGE", 400),
    12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}
"""google.rpc.Code -> (canonical name, the HTTP status the service answers it with), as in
googleapis' google/rpc/code.proto."""


def from_operation_error(error: Any, *, what: str) -> OperationFailed:
    """The `error` (a google.rpc.Status) of a finished long-running operation as the same kind
    of error a synchronous answer gives: its code kept (as HTTP status and canonical name) and
    retryable exactly when the synchronous answer would be (RESOURCE_EXHAUSTED, INTERNAL,
    UNAVAILABLE, ...)."""
    body = error if isinstance(error, dict) else {}
    try:
        code = int(body.get("code", 2))
    except (TypeError, ValueError):
        code = 2
    reason, status = RPC_STATUSES.get(code, ("UNKNOWN", 500))
    message = str(body.get("message") or f"error code {code}").strip()
    kind = ", a quota" if reason == "RESOURCE_EXHAUSTED" else ""
    text = f"{what} failed: the operation ended in {reason} (code {code}{kind}): {message}"
    return OperationFailed(
        text,
        status=status,
        reason=reason,
        message=message,
        retryable=status in RETRYABLE_STATUSES,
    )


def parse_envelope(content: bytes | str | None) -> tuple[str, str]:
    """(message, status) from Google's `{"error": {"code", "message", "status"}}` body.

    Also accepts the predict style `{"error": "text"}` and non-JSON bodies (HTML from a proxy).
    """
    if content is None:
        return "", ""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    try:
        body: Any = json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[0] if text.strip() else ""
        return first[:300], ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", "")).strip(), str(error.get("status", ""))
    if isinstance(error, str):
        return error.strip(), ""
    return text.strip()[:300], ""


def _retry_after(resp: Any) -> float | None:
    raw = resp.get("retry-after") if hasattr(resp, "get") else None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: rare for Google APIs; the backoff applies instead


ML_PERMISSION_HINT = (
    "the account needs ml.models.* / ml.versions.* permissions, e.g. the "
    "'AI Platform Developer' role, and the AI Platform Training & Prediction API "
    "enabled in the project"
)


def from_http_error(
    exc: Any, *, project: str, what: str, permission_hint: str = ML_PERMISSION_HINT
) -> ProviderError:
    """Map a googleapiclient `HttpError` raised while doing `what` (e.g. "list models on
    us-central1") in `project` to a ProviderError with one clear line; `permission_hint` says
    which role and API a 403 calls for (each API names its own)."""
    status = int(getattr(exc.resp, "status", 0) or 0)
    message, reason = parse_envelope(getattr(exc, "content", None))
    said = message or getattr(exc, "reason", "") or f"HTTP {status}"
    retryable = status in RETRYABLE_STATUSES
    if permission_hint == ML_PERMISSION_HINT and _shut_down(said):
        text = (
            f"{what}: AI Platform Prediction (ml v1) is shut down ({said}); deploy to Vertex AI "
            "instead: set `backend: vertex` in deployer.yaml"
        )
    elif status == 401:
        text = f"{what}: not authenticated ({said}); {AUTH_HINT}"
    elif status == 403:
        text = f"{what}: permission denied in project {project!r}: {said} ({permission_hint})"
    elif status == 404:
        text = f"{what}: not found: {said}"
    elif status == 409:
        text = f"{what}: already exists: {said}"
    elif status == 429:
        text = f"{what}: quota exceeded or rate limited (429): {said}"
    elif status >= 500:
        text = f"{what}: the service failed ({status} {reason or 'error'}): {said}"
    else:
        text = f"{what}: rejected by the service ({status} {reason or 'error'}): {said}"
    return ProviderError(
        text,
        status=status,
        reason=reason,
        message=said,
        retryable=retryable,
        retry_after=_retry_after(exc.resp) if retryable else None,
    )


SHUTDOWN_WORDS = ("deprecated", "shut down", "vertex ai", "no longer available")


def _shut_down(message: str) -> bool:
    """The ml v1 API answers new work with a 400 naming Vertex AI (DESIGN section 1)."""
    text = message.lower()
    return any(word in text for word in SHUTDOWN_WORDS)


def from_transport_error(
    exc: BaseException, *, url: str, emulator: bool, what: str
) -> ProviderError:
    """Map a connection-level failure talking to `url` (the endpoint's base URL)."""
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and getattr(exc, "errno", None) == errno.ECONNREFUSED
    ):
        if emulator:
            return ProviderError(
                f"cannot reach the AI Platform twin at {url.rstrip('/')}: is `deployer emulator` "
                "running? (AIPLATFORM_EMULATOR_HOST points there)",
                message=str(exc),
            )
        return ProviderError(f"{what}: connection refused by {url}", message=str(exc))
    if isinstance(exc, socket.timeout | TimeoutError):
        return ProviderError(
            f"{what}: no answer from {url} in time (timed out)", message=str(exc), retryable=True
        )
    name = type(exc).__name__
    if name == "ServerNotFoundError":  # httplib2: DNS lookup failed
        hint = " (is AIPLATFORM_EMULATOR_HOST right?)" if emulator else ""
        return ProviderError(f"{what}: cannot resolve the host of {url}{hint}", message=str(exc))
    return ProviderError(
        f"{what}: connection to {url} failed: {exc or name}",
        message=str(exc),
        retryable=isinstance(exc, ConnectionError | OSError),
    )
