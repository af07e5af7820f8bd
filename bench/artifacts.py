"""Benchmark 3: artifact hashing and uploads.

Hashing: a SavedModel-like directory of GB gigabytes (saved_model.pb, variables.index and four
equal variables shards, as TensorFlow writes a large model) is hashed by deployer cold (no cache)
and warm (a fresh load of the hash cache, as a new `deployer plan` process does), and by
`sha256sum` over the same files, in the same run. The files were just written, so both read
from the page cache: it compares hashing, not the disk.

Uploads, to the twin's GCS emulator (its own process): 200 files of 2 MB, then the same behind
a proxy adding LATENCY_MS to every request (the network a real upload crosses; on loopback the
emulator and the client only compete for the same cores), then one file of 500 MB; each by
deployer's `upload_directory`, by a sequential google-cloud-storage loop (the baseline), and by
the library's `transfer_manager.upload_many_from_filenames` (threads), which deployer would use
if it were faster.

Usage: python bench/artifacts.py [GB] [FILES] [BIG_MB] [LATENCY_MS]   (default 2 200 500 50)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _support import latency_proxy, machine, storage_client
from _support import twin as start_twin

MB = 1024 * 1024
BUCKET = "bench-uploads"


def write_savedmodel(root: Path, gigabytes: float) -> Path:
    """saved_model.pb (4 MB), variables.index and four shards; random bytes (fast to write:
    one random block repeated, which changes nothing for SHA-256)."""
    model = root / "model"
    (model / "variables").mkdir(parents=True)
    block = os.urandom(64 * MB)
    (model / "saved_model.pb").write_bytes(block[: 4 * MB])
    (model / "variables" / "variables.index").write_bytes(block[:65536])
    shard = int(gigabytes * 1024 * MB / 4)
    for i in range(4):
        with (model / "variables" / f"variables.data-0000{i}-of-00004").open("wb") as handle:
            left = shard
            while left > 0:
                left -= handle.write(block[: min(left, len(block))])
    return model


def hashing(root: Path, gigabytes: float) -> None:
    from deployer.artifacts.digest import HashCache, list_files, local_digest

    model = write_savedmodel(root, gigabytes)
    files = [str(f) for _, f in list_files(model)]
    started = time.perf_counter()
    subprocess.run(["sha256sum", *files], check=True, capture_output=True)
    sha256sum = time.perf_counter() - started
    cache_file = root / "hashes.json"
    started = time.perf_counter()
    cache = HashCache(cache_file)
    cold_digest = local_digest(model, cache)
    cache.save()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    warm_digest = local_digest(model, HashCache(cache_file))
    warm = time.perf_counter() - started
    assert cold_digest == warm_digest
    size = sum(os.path.getsize(f) for f in files) / 1024**3
    print(f"\n[hashing] {size:.2f} GiB in {len(files)} files (page cache warm for all)")
    print(f"  sha256sum:               {sha256sum:7.2f} s")
    print(f"  deployer, cold:          {cold:7.2f} s   {sha256sum / cold:5.2f}x sha256sum")
    print(f"  deployer, warm:          {warm * 1000:7.1f} ms  (target < 50 ms)")


def compare(name: str, source: Path, prefix: str) -> None:
    """Upload `source` three ways (sequential loop, transfer_manager, deployer) and print them."""
    from google.cloud.storage import transfer_manager

    from deployer.artifacts.digest import local_digest
    from deployer.artifacts.gcs import GcsUri
    from deployer.artifacts.upload import upload_directory

    client = storage_client()
    bucket = client.bucket(BUCKET)
    paths = sorted(p.name for p in source.iterdir())
    started = time.perf_counter()
    for path in paths:
        bucket.blob(f"{prefix}/seq/{path}").upload_from_filename(str(source / path))
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    results = transfer_manager.upload_many_from_filenames(
        bucket,
        paths,
        source_directory=str(source),
        blob_name_prefix=f"{prefix}/tm/",
        max_workers=8,
        worker_type=transfer_manager.THREAD,
    )
    manager = time.perf_counter() - started
    if any(isinstance(r, Exception) for r in results):
        raise SystemExit(f"transfer_manager failed: {results}")
    marks: list[int] = []
    digest = local_digest(source)  # as a plan does: the upload finds the hashes cached
    started = time.perf_counter()
    upload_directory(
        client,
        source,
        GcsUri(BUCKET, f"{prefix}/deployer"),
        digest,
        progress=lambda done, total: marks.append(done),
    )
    deployer = time.perf_counter() - started
    print(f"\n[upload] {name}")
    print(f"  {'sequential loop':28s} {sequential:6.2f} s")
    for label, seconds in (
        ("transfer_manager, 8 threads", manager),
        ("deployer, 8 threads", deployer),
    ):
        print(f"  {label:28s} {seconds:6.2f} s   {sequential / seconds:5.2f}x")
    print(f"  deployer progress callbacks: {len(marks)} (bytes, during the upload)")


def uploads(root: Path, files: int, big_mb: int, latency_ms: float) -> None:
    many = root / "many"
    many.mkdir()
    for i in range(files):
        (many / f"part-{i:04d}.bin").write_bytes(os.urandom(2 * MB))
    big = root / "big"
    big.mkdir()
    with (big / "variables.data").open("wb") as handle:
        block = os.urandom(64 * MB)
        for _ in range(big_mb // 64):
            handle.write(block)
        handle.write(block[: (big_mb % 64) * MB])
    with start_twin(op_seconds=0) as twin:
        storage_client().create_bucket(BUCKET)
        compare(f"{files} x 2 MB, local emulator", many, "local")
        with latency_proxy(twin.env["STORAGE_EMULATOR_HOST"], latency_ms) as url:
            os.environ["STORAGE_EMULATOR_HOST"] = url
            try:
                compare(f"{files} x 2 MB, {latency_ms:g} ms per request", many, "far")
            finally:
                os.environ["STORAGE_EMULATOR_HOST"] = twin.env["STORAGE_EMULATOR_HOST"]
        compare(f"1 x {big_mb} MB, local emulator", big, "big")


def main(argv: list[str]) -> int:
    gigabytes = float(argv[1]) if len(argv) > 1 else 2.0
    files = int(argv[2]) if len(argv) > 2 else 200
    big_mb = int(argv[3]) if len(argv) > 3 else 500
    latency_ms = float(argv[4]) if len(argv) > 4 else 50.0
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp:
        hashing(Path(tmp), gigabytes)
    with tempfile.TemporaryDirectory(prefix="deployer-bench-") as tmp:
        uploads(Path(tmp), files, big_mb, latency_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
