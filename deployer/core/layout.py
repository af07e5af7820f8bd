"""Where artifacts live: local directories are uploaded content-addressed under the stack's
`artifacts` URI (DESIGN.md section 7), so the same bytes are stored once and a version names
exactly the bytes it was planned with."""

from __future__ import annotations

from deployer.core.manifest import VersionSpec
from deployer.core.stack import DeclaredModel, Stack


def destination(artifacts_uri: str, model: str, digest: str) -> str:
    """Where a local artifact is uploaded: content-addressed under the stack's `artifacts`."""
    return f"{artifacts_uri.rstrip('/')}/{model}/{digest}"


def artifact_uri(stack: Stack, model: DeclaredModel, version: VersionSpec, digest: str) -> str:
    """Where the version's artifact lives: content-addressed under `artifacts` for local dirs."""
    if version.artifact is not None and version.artifact.startswith("gs://"):
        return version.artifact.rstrip("/")
    return destination(stack.settings.artifacts, model.spec.name, digest)
