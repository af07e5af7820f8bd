"""Content-addressed uploads of local artifact directories to Cloud Storage.

Files go to `<artifacts>/<model>/<digest>/`; a marker object `<digest>.complete` beside that prefix
is written only after every file is in place. A prefix without its marker is never used as a
deploymentUri, and a prefix with it is never uploaded again.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from deployer.artifacts.digest import list_files
from deployer.artifacts.gcs import GcsUri, storage_error

MARKER_SUFFIX = ".complete"
Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) as files finish."""


def marker_uri(dest: GcsUri) -> GcsUri:
    return GcsUri(dest.bucket, dest.prefix + MARKER_SUFFIX)


def is_uploaded(client: Any, dest: GcsUri) -> bool:
    marker = marker_uri(dest)
    try:
        return bool(client.bucket(marker.bucket).blob(marker.prefix).exists())
    except Exception as exc:
        raise storage_error(exc, f"checking {marker}") from None


def upload_directory(
    client: Any,
    source: Path,
    dest: GcsUri,
    digest: str,
    parallelism: int = 8,
    progress: Progress | None = None,
) -> bool:
    """Upload `source` under `dest` unless its marker exists; returns True if it uploaded."""
    if is_uploaded(client, dest):
        return False
    files = list_files(source)
    total = sum(f.stat().st_size for _, f in files)
    done = 0
    bucket = client.bucket(dest.bucket)

    def put(item: tuple[str, Path]) -> int:
        rel, file = item
        blob = bucket.blob(dest.child(rel).prefix)
        blob.upload_from_filename(str(file), checksum="crc32c")
        return file.stat().st_size

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            for size in pool.map(put, files):
                done += size
                if progress:
                    progress(done, total)
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
