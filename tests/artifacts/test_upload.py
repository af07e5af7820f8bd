"""Uploads to the GCS emulator: every byte lands, and progress moves in bytes within a file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from deployer.artifacts import upload
from deployer.artifacts.digest import local_digest
from deployer.artifacts.gcs import GcsUri
from deployer.artifacts.upload import ArtifactChanged, is_uploaded, upload_directory


def test_one_large_file_reports_progress_in_bytes_as_it_goes(
    tmp_path: Path, bucket: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(upload, "CHUNK_BYTES", 1024 * 1024)
    source = tmp_path / "model"
    (source / "variables").mkdir(parents=True)
    data = os.urandom(9 * 1024 * 1024 + 17)  # over 8 MiB: a resumable upload, in chunks
    (source / "variables" / "variables.data-00000-of-00001").write_bytes(data)
    (source / "saved_model.pb").write_bytes(b"pb")
    digest = local_digest(source)
    dest = GcsUri(bucket.name, f"deployer/m/{digest}")
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert upload_directory(bucket.client, source, dest, digest, progress=progress)

    total = len(data) + 2
    assert {t for _, t in seen} == {total}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == total
    assert len([d for d in done if 0 < d < total]) >= 4  # it moved within the big file
    blob = bucket.blob(f"deployer/m/{digest}/variables/variables.data-00000-of-00001")
    assert hashlib.sha256(blob.download_as_bytes()).digest() == hashlib.sha256(data).digest()
    assert is_uploaded(bucket.client, dest)
    assert not upload_directory(bucket.client, source, dest, digest)  # the marker says done


# ---- bytes that change between the plan and the upload (issue 19 item 3) ---------------------


def _model(root: Path, big: int = 0) -> Path:
    (root / "variables").mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(b"pb" * 100)
    (root / "variables" / "variables.index").write_bytes(b"index")
    if big:
        (root / "variables" / "variables.data-00000-of-00001").write_bytes(os.urandom(big))
    return root


def _stored(bucket: Any, digest: str) -> list[str]:
    return sorted(b.name for b in bucket.client.list_blobs(bucket.name, prefix="deployer/m/"))


def _same_size_other_bytes(file: Path) -> None:
    """Rewrite `file` with other bytes of the same size and the same mtime: the hash cache
    (path, size, mtime) cannot see it, only the bytes can."""
    info = file.stat()
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    os.utime(file, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_file_changed_after_the_plan_is_refused_before_any_upload(
    tmp_path: Path, bucket: Any
) -> None:
    source = _model(tmp_path / "model")
    digest = local_digest(source)
    (source / "saved_model.pb").write_bytes(b"other bytes")
    dest = GcsUri(bucket.name, f"deployer/m/{digest}")
    with pytest.raises(ArtifactChanged, match="changed since the plan was made"):
        upload_directory(bucket.client, source, dest, digest)
    assert _stored(bucket, digest) == []


@pytest.mark.parametrize("big", [0, 9 * 1024 * 1024 + 5])  # one request; resumable (> 8 MiB)
def test_bytes_the_hash_cache_cannot_see_are_caught_while_uploading(
    tmp_path: Path, bucket: Any, monkeypatch: Any, big: int
) -> None:
    monkeypatch.setattr(upload, "CHUNK_BYTES", 1024 * 1024)
    source = _model(tmp_path / "model", big)
    digest = local_digest(source)
    name = "variables/variables.data-00000-of-00001" if big else "saved_model.pb"
    _same_size_other_bytes(source / name)
    dest = GcsUri(bucket.name, f"deployer/m/{digest}")
    with pytest.raises(ArtifactChanged, match="its bytes differ from the planned ones"):
        upload_directory(bucket.client, source, dest, digest, parallelism=1)
    assert _stored(bucket, digest) == []  # no object, no marker under the planned digest
    assert not is_uploaded(bucket.client, dest)


def test_a_file_rewritten_during_its_upload_is_caught(
    tmp_path: Path, bucket: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(upload, "CHUNK_BYTES", 1024 * 1024)
    source = _model(tmp_path / "model", 9 * 1024 * 1024)  # resumable: sent chunk by chunk
    digest = local_digest(source)
    data = source / "variables" / "variables.data-00000-of-00001"
    rewritten: list[int] = []

    def progress(done: int, total: int) -> None:
        if done >= 1024 * 1024 and not rewritten:  # the first chunk is on its way
            with data.open("r+b") as handle:
                handle.seek(7 * 1024 * 1024)
                handle.write(b"\0" * 1024)
            rewritten.append(done)

    dest = GcsUri(bucket.name, f"deployer/m/{digest}")
    with pytest.raises(ArtifactChanged):
        upload_directory(bucket.client, source, dest, digest, parallelism=1, progress=progress)
    assert rewritten
    assert _stored(bucket, digest) == []
