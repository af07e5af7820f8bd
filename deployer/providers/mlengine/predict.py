"""Online prediction against a deployed model or version (`projects.predict`)."""

from __future__ import annotations

from typing import Any

from deployer.core.resources import ResourceKey
from deployer.providers.mlengine.client import MLClient


def predict(client: MLClient, key: ResourceKey, body: dict[str, Any]) -> dict[str, Any]:
    """Send `{"instances": [...]}` to a version (or the model's default version)."""
    name = client.version_name(key) if key.version else client.model_name(key)
    return client.execute(
        key.endpoint,
        f"predict on {key.address}",
        lambda r: r.projects().predict(name=name, body=body),
    )
