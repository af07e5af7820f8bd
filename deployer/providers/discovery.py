"""A Google discovery client per API, thread and base URL, and the one place calls execute.

Shared by the providers: each subclass names its API (`ml` v1, `aiplatform` v1) and maps a
location to a base URL. With AIPLATFORM_EMULATOR_HOST=http://host:port the twin is used instead,
with anonymous credentials; deployer never falls back to it silently. googleapiclient is
imported only when a client is built, so `deployer --help` and `deployer validate` never load it.

httplib2 connections are not thread-safe: each thread gets its own authorized http, cached in a
`threading.local`, and every request is executed with it. The discovery resource only builds
requests, so one per base URL is shared by all threads (building one from the `aiplatform`
document costs ~20 ms of CPU: per thread and region that was seconds on a wide read). The
discovery document is parsed from the copy shipped with google-api-python-client once per
process, never fetched.

Every call also takes a slot of the API's request quota (`requests_per_minute`, per
`quota_key(location)`), so a wide read never sends more than the service allows; a 429 that
still comes back is retried with backoff.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from deployer.core.errors import DeployerError
from deployer.providers import retry as retry_mod
from deployer.providers.errors import (
    AUTH_HINT,
    ML_PERMISSION_HINT,
    ProviderError,
    from_http_error,
    from_transport_error,
)
from deployer.providers.pacing import WindowLimiter
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy

EMULATOR_ENV = "AIPLATFORM_EMULATOR_HOST"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
HTTP_TIMEOUT = 60.0

Json = dict[str, Any]


def emulator_host(environ: Mapping[str, str] | None = None) -> str | None:
    """The twin's base URL from AIPLATFORM_EMULATOR_HOST (`http://` added if missing), or None."""
    value = (environ if environ is not None else os.environ).get(EMULATOR_ENV, "").strip()
    if not value:
        return None
    if "://" not in value:
        value = f"http://{value}"
    return value.rstrip("/")


def default_credentials(emulator: str | None) -> Any:
    """Anonymous credentials for the twin, else Application Default Credentials."""
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    from deployer.providers import credentials as shared

    shared.note_real_cloud(
        EMULATOR_ENV, shared.STORAGE_EMULATOR_ENV, "AI Platform", "googleapis.com"
    )
    # Checked file, bounded refresh, one line naming the problem (providers/credentials.py).
    return shared.google_credentials(EMULATOR_ENV)


@functools.cache
def discovery_document(api: str, version: str) -> str:
    """The discovery document shipped with google-api-python-client."""
    from googleapiclient.discovery_cache import get_static_doc

    doc = get_static_doc(api, version)
    if doc is None:
        raise DeployerError(f"google-api-python-client ships no `{api}` {version} discovery doc")
    return doc


@functools.cache
def discovery_service(api: str, version: str) -> dict[str, Any]:
    """The shipped discovery document, parsed once: building a resource from the parsed
    document costs ~1 ms instead of ~30 ms (`aiplatform` v1) from its text."""
    import json

    return json.loads(discovery_document(api, version))


UNSET: Any = object()


class Collections:
    """A discovery resource whose collections are built once and then shared.

    googleapiclient builds every method of a collection, docstrings included, each time the
    collection is reached (`r.projects().locations().models()`): ~14 ms of CPU per API call,
    which made a wide read or apply CPU-bound. A collection only builds requests, so one per
    path serves every thread; method calls (anything with arguments, or whose result is a
    request) pass through untouched.
    """

    def __init__(self, resource: Any) -> None:
        self._resource = resource
        self._children: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._resource, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if args or kwargs:
                return attr(*args, **kwargs)
            with self._lock:
                child = self._children.get(name)
            if child is not None:
                return child
            from googleapiclient.discovery import Resource

            result = attr()
            if not isinstance(result, Resource):
                return result
            with self._lock:
                return self._children.setdefault(name, Collections(result))

        return call


