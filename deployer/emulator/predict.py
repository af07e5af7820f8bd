"""Online prediction in the twin: the service's conventions live in `deployer.artifacts.serving`
(shared with `deployer predict --local`); this module maps its errors to the twin's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deployer.artifacts import serving
from deployer.artifacts.serving import forget, load
from deployer.emulator.apierrors import PredictError
from deployer.emulator.artifacts import ArtifactError
from deployer.providers.mlengine import catalog

MAX_PAYLOAD_BYTES = catalog.MAX_PREDICT_BYTES
"""Online prediction requests are at most 1.5 MiB as sent (the service's own figure)."""

__all__ = ["MAX_PAYLOAD_BYTES", "check_loadable", "forget", "load", "predict"]


def check_loadable(path: Path, uri: str) -> None:
    """ArtifactError unless the SavedModel at `path` loads and has a servable signature."""
    try:
        serving.check_loadable(path, uri)
    except serving.LoadError as exc:
        raise ArtifactError(f"Create Version failed. Model validation failed: {exc}") from None


def predict(path: Path, body: Any) -> dict[str, Any]:
    """Answer a :predict body for the SavedModel at `path`; PredictError on a bad request."""
    try:
        return serving.predict(path, body)
    except serving.PredictError as exc:
        raise PredictError(str(exc)) from None
