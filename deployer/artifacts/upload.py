"""Content-addressed uploads of local artifact directories to Cloud Storage.

Files go to `<artifacts>/<model>/<digest>/`; a marker object `<digest>.complete` beside that prefix
is written only after every file is in place. A prefix without its marker is never used as a
deploymentUri, and a prefix with it is never uploaded again.

The digest is the plan's, computed before the upload; the bytes may change in between (while
apply waits for "yes", or at any time during a long run). So what is uploaded is checked against
the digest: first the directory's file list and cached hashes (a stat per file when nothing
changed), then each file's bytes are hashed as the upload reads them and compared with the
planned hash before the last of them is sent, so a changed file never becomes an object. On a
mismatch every object this upload wrote is deleted and no marker is written: nothing is stored
under a digest that does not describe it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from deployer.artifacts.digest import ArtifactError, HashCache, combine, list_files
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


class ArtifactChanged(ArtifactError):
    """The bytes to upload are no longer those the plan digested."""


def _changed(source: Path, what: str) -> ArtifactChanged:
    return ArtifactChanged(
        f"artifact {source} changed since the plan was made ({what}); nothing was stored under "
        "the planned digest: run `deployer plan` again"
    )


class _Counting:
    """A file read for upload that reports its bytes as the library reads them (and takes
    them back when the library rewinds to resend a chunk), and hashes them: the read that
    reaches the end of the file fails, before the library can send it, when the hash is not
    `expected`."""

    def __init__(
        self,
        handle: BinaryIO,
        advance: Callable[[int], None],
        size: int,
        expected: str,
        changed: Callable[[str], Exception],
    ) -> None:
        self._handle = handle
        self._advance = advance
        self._size = size
        self._expected = expected
        self._changed = changed
        self._sha = hashlib.sha256()
        self._hashed = 0
        """Bytes hashed so far: a chunk read again after a rewind is not hashed twice."""

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        before = self._handle.tell()
        after = self._handle.seek(offset, whence)
        if after < before:
            self._advance(after - before)
        return after

    def read(self, size: int = -1) -> bytes:
        start = self._handle.tell()
        data = self._handle.read(size)
        end = start + len(data)
        if end > self._hashed:
            self._sha.update(memoryview(data)[self._hashed - start :])
            self._hashed = end
        if self._hashed >= self._size or (size != 0 and len(data) < size) or size < 0:
            self._check()
        self._advance(len(data))
        return data

    def _check(self) -> None:
        if self._hashed != self._size:
            raise self._changed(f"it has {self._hashed:,} bytes, not {self._size:,}")
        if self._sha.hexdigest() != self._expected:
            raise self._changed("its bytes differ from the planned ones")


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
    expected = _planned_hashes(source, files, digest)
    total = sum(f.stat().st_size for _, f in files)
    done = 0
    guard = threading.Lock()
    bucket = client.bucket(dest.bucket)
    written: list[str] = []
    stop = threading.Event()

    def advance(count: int) -> None:
        nonlocal done
        with guard:
            done += count
            current = done
        if progress and count > 0:
            progress(min(current, total), total)

    def put(item: tuple[str, Path]) -> None:
        rel, file = item
        if stop.is_set():
            return
        name = dest.child(rel).prefix
        blob = bucket.blob(name, chunk_size=CHUNK_BYTES)
        try:
            with file.open("rb") as handle:
                size = _size(handle)
                reader = _Counting(
                    handle, advance, size, expected[rel], lambda why: _changed(file, why)
                )
                blob.upload_from_file(reader, size=size, checksum="crc32c", rewind=False)
        except BaseException:
            stop.set()
            raise
        with guard:
            written.append(name)

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
    except ArtifactChanged:
        for name in written:  # best effort: without a marker they are never used anyway
            with contextlib.suppress(Exception):
                bucket.blob(name).delete()
        raise
    except Exception as exc:
        raise storage_error(exc, f"uploading {source} to {dest}") from None
    return True


def _size(handle: BinaryIO) -> int:
    import os

    return os.fstat(handle.fileno()).st_size


def _planned_hashes(source: Path, files: list[tuple[str, Path]], digest: str) -> dict[str, str]:
    """Each file's hash as of now (cached by path, size and mtime: a stat per file when
    nothing changed); ArtifactChanged unless together they still make the planned digest."""
    cache = HashCache()
    try:
        hashes = cache.hashes(source.resolve(), files)
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {source}: {exc.strerror or exc}") from None
    finally:
        cache.save()
    now = combine(hashes)
    if now != digest:
        raise _changed(source, f"its digest is now {now[:12]}…, the plan's {digest[:12]}…")
    return dict(hashes)
