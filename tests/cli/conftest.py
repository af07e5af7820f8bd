"""Fixtures of the end-to-end CLI tests: pristine SavedModels, and a fresh manifests repository
per test with its own stack, project and bucket on the shared twin."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cli.helpers import Live, Repo, cli_env


@pytest.fixture(scope="session")
def pristine(
    tmp_path_factory: pytest.TempPathFactory, savedmodel_builder: Callable[..., Path]
) -> dict[str, Path]:
    """Three tiny SavedModels with different bytes: "a", "b" and "c"."""
    root = tmp_path_factory.mktemp("pristine")
    return {name: savedmodel_builder(root / name, 4, 3, seed) for seed, name in enumerate("abc")}


@pytest.fixture
def make_repo(
    tmp_path: Path,
    twin_env: dict[str, str],
    storage_client: Any,
    pristine: dict[str, Path],
) -> Callable[..., Repo]:
    """`make_repo(name="repo") -> Repo` with a fresh stack, project and bucket (created)."""
    project = f"p-{uuid.uuid4().hex[:12]}"
    bucket = storage_client.create_bucket(f"b-{uuid.uuid4().hex[:16]}").name
    env = cli_env(twin_env, tmp_path / "cache")

    def make(name: str = "repo", stack: str | None = None) -> Repo:
        return Repo(
            root=tmp_path / name,
            stack=stack or f"s-{uuid.uuid4().hex[:8]}",
            project=project,
            bucket=bucket,
            env=env,
            artifacts=pristine,
        )

    return make


@pytest.fixture
def repo(make_repo: Callable[..., Repo]) -> Repo:
    return make_repo()


@pytest.fixture
def live(ml_client: Callable[..., Any], repo: Repo) -> Live:
    return Live(ml_client, repo.project)
