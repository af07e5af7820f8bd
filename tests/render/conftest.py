"""Fixtures for the renderer tests; the plans themselves live in plans.py."""

from __future__ import annotations

import pytest

from deployer.core.plan import Plan
from render.plans import full_plan


@pytest.fixture
def plan() -> Plan:
    return full_plan()


@pytest.fixture
def empty_plan() -> Plan:
    return Plan(stack="prod", project="acme-ml", fingerprint="0" * 64, backend="mlengine")
