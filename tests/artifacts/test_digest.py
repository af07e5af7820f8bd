"""Local digests: the definition every deployed version was planned with, hashed on all cores,
and a cache that a new plan process reads per artifact directory."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from deployer.artifacts import digest
from deployer.artifacts.digest import HashCache, hash_files, local_digest


def _artifact(root: Path) -> Path:
    (root / "variables").mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(b"graph" * 1000)
    for i in range(3):
        (root / "variables" / f"variables.data-0000{i}-of-00003").write_bytes(
            os.urandom(70_000 * (i + 1))
        )
    return root


def _by_definition(root: Path) -> str:
    """sha256 over `rel \\0 sha256(bytes) \\n` of the sorted files, first 32 hex digits."""
    outer = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        outer.update(f"{rel}\0{hashlib.sha256(file.read_bytes()).hexdigest()}\n".encode())
    return outer.hexdigest()[:32]


def _plan(root: Path, cache_dir: Path) -> str:
    """What one `deployer plan` process does: load the cache, digest, save."""
    cache = HashCache(cache_dir)
    try:
        return local_digest(root, cache)
    finally:
        cache.save()


def test_the_digest_keeps_its_definition(tmp_path: Path) -> None:
    root = _artifact(tmp_path / "art")
    assert local_digest(root, HashCache(tmp_path / "cache")) == _by_definition(root)


def test_parallel_hashes_come_back_in_input_order(tmp_path: Path) -> None:
    files = []
    for i in range(7):
        files.append(tmp_path / f"f{i}")
        files[-1].write_bytes(os.urandom(1000 * (7 - i) + i))
    expected = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert hash_files(files, workers=3) == expected == hash_files(files, workers=1)


def test_a_new_process_reuses_the_cache_and_rehashes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache_dir = _artifact(tmp_path / "art"), tmp_path / "cache"
    first = _plan(root, cache_dir)
    hashed: list[str] = []
    real = digest._sha256

    def counting(file: Path) -> str:
        hashed.append(file.name)
        return real(file)

    monkeypatch.setattr(digest, "_sha256", counting)
    assert _plan(root, cache_dir) == first and hashed == []
    shard = root / "variables" / "variables.data-00001-of-00003"
    shard.write_bytes(os.urandom(5))
    (root / "variables" / "variables.data-00002-of-00003").unlink()
    second = _plan(root, cache_dir)
    assert second != first and second == _by_definition(root)
    assert hashed == [shard.name]
    (saved,) = cache_dir.glob("*.json")
    assert set(json.loads(saved.read_text())["files"]) == {
        "saved_model.pb",
        "variables/variables.data-00000-of-00003",
        "variables/variables.data-00001-of-00003",
    }


def test_each_directory_has_its_own_cache_file_and_a_broken_one_is_ignored(
    tmp_path: Path,
) -> None:
    cache_dir = tmp_path / "cache"
    a, b = _artifact(tmp_path / "a"), _artifact(tmp_path / "b")
    _plan(a, cache_dir)
    _plan(b, cache_dir)
    files = sorted(cache_dir.glob("*.json"))
    assert len(files) == 2
    for file in files:
        file.write_text('{"format": 1, "root": 3, "files": ')
    assert _plan(a, cache_dir) == _by_definition(a)


def test_the_default_cache_replaces_the_old_single_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    legacy = tmp_path / "xdg" / "deployer" / "file-hashes.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("{}")
    local_digest(_artifact(tmp_path / "art"))
    assert not legacy.exists()
    assert len(list((tmp_path / "xdg" / "deployer" / "file-hashes").glob("*.json"))) == 1
