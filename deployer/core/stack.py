"""The loaded, validated manifests: what the rest of deployer consumes as the desired state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from deployer.core.diagnostics import Diagnostic, SourceMap
from deployer.core.manifest import ModelSpec, Settings, VersionSpec
from deployer.core.sensitive import Sensitive


@dataclass(frozen=True)
class DeclaredModel:
    """One model entry of a model file, with where it came from."""

    spec: ModelSpec
    file: Path
    source: SourceMap
    index: int
    regions: tuple[str, ...]
    version_indexes: tuple[int, ...] = ()

    def version_index(self, position: int) -> int:
        """Index in the file's `versions` list of the valid version at `position`."""
        return self.version_indexes[position] if self.version_indexes else position

    @property
    def display_file(self) -> str:
        return self.source.file

    def artifact_path(self, version: VersionSpec) -> Path | None:
        """The local directory a version's artifact names, or None for a gs:// URI (or none:
        only a vertex version with a `container` may omit its artifact)."""
        if version.artifact is None or version.artifact.startswith("gs://"):
            return None
        # os.path.realpath, unlike Path.resolve, does not raise on a symlink loop: the loop is
        # then reported where the path is checked or hashed.
        return Path(os.path.realpath(self.file.parent / version.artifact))

    def artifact_source(self, version: VersionSpec) -> str:
        """The key artifacts are known by: the resolved local directory or the gs:// URI.

        Callers skip versions without an artifact (`version.artifact is None`)."""
        if version.artifact is None:
            raise ValueError(f"version '{version.name}' declares no artifact")
        local = self.artifact_path(version)
        return str(local) if local is not None else version.artifact.rstrip("/")


@dataclass(frozen=True)
class Stack:
    """Everything one `deployer` run declares: settings plus the models of every file."""

    root: Path
    name: str
    settings: Settings
    environment: str | None
    models: tuple[DeclaredModel, ...]
    backend: str = ""
    """The settings' backend, or the selected environment's when it sets one, or the default
    backend (resolved by the loader)."""
    warnings: tuple[Diagnostic, ...] = ()
    """Positioned warnings: printed by the commands, they do not fail validation."""
    scope: tuple[str, ...] | None = None
    """With a single model file as PATH, the names of the models it declares: the run plans
    those models only (never deletes the models of the stack's other files). None: all."""

    @property
    def project(self) -> str:
        return self.settings.project

    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({r for m in self.models for r in m.regions}))

    def sensitive_values(self) -> list[Sensitive]:
        """Every sensitive value the manifests hand a container (deployer.core.sensitive)."""
        return [
            value
            for model in self.models
            for version in model.spec.versions
            if version.container is not None
            for value in (*version.container.env.values(), *version.container.args)
            if isinstance(value, Sensitive)
        ]
