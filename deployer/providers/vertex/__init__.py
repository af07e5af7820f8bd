"""The `vertex` backend: Vertex AI (`aiplatform` v1) registry models, endpoints, deployments.

Importing this package is cheap: the provider (and the Google API client) is built on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer.core.backend import Backend
from deployer.core.provider import Provider
from deployer.providers.vertex import catalog, manifest, schemas


def _provider(project: str) -> Provider:
    from deployer.providers.vertex.provider import VertexProvider

    return VertexProvider(project)


BACKEND = Backend(
    name="vertex",
    title="Vertex AI (aiplatform v1)",
    locations=catalog.REGIONS,
    rules=manifest.RULES,
    resources=schemas.RESOURCES,
    provider=_provider,
    access=catalog.ACCESS,
    artifact_limits=manifest.artifact_limits,
    accelerators=catalog.ACCELERATOR_TYPES,
    key_name=catalog.alias,
)

if TYPE_CHECKING:
    from deployer.providers.vertex.provider import VertexProvider

__all__ = ["BACKEND", "VertexProvider"]


def __getattr__(name: str) -> Any:
    if name == "VertexProvider":
        from deployer.providers.vertex.provider import VertexProvider

        return VertexProvider
    raise AttributeError(name)
