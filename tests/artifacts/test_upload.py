"""Uploads to the GCS emulator: every byte lands, and progress moves in bytes within a file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from deployer.artifacts import upload
from deployer.artifacts.gcs import GcsUri
from deployer.artifacts.upload import is_uploaded, upload_directory


def test_one_large_file_reports_progress_in_bytes_as_it_goes(
    tmp_path: Path, bucket: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(upload, "CHUNK_BYTES", 1024 * 1024)
    source = tmp_path / "model"
    (source / "variables").mkdir(parents=True)
    data = os.urandom(9 * 1024 * 1024 + 17)  # over 8 MiB: a resumable upload, in chunks
    (source / "variables" / "variables.data-00000-of-00001").write_bytes(data)
    (source / "saved_model.pb").write_bytes(b"pb")
    dest = GcsUri(bucket.name, "deployer/m/abc")
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert upload_directory(bucket.client, source, dest, "abc", progress=progress)

    total = len(data) + 2
    assert {t for _, t in seen} == {total}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == total
    assert len([d for d in done if 0 < d < total]) >= 4  # it moved within the big file
    blob = bucket.blob("deployer/m/abc/variables/variables.data-00000-of-00001")
    assert hashlib.sha256(blob.download_as_bytes()).digest() == hashlib.sha256(data).digest()
    assert is_uploaded(bucket.client, dest)
    assert not upload_directory(bucket.client, source, dest, "abc")  # the marker says done
