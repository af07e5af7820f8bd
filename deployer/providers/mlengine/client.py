"""The `ml` v1 discovery client, one per endpoint and thread, and the one place calls execute.

Endpoints: global `https://ml.googleapis.com/`, regional `https://REGION-ml.googleapis.com/`.
With AIPLATFORM_EMULATOR_HOST=http://host:port the twin is used instead (global
`http://host:port/`, region R `http://host:port/R/`) with anonymous credentials; deployer never
falls back to it silently. googleapiclient is imported only when a client is built, so
`deployer --help` and `deployer validate` never load it.

httplib2 connections are not thread-safe: each thread gets its own discovery resource (and
authorized http) per endpoint, cached in a `threading.local`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from deployer import catalog
from deployer.errors import DeployerError
from deployer.providers import retry as retry_mod
from deployer.providers.mlengine.errors import (
    AUTH_HINT,
    ProviderError,
    from_http_error,
    from_transport_error,
)
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy
from deployer.providers.schema import ResourceKey

EMULATOR_ENV = "AIPLATFORM_EMULATOR_HOST"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
HTTP_TIMEOUT = 60.0
GLOBAL_URL = "https://ml.googleapis.com/"
REGIONAL_URL = "https://{region}-ml.googleapis.com/"

Json = dict[str, Any]


def emulator_host(environ: Mapping[str, str] | None = None) -> str | None:
    """The twin's base URL from AIPLATFORM_EMULATOR_HOST (`http://` added if missing), or None."""
    value = (environ if environ is not None else os.environ).get(EMULATOR_ENV, "").strip()
    if not value:
        return None
    if "://" not in value:
        value = f"http://{value}"
    return value.rstrip("/")


def check_endpoint(endpoint: str) -> None:
    if endpoint not in catalog.ENDPOINTS:
        raise ProviderError(
            f"unknown region {endpoint!r}: AI Platform Prediction has the 'global' endpoint and "
            f"regional endpoints {', '.join(catalog.REGIONAL_ENDPOINTS)}"
        )


def endpoint_url(endpoint: str, emulator: str | None = None) -> str:
    """The `api_endpoint` for "global" or a region, on Google or on the twin at `emulator`."""
    check_endpoint(endpoint)
    if emulator:
        base = emulator.rstrip("/")
        return f"{base}/" if endpoint == catalog.GLOBAL else f"{base}/{endpoint}/"
    return GLOBAL_URL if endpoint == catalog.GLOBAL else REGIONAL_URL.format(region=endpoint)


def default_credentials(emulator: str | None) -> Any:
    """Anonymous credentials for the twin, else Application Default Credentials."""
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise DeployerError(f"no Google Cloud credentials found: {AUTH_HINT}") from None
    return credentials


def model_path(project: str, key: ResourceKey) -> str:
    return f"projects/{project}/models/{key.model}"


def version_path(project: str, key: ResourceKey) -> str:
    return f"projects/{project}/models/{key.model}/versions/{key.version}"


_UNSET: Any = object()


@functools.cache
def _discovery_document() -> str:
    """The `ml` v1 discovery document shipped with google-api-python-client."""
    from googleapiclient.discovery_cache import get_static_doc

    doc = get_static_doc("ml", "v1")
    if doc is None:
        raise DeployerError("google-api-python-client ships no `ml` v1 discovery document")
    return doc


class MLClient:
    """Calls to the `ml` v1 API of one project, on any endpoint, safe to use from many threads.

    `execute(endpoint, what, build)` runs `build(resource)` (a discovery request) with retries
    of 429/5xx answers and transport hiccups, and raises ProviderError with one clear line.
    """

    def __init__(
        self,
        project: str,
        *,
        emulator: str | None = _UNSET,
        credentials: Any = None,
        timeout: float = HTTP_TIMEOUT,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.project = project
        self.emulator = emulator_host() if emulator is _UNSET else emulator
        self.timeout = timeout
        self.retry = retry
        self._credentials = credentials
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def credentials(self) -> Any:
        with self._lock:
            if self._credentials is None:
                self._credentials = default_credentials(self.emulator)
            return self._credentials

    def url(self, endpoint: str) -> str:
        return endpoint_url(endpoint, self.emulator)

    def resource(self, endpoint: str) -> Any:
        """This thread's discovery resource for `endpoint` (built on first use)."""
        cache: dict[str, Any] | None = getattr(self._local, "resources", None)
        if cache is None:
            cache = self._local.resources = {}
        if endpoint not in cache:
            cache[endpoint] = self._build(endpoint)
        return cache[endpoint]

    def _build(self, endpoint: str) -> Any:
        url = self.url(endpoint)
        import google_auth_httplib2
        import httplib2
        from googleapiclient import discovery

        http = google_auth_httplib2.AuthorizedHttp(
            self.credentials, http=httplib2.Http(timeout=self.timeout)
        )
        # Same as discovery.build("ml", "v1", static_discovery=True, cache_discovery=False),
        # without re-reading the shipped document for every thread and endpoint.
        return discovery.build_from_document(
            _discovery_document(), http=http, client_options={"api_endpoint": url}
        )

    def execute(
        self,
        endpoint: str,
        what: str,
        build: Callable[[Any], Any],
        *,
        retry: RetryPolicy | None = None,
    ) -> Json:
        """Run the request `build(resource)` on `endpoint`; `what` names the call in errors."""

        def once() -> Json:
            return self.execute_once(endpoint, what, build)

        return retry_mod.call(once, retry or self.retry)

    def execute_once(self, endpoint: str, what: str, build: Callable[[Any], Any]) -> Json:
        """One attempt, no retries; failures become ProviderError."""
        import httplib2
        from googleapiclient.errors import HttpError

        request = build(self.resource(endpoint))
        try:
            result = request.execute(num_retries=0)
        except HttpError as exc:
            raise from_http_error(exc, project=self.project, what=what) from exc
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise from_transport_error(
                exc, url=self.url(endpoint), emulator=bool(self.emulator), what=what
            ) from exc
        return result if isinstance(result, dict) else {}

    # ---- request builders shared by reader and writer ---------------------------------------

    def models(self, endpoint: str) -> Any:
        return self.resource(endpoint).projects().models()

    def parent(self) -> str:
        return f"projects/{self.project}"

    def model_name(self, key: ResourceKey) -> str:
        return model_path(self.project, key)

    def version_name(self, key: ResourceKey) -> str:
        return version_path(self.project, key)
