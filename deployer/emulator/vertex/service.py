"""The Vertex half's service object: registry, endpoints and resource pools over the shared
store."""

from __future__ import annotations

from deployer.emulator.vertex.pools import Pools


class VertexService(Pools):
    """Every public method is one `aiplatform` v1 (or v1beta1) call; the worker calls
    `complete`."""
