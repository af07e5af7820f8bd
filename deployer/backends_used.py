"""Which backends a stack has resources on, so switching `backend:` leaves nothing forgotten.

A plan reads only the backend the stack names now. When a stack moves (`backend: vertex` after
`mlengine`), what it created on the old backend keeps running, and billing, out of reach of its
plans and of `destroy` (issue 19). So an apply marks the backend it writes to with an empty
object `<artifacts>/.deployer/backends/<stack>/<backend>`, a destroy that leaves nothing removes
the mark, and every plan lists the marks (one Cloud Storage list call): a marked backend other
than the current one is read for this stack's resources, and the plan warns about what it finds
there, naming the command that deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deployer.artifacts.gcs import GcsUri
from deployer.core import ownership
from deployer.core.errors import DeployerError
from deployer.core.stack import Stack
from deployer.providers import registry

PREFIX = ".deployer/backends"


def _location(artifacts: str, stack: str) -> GcsUri:
    return GcsUri.parse(artifacts).child(PREFIX, stack)


def mark(storage: Any, artifacts: str, stack: str, backend: str) -> None:
    """Record that `stack` writes to `backend` (before it does)."""
    uri = _location(artifacts, stack).child(backend)
    storage.bucket(uri.bucket).blob(uri.prefix).upload_from_string(b"")


def unmark(storage: Any, artifacts: str, stack: str, backend: str) -> None:
    """`stack` has nothing left on `backend` (a destroy completed)."""
    uri = _location(artifacts, stack).child(backend)
    try:
        storage.bucket(uri.bucket).blob(uri.prefix).delete()
    except Exception as exc:
        if getattr(exc, "code", None) != 404:
            raise


def used(storage: Any, artifacts: str, stack: str) -> set[str]:
    location = _location(artifacts, stack)
    blobs = storage.list_blobs(location.bucket, prefix=location.prefix + "/")
    return {b.name.rsplit("/", 1)[-1] for b in blobs}


def left_behind(stack: Stack, current: str, storage: Callable[[], Any] | None = None) -> list[str]:
    """One warning per other backend that still holds models of `stack`. Best effort: a bucket
    that cannot be read, or a backend that no longer answers, says nothing."""
    from deployer.artifacts.gcs import storage_client

    try:
        client = storage() if storage is not None else storage_client(stack.project)
        marked = used(client, stack.settings.artifacts, stack.name) - {current}
    except Exception:
        return []
    warnings = []
    for name in sorted(marked):
        backend = registry.backends().get(name)
        if backend is None:
            continue
        try:
            live = backend.provider(stack.project).read(backend.locations, stack.name)
        except DeployerError:
            continue
        models = sorted(
            r.key.address
            for r in live
            if r.key.version is None
            and r.key.kind == "model"
            and ownership.owned_by(r.labels, stack.name)
        )
        if models:
            shown = ", ".join(models[:5]) + (
                f" and {len(models) - 5} more" if len(models) > 5 else ""
            )
            warnings.append(
                f"stack '{stack.name}' still has {len(models)} model(s) on backend {name} "
                f"({shown}), which plans for backend {current} do not manage: they keep running "
                f"and billing; delete them with `deployer destroy {_path(stack)} --backend {name}`"
            )
    return warnings


def _path(stack: Stack) -> str:
    import os

    root = os.path.relpath(stack.root)
    return root if not root.startswith("..") else str(stack.root)
