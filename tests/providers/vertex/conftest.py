"""Fixtures for the vertex provider tests: a client and provider bound to the session twin and a
fresh project, plus the resource fields the writes take."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.providers.pacing import UNLIMITED
from deployer.providers.retry import RetryPolicy
from deployer.providers.vertex.client import VertexClient
from deployer.providers.vertex.provider import VertexProvider

# Retries as in production, but with short waits (the twin's 429s say Retry-After: 1).
FAST_RETRY = RetryPolicy(attempts=10, initial_delay=0.01, max_delay=0.05, deadline=30.0)


@pytest.fixture
def vclient(twin: Any, project: str) -> VertexClient:
    return VertexClient(
        project, emulator=twin.url, retry=FAST_RETRY, limiter=UNLIMITED, request_limiter=UNLIMITED
    )


@pytest.fixture
def vprovider(vclient: VertexClient) -> VertexProvider:
    return VertexProvider(
        vclient.project, client=vclient, stack="vision", operation_timeout=60.0,
        settle_timeout=20.0,
    )  # fmt: skip
