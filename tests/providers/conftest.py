"""Fixtures for the mlengine provider tests: a provider bound to the session twin and a fresh
project, an uploaded SavedModel, and manifests written to a temporary directory."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deployer.core.stack import Stack
from deployer.providers.mlengine.client import MLClient
from deployer.providers.mlengine.provider import MLEngineProvider
from deployer.providers.pacing import UNLIMITED
from deployer.providers.retry import RetryPolicy
from deployer.stacks import load_stack

# Retries as in production, but with short waits (the twin's 429s say Retry-After: 1).
FAST_RETRY = RetryPolicy(attempts=10, initial_delay=0.01, max_delay=0.05, deadline=30.0)


@pytest.fixture
def client(twin: Any, project: str) -> MLClient:
    # the twin enforces no request quota: pacing is tested on its own (test_pacing.py)
    return MLClient(project, emulator=twin.url, retry=FAST_RETRY, request_limiter=UNLIMITED)


@pytest.fixture
def provider(client: MLClient) -> MLEngineProvider:
    return MLEngineProvider(client.project, client=client, operation_timeout=60.0)


@pytest.fixture
def artifact(tiny_savedmodel: Path, bucket: Any, upload_dir: Any) -> str:
    """gs:// URI of a valid tiny TensorFlow SavedModel."""
    return upload_dir(tiny_savedmodel, bucket.name, "models/tiny/1")


@pytest.fixture
def manifests(tmp_path: Path, project: str, bucket: Any) -> Callable[[str], Stack]:
    """`manifests(models_yaml) -> Stack`: writes settings (stack `vision`, this test's project
    and bucket, region us-central1, label team=vision) plus one model file, and loads them."""

    def write(models_yaml: str) -> Stack:
        root = tmp_path / "manifests"
        root.mkdir(exist_ok=True)
        (root / "deployer.yaml").write_text(
            textwrap.dedent(
                f"""\
                stack: vision
                project: {project}
                artifacts: gs://{bucket.name}/deployer
                region: us-central1
                labels: {{team: vision}}
                """
            )
        )
        (root / "models.yaml").write_text(textwrap.dedent(models_yaml))
        return load_stack(root)

    return write


@pytest.fixture
def denying_host() -> Iterator[Callable[[str], str]]:
    """`denying_host(message) -> url`: a server that answers every GET like the service does
    for an account without permission (403 PERMISSION_DENIED saying `message`)."""
    servers: list[ThreadingHTTPServer] = []

    def start(message: str) -> str:
        body = {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}}
        payload = json.dumps(body).encode()

        class Denied(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Denied)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
