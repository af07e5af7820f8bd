"""The `ml` v1 discovery client: endpoints, resource names, and the shared call machinery.

Endpoints: global `https://ml.googleapis.com/`, regional `https://REGION-ml.googleapis.com/`.
With AIPLATFORM_EMULATOR_HOST=http://host:port the twin is used instead (global
`http://host:port/`, region R `http://host:port/R/`). Threading, credentials, retries and error
mapping live in `deployer.providers.discovery`, shared with the `vertex` provider.
"""

from __future__ import annotations

from typing import Any

from deployer.core.resources import ResourceKey
from deployer.providers.discovery import (
    EMULATOR_ENV,
    HTTP_TIMEOUT,
    SCOPES,
    DiscoveryClient,
    default_credentials,
    emulator_host,
)
from deployer.providers.errors import ProviderError
from deployer.providers.mlengine import catalog

GLOBAL_URL = "https://ml.googleapis.com/"
REGIONAL_URL = "https://{region}-ml.googleapis.com/"

Json = dict[str, Any]

__all__ = [
    "EMULATOR_ENV",
    "HTTP_TIMEOUT",
    "SCOPES",
    "MLClient",
    "check_endpoint",
    "default_credentials",
    "emulator_host",
    "endpoint_url",
]


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


def model_path(project: str, key: ResourceKey) -> str:
    return f"projects/{project}/models/{key.model}"


def version_path(project: str, key: ResourceKey) -> str:
    return f"projects/{project}/models/{key.model}/versions/{key.version}"


class MLClient(DiscoveryClient):
    """Calls to the `ml` v1 API of one project, on any endpoint, safe to use from many threads."""

    api = "ml"
    api_version = "v1"
    requests_per_minute = catalog.MAX_REQUESTS_PER_MINUTE

    def url(self, endpoint: str) -> str:
        return endpoint_url(endpoint, self.emulator)

    def _build(self, url: str) -> Any:
        # Credentials first (their own one-line errors), then one short probe per host: an
        # unreachable endpoint is one line in seconds, not minutes of timeouts and retries.
        from deployer.providers.credentials import EnvironmentProblem, check_reachable

        credentials = self.credentials
        try:
            check_reachable(url, "AI Platform Prediction")
        except EnvironmentProblem as exc:
            text = str(exc)
            if self.emulator:
                text = (
                    f"cannot reach the AI Platform twin at {self.emulator}: is `deployer "
                    "emulator` running? (AIPLATFORM_EMULATOR_HOST points there)"
                )
            raise ProviderError(text) from None
        assert credentials is not None
        return super()._build(url)

    # ---- request builders shared by reader and writer ---------------------------------------

    def models(self, endpoint: str) -> Any:
        return self.resource(endpoint).projects().models()

    def parent(self) -> str:
        return f"projects/{self.project}"

    def model_name(self, key: ResourceKey) -> str:
        return model_path(self.project, key)

    def version_name(self, key: ResourceKey) -> str:
        return version_path(self.project, key)
