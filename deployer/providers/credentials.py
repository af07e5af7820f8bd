"""Google credentials and reachability, checked up front so that a broken environment answers
in seconds with one line naming what is wrong, instead of minutes of retries or a traceback.

Shared by every client deployer builds (Cloud Storage, the `ml` v1 client, and the discovery
clients of both providers): `google_credentials()` loads Application Default Credentials once
per process, after checking a GOOGLE_APPLICATION_CREDENTIALS file, and refreshes them with a
bounded timeout; `check_reachable()` probes a base URL once with a short timeout;
`note_real_cloud()` says when one emulator variable is set and the other is not, so calls for
the other service go to real Google Cloud.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from deployer.core.errors import DeployerError

CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
AIPLATFORM_EMULATOR_ENV = "AIPLATFORM_EMULATOR_HOST"
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_TIMEOUT = 10.0
PROBE_TIMEOUT = 5.0
KNOWN_TYPES = frozenset(
    {
        "service_account",
        "authorized_user",
        "external_account",
        "external_account_authorized_user",
        "impersonated_service_account",
        "gdch_service_account",
    }
)
LOGIN_HINT = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"

_lock = threading.Lock()
_credentials: Any = None
_reachable: set[str] = set()
_unreachable: dict[str, str] = {}
"""Hosts whose probe failed, with the error: every later client of the process fails at once."""
_noted: set[str] = set()


class EnvironmentProblem(DeployerError):
    """Credentials or network: nothing deployer can retry its way out of."""


def check_credentials_file(
    environ: Any = None, emulator_env: str = AIPLATFORM_EMULATOR_ENV
) -> None:
    """EnvironmentProblem naming the file when GOOGLE_APPLICATION_CREDENTIALS is set to a
    missing, unreadable or invalid file (google.auth's own message names neither clearly)."""
    value = (environ if environ is not None else os.environ).get(CREDENTIALS_ENV, "")
    if not value:
        return
    try:
        _check_file(Path(value), f"{CREDENTIALS_ENV}={value}")
    except EnvironmentProblem as exc:
        raise EnvironmentProblem(
            f"{exc}; fix or unset it: run `gcloud auth application-default login`, or set "
            f"{emulator_env} to use the local twin"
        ) from None


def _check_file(path: Path, where: str) -> None:
    if not path.exists():
        raise EnvironmentProblem(f"{where}: the file does not exist")
    if not path.is_file():
        raise EnvironmentProblem(f"{where}: not a regular file")
    try:
        if path.stat().st_size > 1 << 20:
            raise EnvironmentProblem(f"{where}: over 1 MiB, not a credentials file")
        doc = json.loads(path.read_bytes())
    except OSError as exc:
        raise EnvironmentProblem(f"{where}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise EnvironmentProblem(f"{where}: not a JSON credentials file ({exc})") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in KNOWN_TYPES:
        shown = f"type {kind!r}" if kind else "no 'type'"
        raise EnvironmentProblem(
            f"{where}: not a Google credentials file ({shown}; expected one of "
            f"{', '.join(sorted(KNOWN_TYPES))})"
        )


def _source() -> str:
    value = os.environ.get(CREDENTIALS_ENV)
    return f"from {CREDENTIALS_ENV}={value}" if value else "application default credentials"


def google_credentials(emulator_env: str = AIPLATFORM_EMULATOR_ENV) -> Any:
    """Application Default Credentials, loaded and refreshed once per process (bounded)."""
    global _credentials
    with _lock:
        if _credentials is not None:
            return _credentials
        check_credentials_file(emulator_env=emulator_env)
        import google.auth
        from google.auth import exceptions

        try:
            credentials, _ = google.auth.default(scopes=list(SCOPES))
        except exceptions.DefaultCredentialsError as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise EnvironmentProblem(
                f"no usable Google Cloud credentials ({first}): {LOGIN_HINT} (or set "
                f"{emulator_env} to use the local twin started by `deployer emulator`)"
            ) from None
        refresh(credentials)
        _credentials = credentials
        return credentials


def refresh(credentials: Any, timeout: float = REFRESH_TIMEOUT) -> None:
    """Get a token now, with a bounded timeout: no network or a revoked login is one line."""
    from google.auth import exceptions
    from google.auth.transport.requests import Request

    request = functools.partial(Request(), timeout=timeout)
    try:
        credentials.refresh(request)
    except (exceptions.RefreshError, exceptions.TransportError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise EnvironmentProblem(
            f"cannot refresh Google Cloud credentials ({_source()}): {first}; check the "
            f"network, or {LOGIN_HINT}"
        ) from None


def check_reachable(url: str, service: str, hint: str = "") -> None:
    """EnvironmentProblem unless `url`'s host answers HTTP within PROBE_TIMEOUT (any status
    counts). Probed once per host and process, so a dead network fails in seconds."""
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}/"
    with _lock:
        if base in _reachable:
            return
        if base in _unreachable:
            raise EnvironmentProblem(_unreachable[base])
    try:
        with urllib.request.urlopen(base, timeout=PROBE_TIMEOUT):
            pass
    except urllib.error.HTTPError:
        pass  # it answered
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        why = getattr(reason, "strerror", None) or str(reason) or type(exc).__name__
        problem = f"cannot reach {service} at {base.rstrip('/')}: {why}{hint}"
        with _lock:
            _unreachable[base] = problem
        raise EnvironmentProblem(problem) from None
    with _lock:
        _reachable.add(base)


def note_real_cloud(missing: str, present: str, service: str, host: str) -> None:
    """Say once when `missing` is unset while `present` is set: `service` calls then go to
    real Google Cloud, which a user running against the twin rarely means."""
    if os.environ.get(missing) or not os.environ.get(present) or missing in _noted:
        return
    _noted.add(missing)
    print(
        f"note: {missing} is not set (while {present} is): {service} calls go to real Google "
        f"Cloud ({host})",
        file=sys.stderr,
        flush=True,
    )


def reset() -> None:
    """Forget cached credentials and probes (tests)."""
    global _credentials
    with _lock:
        _credentials = None
        _reachable.clear()
        _noted.clear()
