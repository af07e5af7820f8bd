"""The `mlengine` provider: AI Platform Prediction (`ml` v1).

`MLEngineProvider` (in `provider`) implements `deployer.providers.base.Provider`; it is loaded
lazily so importing this package never pulls in the Google API client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.providers.mlengine.provider import MLEngineProvider

__all__ = ["MLEngineProvider"]


def __getattr__(name: str) -> Any:
    if name == "MLEngineProvider":
        from deployer.providers.mlengine.provider import MLEngineProvider

        return MLEngineProvider
    raise AttributeError(name)
