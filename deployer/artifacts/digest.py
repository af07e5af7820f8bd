"""Content digests of artifacts, so a plan sees changed bytes behind an unchanged path.

A local directory's digest covers relative paths and bytes only (not mtimes or owners), so it is
the same on every machine. Hashing a multi-GB SavedModel on every plan would be slow, so each
file's hash is cached by (absolute path, size, mtime) in the user's cache directory.
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

from deployer.errors import DeployerError

DIGEST_LENGTH = 32


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

    def knows(self, file: Path) -> bool:
        """Whether `file`'s hash is cached for its current size and mtime."""
        info = file.stat()
        entry = self.entries.get(str(file))
        return bool(entry and entry[0] == info.st_size and entry[1] == info.st_mtime_ns)

    def file_hash(self, file: Path) -> str:
        info = file.stat()
        key = str(file)
        entry = self.entries.get(key)
        if entry and entry[0] == info.st_size and entry[1] == info.st_mtime_ns:
            return str(entry[2])
        with file.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        self.entries[key] = [info.st_size, info.st_mtime_ns, digest]
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


HASH_THREADS = 4
"""Files hashed at once: hashlib releases the interpreter lock while it hashes, so a sharded
SavedModel is hashed on every core (one file still goes at one core's speed)."""


def hash_files(cache: HashCache, files: list[tuple[str, Path]]) -> list[str]:
    """Each file's content hash (cached ones without reading), in the order of `files`."""
    paths = [file for _, file in files]
    unknown = [file for file in paths if not cache.knows(file)]
    if len(unknown) > 1:
        with ThreadPoolExecutor(min(HASH_THREADS, len(unknown)), thread_name_prefix="hash") as pool:
            list(pool.map(cache.file_hash, unknown))
    return [cache.file_hash(file) for file in paths]


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
        return combine(zip((rel for rel, _ in files), hash_files(cache, files), strict=True))
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {root}: {exc.strerror or exc}") from None
    finally:
        if own_cache:
            cache.save()
