"""The `aiplatform` v1 discovery client: regional hosts, resource names, paced LROs.

Each region has its own host, `https://REGION-aiplatform.googleapis.com/`; with
AIPLATFORM_EMULATOR_HOST every region goes to the twin's host (paths still name the location).
Threading, credentials, retries of 429/5xx and error lines come from
`deployer.providers.discovery`, shared with the `mlengine` provider.

LRO submissions (upload, deploy, undeploy, mutate, creates and deletes) pass through one
`WindowLimiter` per client, and are waited for with `operations.wait`: the server holds the request
until the operation is done or the wait's timeout ends, so no client-side sleeping is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from deployer.providers import operations
from deployer.providers import retry as retry_mod
from deployer.providers.discovery import UNSET, DiscoveryClient
from deployer.providers.errors import OperationFailed, ProviderError
from deployer.providers.pacing import WindowLimiter
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy
from deployer.providers.vertex import catalog as catalog_vertex

Json = dict[str, Any]

REGIONAL_URL = "https://{region}-aiplatform.googleapis.com/"
VERTEX_PERMISSION_HINT = (
    "the account needs aiplatform.models.* / aiplatform.endpoints.* permissions, e.g. the "
    "'Vertex AI User' role, and the Vertex AI API (aiplatform.googleapis.com) enabled in the "
    "project"
)
OPERATION_TIMEOUT = 45 * 60.0
"""A deployModel takes 5 to 30 minutes on the real service; past this it is given up on."""
WAIT_MIN = 1.0
WAIT_MAX = 30.0
"""Each `operations.wait` asks for the time elapsed so far, between these (seconds)."""

OnMetadata = Callable[[Json], None]


def check_region(region: str) -> None:
    if region not in catalog_vertex.REGIONS:
        raise ProviderError(
            f"unknown region {region!r}: Vertex AI serves {', '.join(catalog_vertex.REGIONS)}"
        )


def region_url(region: str, emulator: str | None = None) -> str:
    check_region(region)
    if emulator:
        return f"{emulator.rstrip('/')}/"
    return REGIONAL_URL.format(region=region)


def wait_seconds(elapsed: float, left: float) -> float:
    """The `operations.wait` timeout: grows with the time already waited, 1 s up to 30 s."""
    return max(0.1, min(WAIT_MAX, max(WAIT_MIN, elapsed), left))


class VertexClient(DiscoveryClient):
    """Calls to the `aiplatform` v1 API of one project, in any region, from many threads."""

    api = "aiplatform"
    api_version = "v1"
    permission_hint = VERTEX_PERMISSION_HINT
    requests_per_minute = catalog_vertex.MAX_REQUESTS_PER_MINUTE

    def __init__(
        self,
        project: str,
        *,
        emulator: str | None = UNSET,
        credentials: Any = None,
        retry: RetryPolicy = DEFAULT_POLICY,
        limiter: WindowLimiter | None = None,
        request_limiter: WindowLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            project,
            emulator=emulator,
            credentials=credentials,
            retry=retry,
            request_limiter=request_limiter,
        )
        self.limiter = limiter or WindowLimiter(catalog_vertex.MAX_LRO_PER_MINUTE)
        self._clock = clock
        self._sleep = sleep

    def url(self, location: str) -> str:
        return region_url(location, self.emulator)

    def quota_key(self, location: str) -> str:
        return location  # Vertex's request quota is per project and region

    # ---- names -------------------------------------------------------------------------------

    def location(self, region: str) -> str:
        return f"projects/{self.project}/locations/{region}"

    def model_name(self, region: str, model: str, version: str | None = None) -> str:
        name = f"{self.location(region)}/models/{model}"
        return f"{name}@{version}" if version else name

    def locations(self, region: str) -> Any:
        """`projects().locations()` of this thread's resource for `region`."""
        return self.resource(region).projects().locations()

    # ---- long-running operations -------------------------------------------------------------

    def submit(self, region: str, what: str, build: Callable[[Any], Any]) -> Json:
        """Start an LRO: paced per region, retried on 429/5xx; the operation it returns."""

        def once() -> Json:
            self.limiter.acquire(region)
            return self.execute_once(region, what, build)

        return retry_mod.call(once, self.retry)

    def wait(
        self,
        region: str,
        operation: Json,
        what: str,
        timeout: float = OPERATION_TIMEOUT,
        on_metadata: OnMetadata | None = None,
    ) -> Json:
        """Block in `operations.wait` until `operation` is done; raise if it ended in error."""
        name = str(operation.get("name", ""))
        ops = self._operations(region, name)
        started = self._clock()
        if on_metadata is not None and operation.get("metadata"):
            on_metadata(operation["metadata"])

        def refresh(current: Json, left: float) -> Json:
            asked = wait_seconds(self._clock() - started, left)
            sent = self._clock()
            newer = self.execute(
                region,
                f"{what}: wait for operation {name}",
                lambda r: ops(r).wait(name=name, timeout=f"{asked:.1f}s"),
            )
            if on_metadata is not None and newer.get("metadata"):
                on_metadata(newer["metadata"])
            if not newer.get("done"):
                # `wait` is best-effort: never spin on a server that answers at once
                self._sleep(max(0.0, min(asked, WAIT_MIN) - (self._clock() - sent)))
            return newer

        return operations.wait_done(operation, what, timeout, refresh, clock=self._clock)

    def run(
        self,
        region: str,
        what: str,
        build: Callable[[Any], Any],
        timeout: float = OPERATION_TIMEOUT,
        on_metadata: OnMetadata | None = None,
    ) -> Json:
        """Submit an LRO and wait for it; the finished operation.

        An operation that ends in an error a synchronous call would retry (RESOURCE_EXHAUSTED,
        INTERNAL, UNAVAILABLE, ...) changed nothing, so it is submitted again under the same
        retry policy; the last error is raised with its code."""

        def once() -> Json:
            return self.wait(region, self.submit(region, what, build), what, timeout, on_metadata)

        return retry_mod.call(
            once,
            self.retry,
            retryable=lambda exc: isinstance(exc, OperationFailed) and exc.retryable,
        )

    @staticmethod
    def _operations(region: str, name: str) -> Callable[[Any], Any]:
        """The `operations` collection an operation's name lives under (its parent's kind)."""
        parts = name.split("/")
        scope = parts[4] if len(parts) > 6 else ""
        if scope == "models":
            return lambda r: r.projects().locations().models().operations()
        if scope == "endpoints":
            return lambda r: r.projects().locations().endpoints().operations()
        return lambda r: r.projects().locations().operations()


class VertexBetaClient(VertexClient):
    """The `aiplatform` v1beta1 surface, for the preview features only (scale to zero, rolling
    updates, and reading their settings back), which a stack asks for with `preview: true`.
    It shares its v1 client's credentials and quotas: the service counts both surfaces in one
    request and LRO quota [INF]."""

    api_version = "v1beta1"

    @classmethod
    def beside(cls, client: VertexClient) -> VertexBetaClient:
        return cls(
            client.project,
            emulator=client.emulator,
            credentials=client.credentials,
            retry=client.retry,
            limiter=client.limiter,
            request_limiter=client.request_limiter,
            clock=client._clock,
            sleep=client._sleep,
        )
