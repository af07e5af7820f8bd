"""Content digests of artifacts, so a plan sees changed bytes behind an unchanged path.

A local directory's digest covers relative paths and bytes only (not mtimes or owners), so it is
the same on every machine. Hashing a multi-GB SavedModel on every plan would be slow, so each
file's hash is cached by (path, size, mtime) in the user's cache directory, and the files a cold
plan must read are hashed on all cores at once (hashlib releases the GIL while it hashes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deployer.core.errors import DeployerError

DIGEST_LENGTH = 32
_FORMAT = 1
_LEGACY_CACHE = "file-hashes.json"


class ArtifactError(DeployerError):
    pass


def _cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deployer" / "file-hashes"


Entries = dict[str, list]
"""Relative path -> [size, mtime_ns, sha256 hex] of one artifact directory's files."""


class HashCache:
    """File hashes of artifact directories, one small JSON file per directory under `path`.

    One file per directory (named by a hash of its absolute path), not one for every file ever
    hashed: a plan loads only the directories it digests, so a warm re-plan stays in
    milliseconds however many artifacts this machine has seen, and re-hashing a directory
    forgets the files it no longer holds. Written atomically, and only when something changed.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or _cache_path()
        self._roots: dict[Path, Entries] = {}
        self._dirty: set[Path] = set()

    def _file(self, root: Path) -> Path:
        return self.path / (hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".json")

    def _load(self, root: Path) -> Entries:
        if root not in self._roots:
            entries: Entries = {}
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                loaded = json.loads(self._file(root).read_bytes())
                if loaded["format"] == _FORMAT and loaded["root"] == str(root):
                    entries = dict(loaded["files"])
            self._roots[root] = entries
        return self._roots[root]

    def hashes(self, root: Path, files: list[tuple[str, Path]]) -> list[tuple[str, str]]:
        """(relative path, sha256) of each of `files` under `root`, hashing only cache misses."""
        cached = self._load(root)
        current: Entries = {}
        misses: list[tuple[str, Path, os.stat_result]] = []
        for rel, file in files:
            info = file.stat()
            entry = cached.get(rel)
            if isinstance(entry, list) and entry[:2] == [info.st_size, info.st_mtime_ns]:
                current[rel] = entry
            else:
                misses.append((rel, file, info))
        for (rel, _, info), digest in zip(
            misses, hash_files([f for _, f, _ in misses]), strict=True
        ):
            current[rel] = [info.st_size, info.st_mtime_ns, digest]
        if current != cached:
            self._roots[root] = current
            self._dirty.add(root)
        return [(rel, str(current[rel][2])) for rel, _ in files]

    def save(self) -> None:
        if not self._dirty:
            return
        with contextlib.suppress(OSError):
            self.path.mkdir(parents=True, exist_ok=True)
            for root in sorted(self._dirty):
                body = {"format": _FORMAT, "root": str(root), "files": self._roots[root]}
                fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".hashes-")
                with os.fdopen(fd, "w") as handle:
                    json.dump(body, handle)
                os.replace(tmp, self._file(root))
            self._dirty.clear()
            if self.path == _cache_path():  # older versions kept every hash in one file
                (self.path.parent / _LEGACY_CACHE).unlink(missing_ok=True)


def _sha256(file: Path) -> str:
    with file.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def hash_files(files: list[Path], workers: int | None = None) -> list[str]:
    """sha256 of each file, several files at once on several cores.

    A file's hash is one sequential pass (splitting a file would change the digest every
    deployed version was planned with), so the parallelism is across files, largest first so
    that one big shard does not start last."""
    workers = min(len(files), workers or os.cpu_count() or 1)
    if workers <= 1:
        return [_sha256(file) for file in files]
    order = sorted(range(len(files)), key=lambda i: -files[i].stat().st_size)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash") as pool:
        done = dict(zip(order, pool.map(_sha256, [files[i] for i in order]), strict=True))
    return [done[i] for i in range(len(files))]


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def list_files(root: Path) -> list[tuple[str, Path]]:
    """(relative posix path, file) for every file under root, sorted.

    Symlinks are followed inside the artifact; one that points outside it, is broken, or
    leads back to a directory it is inside of (a cycle) is refused, and so is anything that is
    not a regular file or a directory (a FIFO or a device would block the hashing forever).
    """
    try:
        root = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ArtifactError(f"artifact {root}: cannot resolve it ({_why(exc)})") from None
    found: list[tuple[str, Path]] = []
    top = os.stat(root)
    pending: list[tuple[Path, str, frozenset[tuple[int, int]]]] = [
        (root, "", frozenset({(top.st_dev, top.st_ino)}))
    ]
    while pending:
        directory, prefix, chain = pending.pop()
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            entry, rel = directory / name, prefix + name
            if entry.is_symlink():
                try:
                    target = entry.resolve(strict=True)
                except (OSError, RuntimeError) as exc:
                    raise ArtifactError(
                        f"artifact {root}: symlink {rel} cannot be followed ({_why(exc)})"
                    ) from None
                if target != root and root not in target.parents:
                    raise ArtifactError(
                        f"artifact {root}: symlink {rel} points outside the "
                        f"artifact directory ({target})"
                    )
            info = os.stat(entry)
            if stat.S_ISDIR(info.st_mode):
                ident = (info.st_dev, info.st_ino)
                if ident in chain:
                    raise ArtifactError(
                        f"artifact {root}: symlink cycle at {rel} (it leads back to a "
                        "directory that contains it)"
                    )
                pending.append((entry, rel + "/", chain | {ident}))
            elif stat.S_ISREG(info.st_mode):
                found.append((rel, entry))
            else:
                raise ArtifactError(
                    f"artifact {root}: {rel} is {_kind(info.st_mode)}, not a regular file or "
                    "directory"
                )
    return sorted(found)


def _why(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "symlink loop"
    return getattr(exc, "strerror", None) or str(exc)


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
        if root.exists() or root.is_symlink():
            raise ArtifactError(f"artifact {root} is not a directory")
        raise ArtifactError(f"artifact directory not found: {root}")
    own_cache = cache is None
    cache = cache or HashCache()
    try:
        files = list_files(root)
        if not files:
            raise ArtifactError(f"artifact directory {root} is empty")
        return combine(cache.hashes(root.resolve(), files))
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {root}: {exc.strerror or exc}") from None
    finally:
        if own_cache:
            cache.save()
