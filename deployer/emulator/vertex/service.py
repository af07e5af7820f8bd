"""The Vertex half's service object: registry and endpoints over the shared store."""

from __future__ import annotations

from deployer.emulator.vertex.endpoints import Endpoints


class VertexService(Endpoints):
    """Every public method is one `aiplatform` v1 call; the worker calls `complete`."""
