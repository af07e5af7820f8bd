"""`MLEngineProvider`: the `mlengine` backend behind the `Provider` protocol."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from deployer.core.errors import UsageError
from deployer.core.model import ResourceModel
from deployer.core.provider import Answer
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.core.stack import Stack
from deployer.providers.adoption import ImportsThrough
from deployer.providers.errors import ProviderError
from deployer.providers.mlengine import catalog, schemas, state
from deployer.providers.mlengine.client import MLClient
from deployer.providers.mlengine.reader import read_state
from deployer.providers.mlengine.writer import OPERATION_TIMEOUT, MLEngineWriter
from deployer.providers.pacing import READ_PARALLELISM
from deployer.providers.retry import DEFAULT_POLICY, RetryPolicy

if TYPE_CHECKING:
    from deployer.accounting.footprint import Deployment

APPLY_PARALLELISM = catalog.MAX_CONCURRENT_VERSION_OPS
"""At most 10 version operations run at once per project: more threads would only queue."""


class MLEngineProvider(ImportsThrough):
    """AI Platform Prediction (`ml` v1) for one project.

    The client is built lazily per thread, so constructing a provider costs nothing and imports
    no Google client code. Pass `client` to share one (tests, a custom retry policy).
    """

    name = "mlengine"
    apply_parallelism = APPLY_PARALLELISM

    def __init__(
        self,
        project: str,
        *,
        client: MLClient | None = None,
        parallelism: int = READ_PARALLELISM,
        retry: RetryPolicy = DEFAULT_POLICY,
        operation_timeout: float = OPERATION_TIMEOUT,
    ) -> None:
        self.project = project
        self.client = client or MLClient(project, retry=retry)
        self.parallelism = parallelism
        self.writer = MLEngineWriter(self.client, operation_timeout=operation_timeout)

    @property
    def model(self) -> ResourceModel:
        return schemas.RESOURCES

    def desired(self, stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
        return state.desired_resources(stack, digests)

    def read(self, endpoints: Iterable[str], stack: str | None = None) -> list[ObservedResource]:
        return read_state(self.project, endpoints, stack, self.parallelism, client=self.client)

    def deployment(self, key: ResourceKey, fields: Mapping[str, Any]) -> Deployment | None:
        """A version's nodes (deployer.accounting.capabilities.Metered); ml v1 has no public
        serving quota to read and no price catalog any more (prices come from a prices file)."""
        from deployer.providers.mlengine.footprint import of_resource

        return of_resource(key, fields)

    def create(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        if key.version is None:
            return self.writer.create_model(key, fields, labels, spec)
        return self.writer.create_version(key, fields, labels, spec)

    def update(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        if key.version is None:
            return self.writer.patch_model(key, mask, fields, labels, spec)
        return self.writer.patch_version(key, mask, fields, labels, spec)

    def delete(self, key: ResourceKey) -> None:
        if key.version is None:
            self.writer.delete_model(key)
        else:
            self.writer.delete_version(key)

    def reroute(self, key: ResourceKey, path: str, value: Any) -> None:
        if path != schemas.DEFAULT_VERSION.path:
            raise ValueError(f"ml v1 has no routing {path!r}")
        self.writer.set_default(key)

    def wait_settled(self, key: ResourceKey) -> ObservedResource | None:
        return self.writer.wait_settled(key)

    def predict(
        self, location: str, model: str, version: str | None, body: Mapping[str, Any]
    ) -> Answer:
        """`models:predict` (its default version) or `versions:predict`."""
        import json

        from deployer.providers.mlengine.predict import predict

        size = len(json.dumps(body).encode("utf-8"))
        if size > catalog.MAX_PREDICT_BYTES:
            raise UsageError(
                f"--instances: the request is {size:,} bytes, over the "
                f"{catalog.MAX_PREDICT_BYTES:,}-byte limit of online prediction; send fewer "
                "instances per call"
            )
        answer = predict(self.client, ResourceKey(location, model, version or None), dict(body))
        return Answer(list(answer.get("predictions", [])))

    def smoke(self, key: ResourceKey, instances: list[Any]) -> list[Any]:
        """Call the version directly (`versions/V:predict`), before it is the default."""
        from deployer.providers.mlengine.predict import predict

        if key.version is None:
            raise ValueError(f"{key.address}: a smoke test calls a version")
        answer = predict(self.client, key, {"instances": instances})
        return list(answer.get("predictions", []))

    def importer(self) -> ModuleType:
        from deployer.providers.mlengine import importer

        return importer

    def adopt(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        desired: Sequence[DesiredResource],
        origin: Mapping[str, str],
        specs: Mapping[ResourceKey, str],
    ) -> list[str]:
        """Label one live model and its declared versions as the stack's (`deployer import`):
        the versions first, the model last, so a refusal leaves the model unmanaged."""
        notes: list[str] = []
        for resource in sorted(desired, key=lambda d: (d.key.version is None, d.key)):
            key = resource.key
            try:
                if key.version is None:
                    self.writer.patch_model(
                        key, ["labels"], resource.fields, resource.labels, specs[key]
                    )
                else:
                    self.writer.patch_version(
                        key, ["labels"], resource.fields, resource.labels, specs[key]
                    )
            except ProviderError as exc:
                machine = str(resource.fields.get("machineType", ""))
                if exc.status == 400 and (machine.startswith("mls1-") or key.version is None):
                    raise ProviderError(
                        f"cannot adopt {key.address}: the service refuses labels on it "
                        f"({exc.message or exc}); labels are not supported on mls1-* (legacy "
                        "global endpoint) resources, so deployer cannot own it: declare a new "
                        "model or version on a regional endpoint (n1-*) instead"
                    ) from exc
                raise
            notes.append(
                f"{key.address}: labelled as stack {resource.labels.get('deployer-stack')}"
            )
        return notes
