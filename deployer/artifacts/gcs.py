"""Cloud Storage access for artifacts: the client, URIs, and digests of gs:// artifacts."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

from deployer.artifacts.digest import ArtifactError, combine
from deployer.core.errors import DeployerError

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


@dataclass(frozen=True)
class GcsUri:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> GcsUri:
        if not uri.startswith("gs://"):
            raise ArtifactError(f"not a gs:// URI: {uri}")
        bucket, _, prefix = uri.removeprefix("gs://").partition("/")
        return cls(bucket, prefix.strip("/"))

    def child(self, *parts: str) -> GcsUri:
        joined = "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))
        return GcsUri(self.bucket, joined)

    def __str__(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}" if self.prefix else f"gs://{self.bucket}"


STORAGE_URL = "https://storage.googleapis.com"


def storage_client(project: str) -> Any:
    """A google-cloud-storage client: the emulator when STORAGE_EMULATOR_HOST is set, else ADC.

    The service is probed first (a few seconds at most), so an unreachable Cloud Storage is one
    line at once instead of the client library's minutes of retries."""
    from google.cloud import storage

    from deployer.providers import credentials as shared

    emulator = os.environ.get(EMULATOR_ENV, "").strip()
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        url = emulator if "://" in emulator else f"http://{emulator}"
        shared.check_reachable(
            url, "the Cloud Storage emulator", f" (is {EMULATOR_ENV}={emulator} right?)"
        )
        return storage.Client(project=project, credentials=AnonymousCredentials())
    shared.note_real_cloud(
        EMULATOR_ENV, shared.AIPLATFORM_EMULATOR_ENV, "Cloud Storage", "storage.googleapis.com"
    )
    credentials = shared.google_credentials(EMULATOR_ENV)
    shared.check_reachable(STORAGE_URL, "Cloud Storage")
    return storage.Client(project=project, credentials=credentials)


def storage_error(exc: Exception, what: str) -> DeployerError:
    """One line for a failed Cloud Storage call."""
    code = getattr(exc, "code", None)
    lines = str(getattr(exc, "message", None) or exc).strip().splitlines()
    message = lines[0] if lines else type(exc).__name__
    if code == 403:
        return DeployerError(f"{what}: permission denied ({message})")
    if code == 404:
        return DeployerError(f"{what}: not found ({message})")
    if type(exc).__name__ in ("RefreshError", "TransportError"):  # google.auth
        return DeployerError(f"{what}: cannot refresh Google Cloud credentials ({message})")
    if isinstance(exc, ConnectionError | OSError) or "Connection refused" in str(exc):
        host = os.environ.get(EMULATOR_ENV, "storage.googleapis.com")
        return DeployerError(f"{what}: cannot reach Cloud Storage at {host}")
    return DeployerError(f"{what}: {message}")


def gcs_digest(client: Any, uri: str) -> str:
    """Digest of the objects under a gs:// prefix, from their stored md5/crc32c (no download)."""
    location = GcsUri.parse(uri)
    prefix = f"{location.prefix}/" if location.prefix else ""
    try:
        blobs = list(client.list_blobs(location.bucket, prefix=prefix))
    except Exception as exc:  # google.api_core errors and transport errors alike
        raise storage_error(exc, f"artifact {uri}") from None
    entries = []
    for blob in blobs:
        rel = blob.name[len(prefix) :]
        if not rel or rel.endswith("/"):
            continue
        content = blob.md5_hash or blob.crc32c or ""
        if content:
            content = base64.b64decode(content).hex()
        entries.append((rel, f"{content}:{blob.size}"))
    if not entries:
        raise ArtifactError(f"artifact {uri} holds no objects")
    return combine(entries)
