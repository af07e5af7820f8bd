"""Issue 19 item 3: artifact bytes that change between the plan and the upload.

While `deployer apply` waits for "yes" on a terminal, the artifact's bytes change (here: the
same size and the same mtime, which the hash cache cannot see). The upload must not store
them under the digest the plan showed: the version is not created, no object and no
`.complete` marker exist under that digest, and the run says which artifact changed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path
from typing import Any

from cli.helpers import Live, Repo, model, version

from deployer.artifacts.digest import local_digest


def _read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float) -> bytes:
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} after {timeout} s: {seen.decode(errors='replace')}"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"exited before {needle!r}: {seen.decode(errors='replace')}"
            seen += chunk
    return seen


def test_bytes_changed_while_apply_waits_for_yes_are_not_stored(
    repo: Repo, live: Live, storage_client: Any
) -> None:
    repo.write([model("m", [version("v1", "a")], regions=["us-central1"])])
    artifact = repo.root / "export" / "a"
    digest = local_digest(artifact)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        repo.command("apply", "manifests"),
        cwd=repo.root,
        env=repo.env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    try:
        _read_until(proc, b"Enter a value", timeout=60)
        pb = artifact / "saved_model.pb"
        info = pb.stat()
        data = bytearray(pb.read_bytes())
        data[-1] ^= 0xFF
        pb.write_bytes(bytes(data))
        os.utime(pb, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.write(master, b"yes\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert f"artifact {Path(os.path.realpath(artifact))}" in err.decode(), text
    assert "changed since the plan was made" in err.decode(), text
    assert "nothing was stored under the planned digest" in err.decode(), text
    stored = [
        b.name
        for b in storage_client.list_blobs(repo.bucket, prefix=f"deployer/m/{digest}")
        if not b.name.startswith("deployer/.deployer/")
    ]
    assert stored == []
    assert "us-central1/m/v1" not in live.snapshot()