class DiscoveryClient:
    """Calls to one API of one project, at any location, safe to use from many threads.

    `execute(location, what, build)` runs `build(resource)` (a discovery request) with retries
    of 429/5xx answers and transport hiccups, and raises ProviderError with one clear line.
    """

    api: ClassVar[str]
    api_version: ClassVar[str]
    permission_hint: ClassVar[str] = ML_PERMISSION_HINT
    requests_per_minute: ClassVar[int] = 0
    """The service's request quota per `quota_key` (0: not paced)."""

    def __init__(
        self,
        project: str,
        *,
        emulator: str | None = UNSET,
        credentials: Any = None,
        timeout: float = HTTP_TIMEOUT,
        retry: RetryPolicy = DEFAULT_POLICY,
        request_limiter: WindowLimiter | None = None,
    ) -> None:
        self.project = project
        self.emulator = emulator_host() if emulator is UNSET else emulator
        self.timeout = timeout
        self.retry = retry
        self._credentials = credentials
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._local = threading.local()
        self._resources: dict[str, Any] = {}
        self._building: dict[str, threading.Lock] = {}
        self.request_limiter = request_limiter or WindowLimiter(self.requests_per_minute)

    def quota_key(self, location: str) -> str:
        """Which request quota a call at `location` counts against (per project by default)."""
        return ""

    @property
    def credentials(self) -> Any:
        with self._lock:
            if self._credentials is None:
                self._credentials = default_credentials(self.emulator)
            return self._credentials

    def url(self, location: str) -> str:
        """The `api_endpoint` serving `location` (raises ProviderError for an unknown one)."""
        raise NotImplementedError

    def resource(self, location: str) -> Any:
        """The discovery resource for `location` (built once per base URL, shared by threads:
        it only builds requests; `execute_once` runs them on this thread's own http)."""
        url = self.url(location)
        found = self._resources.get(url)
        if found is None:
            with self._build_lock:  # one build per URL, different URLs in parallel
                building = self._building.setdefault(url, threading.Lock())
            with building:
                found = self._resources.get(url)
                if found is None:
                    found = self._resources[url] = Collections(self._build(url))
        return found

    def http(self) -> Any:
        """This thread's authorized http (httplib2 connections are not thread-safe)."""
        http = getattr(self._local, "http", None)
        if http is None:
            import google_auth_httplib2
            import httplib2

            http = self._local.http = google_auth_httplib2.AuthorizedHttp(
                self.credentials, http=httplib2.Http(timeout=self.timeout)
            )
        return http

    def _build(self, url: str) -> Any:
        from googleapiclient import discovery

        # Same as discovery.build(API, VERSION, static_discovery=True, cache_discovery=False),
        # without re-reading the shipped document for every base URL.
        return discovery.build_from_document(
            discovery_service(self.api, self.api_version),
            http=self.http(),
            client_options={"api_endpoint": url},
        )

    def execute(
        self,
        location: str,
        what: str,
        build: Callable[[Any], Any],
        *,
        retry: RetryPolicy | None = None,
    ) -> Json:
        """Run the request `build(resource)` at `location`; `what` names the call in errors."""

        def once() -> Json:
            return self.execute_once(location, what, build)

        return retry_mod.call(once, retry or self.retry)

    def execute_once(self, location: str, what: str, build: Callable[[Any], Any]) -> Json:
        """One attempt, no retries; failures become ProviderError."""
        import httplib2
        from google.auth.exceptions import GoogleAuthError
        from googleapiclient.errors import HttpError

        request = build(self.resource(location))
        self.request_limiter.acquire(self.quota_key(location))
        try:
            result = request.execute(http=self.http(), num_retries=0)
        except HttpError as exc:
            raise from_http_error(
                exc, project=self.project, what=what, permission_hint=self.permission_hint
            ) from exc
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise from_transport_error(
                exc, url=self.url(location), emulator=bool(self.emulator), what=what
            ) from exc
        except GoogleAuthError as exc:  # a token refresh mid-run: no network, revoked login
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
            raise ProviderError(
                f"{what}: cannot refresh Google Cloud credentials: {first}; {AUTH_HINT}"
            ) from None
        return result if isinstance(result, dict) else {}


def _page(build: Callable[[Any, Any], Any], resource: Any, token: str | None) -> Any:
    return build(resource, token)


def all_pages(
    client: DiscoveryClient, location: str, what: str, item: str, build: Callable[[Any, Any], Any]
) -> list[Json]:
    """Every `item` of a paged list call: `build(resource, page_token)` is one page's request."""
    items: list[Json] = []
    token: str | None = None
    while True:
        page = client.execute(location, what, functools.partial(_page, build, token=token))
        items.extend(page.get(item, []))
        token = page.get("nextPageToken")
        if not token:
            return items


__all__ = [
    "DiscoveryClient",
    "ProviderError",
    "all_pages",
    "default_credentials",
    "emulator_host",
]
