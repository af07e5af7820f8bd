"""Content digests of artifacts, so a plan sees changed bytes behind an unchanged path.

A local directory's digest covers relative paths and bytes only (not mtimes or owners), so it is
the same on every machine. Hashing a multi-GB SavedModel on every plan would be slow, so each
file's hash is cached by (absolute path, size, mtime) in the user's cache directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from deployer.errors import DeployerError

DIGEST_LENGTH = 32
_CHUNK = 1 << 20


class ArtifactError(DeployerError):
    pass


def _cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deployer" / "file-hashes.json"


class HashCache:
    """File hashes keyed by path, size and mtime; loaded once, saved atomically when changed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or _cache_path()
        self.entries: dict[str, list] = {}
        self.dirty = False
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self.path.read_text())
            if isinstance(loaded, dict):
                self.entries = loaded

    def file_hash(self, file: Path) -> str:
        stat = file.stat()
        key = str(file)
        entry = self.entries.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return str(entry[2])
        sha = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
        digest = sha.hexdigest()
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        if not self.dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hashes-")
            with os.fdopen(fd, "w") as handle:
                json.dump(self.entries, handle)
            os.replace(tmp, self.path)
            self.dirty = False


def list_files(root: Path) -> list[tuple[str, Path]]:
    """(relative posix path, file) for every file under root, sorted; refuses escaping links."""
    root = root.resolve()
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        current = Path(dirpath)
        for name in [*dirnames, *filenames]:
            entry = current / name
            if entry.is_symlink():
                target = entry.resolve()
                if target != root and root not in target.parents:
                    raise ArtifactError(
                        f"artifact {root}: symlink {entry.relative_to(root)} points outside the "
                        f"artifact directory ({target})"
                    )
        for name in filenames:
            file = current / name
            found.append((file.relative_to(root).as_posix(), file))
    return sorted(found)


def combine(entries: Iterable[tuple[str, str]]) -> str:
    """One digest for a set of (relative path, content hash) pairs."""
    sha = hashlib.sha256()
    for rel, content in sorted(entries):
        sha.update(rel.encode())
        sha.update(b"\0")
        sha.update(content.encode())
        sha.update(b"\n")
    return sha.hexdigest()[:DIGEST_LENGTH]


def local_digest(root: Path, cache: HashCache | None = None) -> str:
    """Digest of a local artifact directory (relative paths and bytes)."""
    if not root.is_dir():
        raise ArtifactError(f"artifact directory not found: {root}")
    own_cache = cache is None
    cache = cache or HashCache()
    try:
        files = list_files(root)
        if not files:
            raise ArtifactError(f"artifact directory {root} is empty")
        return combine((rel, cache.file_hash(file)) for rel, file in files)
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {root}: {exc.strerror or exc}") from None
    finally:
        if own_cache:
            cache.save()
