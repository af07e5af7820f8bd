"""The `mlengine` backend: AI Platform Prediction (`ml` v1), the first and default one.

Google shut the service down in 2025; the local twin keeps it usable for tests and demos.
Importing this package is cheap: the provider (and the Google API client) is built on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer.core.backend import Backend
from deployer.core.provider import Provider
from deployer.providers.mlengine import catalog, manifest, schemas


def _provider(project: str) -> Provider:
    from deployer.providers.mlengine.provider import MLEngineProvider

    return MLEngineProvider(project)


BACKEND = Backend(
    name="mlengine",
    title="AI Platform Prediction (ml v1)",
    locations=catalog.ENDPOINTS,
    rules=manifest.RULES,
    resources=schemas.RESOURCES,
    provider=_provider,
    access=catalog.ACCESS,
    artifact_limits=manifest.artifact_limits,
    accelerators=catalog.ACCELERATOR_TYPES,
    default=True,
)

if TYPE_CHECKING:
    from deployer.providers.mlengine.provider import MLEngineProvider

__all__ = ["BACKEND", "MLEngineProvider"]


def __getattr__(name: str) -> Any:
    if name == "MLEngineProvider":
        from deployer.providers.mlengine.provider import MLEngineProvider

        return MLEngineProvider
    raise AttributeError(name)
