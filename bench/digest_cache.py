"""Benchmark: plan-time artifact hashing with the per-file hash cache vs without it.

Builds a local artifact of N MiB, then times `local_digest` cold (every byte read and hashed)
against warm (sizes and mtimes unchanged, so cached hashes are reused). Prints the ratio; both
runs happen in this process, so the ratio is comparable across machines.

Usage: python bench/digest_cache.py [MIB]   (default 256)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from deployer.artifacts.digest import HashCache, local_digest


def main(argv: list[str]) -> int:
    mib = int(argv[1]) if len(argv) > 1 else 256
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "model"
        (root / "variables").mkdir(parents=True)
        (root / "saved_model.pb").write_bytes(os.urandom(1 << 20))
        chunk = os.urandom(1 << 20)
        with (root / "variables" / "variables.data-00000-of-00001").open("wb") as handle:
            for _ in range(mib):
                handle.write(chunk)
        cache_file = Path(tmp) / "hashes.json"

        started = time.perf_counter()
        cold = local_digest(root, HashCache(cache_file))
        cold_s = time.perf_counter() - started
        cache = HashCache(cache_file)
        local_digest(root, cache)
        cache.save()

        started = time.perf_counter()
        warm = local_digest(root, HashCache(cache_file))
        warm_s = time.perf_counter() - started
    assert cold == warm
    print(f"artifact: {mib + 1} MiB in 2 files")
    print(f"cold (hash every byte):  {cold_s * 1000:8.1f} ms")
    print(f"warm (cached by mtime):  {warm_s * 1000:8.1f} ms")
    print(f"ratio cold/warm: {cold_s / warm_s:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
