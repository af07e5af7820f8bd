"""Copying a version's artifact out of Cloud Storage at create time, and checking its files."""

from __future__ import annotations

import shutil
import urllib.error
from pathlib import Path

from deployer.emulator.gcs import GcsReader
from deployer.emulator.rules import FILES_LIMIT, SIZE_LIMIT
from deployer.providers.mlengine import catalog

FRAMEWORK_FILES: dict[str, tuple[str, ...]] = {
    "TENSORFLOW": ("saved_model.pb",),
    "SCIKIT_LEARN": ("model.joblib", "model.pkl"),
    "XGBOOST": ("model.bst", "model.joblib", "model.pkl"),
}


class ArtifactError(Exception):
    """The artifact cannot serve; the message becomes the version's errorMessage."""


def split_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("gs://") :]
    bucket, _, prefix = rest.partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def check_limits(reader: GcsReader, uri: str, machine_type: str) -> None:
    """What `versions.create` itself refuses (400, before any operation): an artifact with more
    than FILES_LIMIT files or over the machine type's size limit. Anything unreadable is left
    to the copy, which ends the version FAILED as before."""
    if reader.url is None:
        return
    bucket, prefix = split_uri(uri)
    try:
        objects = [(n, size) for n, size in reader.list(bucket, prefix) if not n.endswith("/")]
    except (FileNotFoundError, urllib.error.URLError, OSError):
        return
    field = "version.deployment_uri"
    if len(objects) > FILES_LIMIT:
        raise ArtifactError(
            f"Field: {field} Error: The model directory {uri} holds {len(objects)} files; at "
            f"most {FILES_LIMIT} are allowed."
        )
    limit = SIZE_LIMIT["n1" if catalog.is_n1(machine_type) else "mls1"]
    total = sum(size for _, size in objects)
    if total > limit:
        raise ArtifactError(
            f"Field: {field} Error: The model at {uri} is {total} bytes; machine type "
            f"{machine_type} allows at most {limit} bytes."
        )


def copy_artifact(
    reader: GcsReader,
    uri: str,
    dest: Path,
    machine_type: str = "",
    *,
    field: str = "version.deployment_uri",
    size_limit: int | None = None,
) -> None:
    """Copy every object under `uri` into `dest`; ArtifactError when it cannot be read.
    `size_limit` defaults to the ml v1 limit of `machine_type`; `field` names the request field
    in the messages (Vertex: `model.artifact_uri`)."""
    if reader.url is None:
        raise ArtifactError(
            f"Field: {field} Error: Cannot read {uri}: the twin has no Cloud "
            "Storage emulator (started with --no-gcs and no STORAGE_EMULATOR_HOST)."
        )
    bucket, prefix = split_uri(uri)
    if dest.exists():
        shutil.rmtree(dest)
    try:
        objects = list(reader.list(bucket, prefix))
    except FileNotFoundError:
        raise ArtifactError(
            f"Field: {field} Error: The bucket {bucket!r} of {uri} does not exist."
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ArtifactError(f"Field: {field} Error: Cannot read {uri}: {exc}") from None
    objects = [(name, size) for name, size in objects if not name.endswith("/")]
    if not objects:
        raise ArtifactError(
            f"Field: {field} Error: The provided URI for model files doesn't "
            f"contain any objects: {uri}"
        )
    if len(objects) > FILES_LIMIT:
        raise ArtifactError(
            f"Field: {field} Error: The model directory {uri} holds "
            f"{len(objects)} files; at most {FILES_LIMIT} are allowed."
        )
    limit = size_limit or SIZE_LIMIT["n1" if catalog.is_n1(machine_type) else "mls1"]
    total = sum(size for _, size in objects)
    if total > limit:
        raise ArtifactError(
            f"Field: {field} Error: The model at {uri} is {total} bytes; "
            f"{'machine type ' + machine_type if machine_type else 'the service'} allows at "
            f"most {limit} bytes."
        )
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for name, _ in objects:
            relative = name[len(prefix) :]
            target = (tmp / relative).resolve()
            if not str(target).startswith(str(tmp.resolve())):
                continue
            reader.download(bucket, name, target)
    except (urllib.error.URLError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArtifactError(f"Field: {field} Error: Cannot read {uri}: {exc}") from None
    tmp.rename(dest)


def check_files(path: Path, framework: str, uri: str) -> None:
    """ArtifactError unless the copied directory holds the framework's model file."""
    wanted = FRAMEWORK_FILES.get(framework, ())
    if wanted and not any((path / name).is_file() for name in wanted):
        if framework == "TENSORFLOW":
            raise ArtifactError(
                "Create Version failed. Model validation failed: Could not find a "
                f"saved_model.pb file in {uri}; a TensorFlow SavedModel directory is required."
            )
        raise ArtifactError(
            f"Create Version failed. Model validation failed: {uri} must contain one of: "
            f"{', '.join(wanted)}."
        )
