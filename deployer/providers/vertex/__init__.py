"""The `vertex` provider: Vertex AI (`aiplatform` v1) registry models, endpoints, deployments.

`VertexProvider` (in `provider`) implements `deployer.providers.base.Provider`; it is loaded
lazily so importing this package never pulls in the Google API client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.providers.vertex.provider import VertexProvider

__all__ = ["VertexProvider"]


def __getattr__(name: str) -> Any:
    if name == "VertexProvider":
        from deployer.providers.vertex.provider import VertexProvider

        return VertexProvider
    raise AttributeError(name)
