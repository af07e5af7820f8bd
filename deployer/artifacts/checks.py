"""Artifact checks: what the service would refuse or serve wrongly, found before any upload.

Run by `deployer validate --artifacts` and by `plan` / `apply` (before anything is uploaded).
No TensorFlow: the SavedModel's signatures are read from `saved_model.pb` directly
(`deployer.artifacts.savedmodel`); gs:// artifacts are listed and their `saved_model.pb` read.
Each problem is one line at the version's `artifact` position: the file, what is wrong, the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.artifacts import savedmodel
from deployer.core.backend import ArtifactLimits as Limits
from deployer.core.diagnostics import Diagnostic, Diagnostics, display_path
from deployer.core.manifest import VersionSpec
from deployer.core.stack import DeclaredModel, Stack

MODEL_FILES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("model.joblib", "model.pkl"),
    "xgboost": ("model.bst", "model.joblib", "model.pkl"),
}
"""What the prebuilt scikit-learn and XGBoost servers load, at the top of the directory."""


@dataclass(frozen=True)
class Files:
    """An artifact's files: relative paths with their sizes, and a way to read one."""

    where: str
    """The artifact as the user wrote or sees it: a display path or a gs:// URI."""
    sizes: dict[str, int]
    read: Callable[[str], bytes]

    def display(self, name: str) -> str:
        return f"{self.where.rstrip('/')}/{name}"


def local_files(path: Path) -> Files:
    sizes: dict[str, int] = {}
    for dirpath, _, names in os.walk(path):
        for name in names:
            full = Path(dirpath) / name
            sizes[full.relative_to(path).as_posix()] = full.stat().st_size
    return Files(display_path(path), sizes, lambda name: _read_regular(path / name))


def _read_regular(file: Path) -> bytes:
    """A regular file's bytes (a FIFO named saved_model.pb would block a plain read)."""
    import stat

    with open(file, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK)) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise savedmodel.SavedModelError("not a regular file")
        return handle.read()


def too_big(files: Files, name: str = "saved_model.pb") -> str | None:
    """Why `name` cannot be a protobuf at all (over 2 GiB), decided by its size, unread."""
    size = files.sizes.get(name, 0)
    if size <= savedmodel.MAX_PROTO_BYTES:
        return None
    return (
        f"{files.display(name)} is {_size(size)}, over the 2 GiB every protobuf must stay under, "
        "so no TensorFlow can load it: keep the weights in variables/ (tf.saved_model.save "
        "does), not as constants in the graph"
    )


def gcs_files(client: Any, uri: str) -> Files:
    from deployer.artifacts.gcs import GcsUri, storage_error

    parsed = GcsUri.parse(uri)
    prefix = f"{parsed.prefix}/" if parsed.prefix else ""
    try:
        blobs = list(client.list_blobs(parsed.bucket, prefix=prefix))
    except Exception as exc:  # google.api_core errors: one line
        raise storage_error(exc, f"listing {uri}") from None
    sizes = {b.name[len(prefix) :]: int(b.size or 0) for b in blobs if not b.name.endswith("/")}

    def read(name: str) -> bytes:
        try:
            return client.bucket(parsed.bucket).blob(prefix + name).download_as_bytes()
        except Exception as exc:
            raise storage_error(exc, f"reading {uri}/{name}") from None

    return Files(uri.rstrip("/"), sizes, read)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def tensorflow_problems(files: Files) -> list[str]:
    """What keeps the service from loading and serving the SavedModel, with the fix."""
    pb = "saved_model.pb"
    if pb not in files.sizes:
        return [
            f"{files.display(pb)} not found: a TensorFlow version needs a SavedModel directory; "
            "export it with tf.saved_model.save(model, DIR) and point 'artifact' at DIR"
        ]
    where = files.display(pb)
    oversized = too_big(files)
    if oversized:
        return [oversized]
    try:
        graphs = savedmodel.parse(files.read(pb))
    except savedmodel.SavedModelError as exc:
        return [
            f"{where} is not a SavedModel protobuf ({exc}): re-export it with "
            "tf.saved_model.save(model, DIR)"
        ]
    graph = savedmodel.serving_graph(graphs)
    if graph is None:
        tags = ", ".join(sorted({t for g in graphs for t in g.tags})) or "none"
        return [
            f"{where} has no meta graph tagged 'serve' (tags: {tags}), which the service "
            "loads: export it with tf.saved_model.save, which tags it 'serve'"
        ]
    signatures = savedmodel.public_signatures(graph)
    chosen = savedmodel.chosen_signature(signatures)
    if chosen is None:
        names = ", ".join(signatures) or "none"
        return [
            f"{where} has no signature the service would pick (it takes the only one, else "
            f"'serving_default'; found: {names}): export with "
            "signatures={'serving_default': ...}"
        ]
    problems = []
    signature = signatures[chosen]
    for role, tensors in (("input", signature.inputs), ("output", signature.outputs)):
        for tensor in tensors:
            if not tensor.batched:
                problems.append(
                    f"{where}: {role} '{tensor.alias}' of signature '{chosen}' has shape "
                    f"{tensor.shape_text()}; the service needs a leading batch dimension of -1: "
                    "export it with a shape starting with None, e.g. "
                    "tf.TensorSpec([None, ...])"
                )
    return problems


