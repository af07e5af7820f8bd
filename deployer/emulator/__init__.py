"""The local twin of AI Platform Prediction (`ml` v1) and Cloud Storage (DESIGN.md section 8).

`start(data_dir, ...)` runs it in-process and returns a handle; `deployer emulator` runs it as
a command. TensorFlow is imported only when a version is validated or serves a prediction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.emulator.knobs import Knobs
    from deployer.emulator.twin import EmulatorHandle, start

__all__ = ["EmulatorHandle", "Knobs", "start"]


def __getattr__(name: str) -> Any:
    if name in ("start", "EmulatorHandle"):
        from deployer.emulator import twin

        return getattr(twin, name)
    if name == "Knobs":
        from deployer.emulator.knobs import Knobs

        return Knobs
    raise AttributeError(name)
