"""Content-addressed uploads of local artifact directories to Cloud Storage.

Files go to `<artifacts>/<model>/<digest>/`; a marker object `<digest>.complete` beside that prefix
is written only after every file is in place. A prefix without its marker is never used as a
deploymentUri, and a prefix with it is never uploaded again.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from deployer.artifacts.digest import list_files
from deployer.artifacts.gcs import GcsUri, storage_error

MARKER_SUFFIX = ".complete"
Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) as the files' bytes are read for upload."""


def marker_uri(dest: GcsUri) -> GcsUri:
    return GcsUri(dest.bucket, dest.prefix + MARKER_SUFFIX)


def is_uploaded(client: Any, dest: GcsUri) -> bool:
    marker = marker_uri(dest)
    try:
        return bool(client.bucket(marker.bucket).blob(marker.prefix).exists())
    except Exception as exc:
        raise storage_error(exc, f"checking {marker}") from None


CHUNK_BYTES = 64 * 1024 * 1024
"""Resumable-upload chunk of a large file (the library's default is 100 MiB): progress moves
every 64 MiB (8 steps for 500 MB), and an interrupted chunk costs little to resend."""


class _Counting:
    """A file read for upload that reports its bytes as the library reads them (and takes
    them back when the library rewinds to resend a chunk)."""

    def __init__(self, handle: BinaryIO, advance: Callable[[int], None]) -> None:
        self._handle = handle
        self._advance = advance

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        before = self._handle.tell()
        after = self._handle.seek(offset, whence)
        if after < before:
            self._advance(after - before)
        return after

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._advance(len(data))
        return data


def upload_directory(
    client: Any,
    source: Path,
    dest: GcsUri,
    digest: str,
    parallelism: int = 8,
    progress: Progress | None = None,
) -> bool:
    """Upload `source` under `dest` unless its marker exists; returns True if it uploaded.

    Files go up on `parallelism` threads (measured against google-cloud-storage's
    `transfer_manager` in bench/artifacts.py: the same speed, and this way each file's bytes
    can be counted as they are read, so a single 500 MB file shows progress too)."""
    if is_uploaded(client, dest):
        return False
    files = list_files(source)
    total = sum(f.stat().st_size for _, f in files)
    done = 0
    guard = threading.Lock()
    bucket = client.bucket(dest.bucket)

    def advance(count: int) -> None:
        nonlocal done
        with guard:
            done += count
            current = done
        if progress and count > 0:
            progress(min(current, total), total)

    def put(item: tuple[str, Path]) -> None:
        rel, file = item
        size = file.stat().st_size
        blob = bucket.blob(dest.child(rel).prefix, chunk_size=CHUNK_BYTES)
        with file.open("rb") as handle:
            blob.upload_from_file(
                _Counting(handle, advance), size=size, checksum="crc32c", rewind=False
            )

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            list(pool.map(put, files))
        if progress and not files:
            progress(0, 0)
        marker = marker_uri(dest)
        body = {
            "digest": digest,
            "files": len(files),
            "bytes": total,
            "source": str(source),
            "uploaded_by": socket.gethostname(),
            "uploaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        bucket.blob(marker.prefix).upload_from_string(
            json.dumps(body, indent=2), content_type="application/json"
        )
    except Exception as exc:
        raise storage_error(exc, f"uploading {source} to {dest}") from None
    return True
