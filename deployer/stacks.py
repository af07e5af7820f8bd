"""Loading a stack for a run: the manifests, checked with the rules of every known backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deployer.config import loader
from deployer.core.stack import Stack
from deployer.providers import registry


def load_stack(
    path: Path | str,
    environment: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
) -> Stack:
    """Load and validate manifests; raises ManifestError listing every problem found."""
    return loader.load_stack(path, environment, cli_vars, registry.backends())