def problems(files: Files, framework: str, limits: Limits) -> list[str]:
    """Every problem of one artifact, for one framework and the limits it must fit."""
    found: list[str] = []
    if not files.sizes:
        return [f"{files.where} holds no files: point 'artifact' at the exported model"]
    if limits.files is not None and len(files.sizes) > limits.files:
        found.append(
            f"{files.where} holds {len(files.sizes)} files; the service allows at most "
            f"{limits.files}: remove the files the model does not need"
        )
    total = sum(files.sizes.values())
    if total > limits.size:
        found.append(
            f"{files.where} is {_size(total)}; {limits.size_owner} allows at most "
            f"{_size(limits.size)}: {limits.size_fix}"
        )
    if framework == "tensorflow":
        found.extend(tensorflow_problems(files))
    elif framework in MODEL_FILES:
        wanted = MODEL_FILES[framework]
        present = [name for name in wanted if name in files.sizes]
        if not present:
            found.append(
                f"{files.where} has no {' or '.join(wanted)}: the {framework} server loads the "
                f"model from one of these names at the top of the directory; save it as "
                f"{wanted[0]}"
            )
        elif limits.one_model_file and len(present) > 1:
            found.append(
                f"{files.where} holds {' and '.join(present)}: {limits.one_model_file}'s prebuilt "
                f"{framework} "
                "server needs exactly one model file (the upload fails FAILED_PRECONDITION): "
                "keep one"
            )
    return found


def check_stack(
    stack: Stack,
    limits_for: Callable[[DeclaredModel, VersionSpec], Limits],
    storage: Callable[[], Any] | None = None,
) -> list[Diagnostic]:
    """A positioned error per problem of every declared artifact (each listed once), against
    the limits the stack's backend sets (`Backend.artifact_limits`).

    `storage` makes a Cloud Storage client, called only when a gs:// artifact is declared."""
    from deployer.artifacts.gcs import storage_client

    diags = Diagnostics()
    listings: dict[str, Files] = {}
    client: Any = None
    for model in stack.models:
        for i, version in enumerate(model.spec.versions):
            if version.artifact is None or version.container is not None:
                continue
            path = ("models", model.index, "versions", model.version_index(i), "artifact")
            position = model.source.value(path)
            source = model.artifact_source(version)
            if source not in listings:
                if source.startswith("gs://"):
                    if client is None:
                        client = (storage or (lambda: storage_client(stack.project)))()
                    listings[source] = gcs_files(client, source)
                else:
                    listings[source] = local_files(Path(source))
            limits = limits_for(model, version)
            for problem in problems(listings[source], version.framework, limits):
                diags.add(model.display_file, position, f"version '{version.name}': {problem}")
    return diags.sorted()
