"""What a user reads when the API can't be used: one line that says what to do."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deployer.core.errors import DeployerError
from deployer.core.resources import ResourceKey
from deployer.providers.mlengine.client import MLClient, emulator_host, endpoint_url
from deployer.providers.mlengine.errors import ProviderError
from deployer.providers.mlengine.provider import MLEngineProvider
from deployer.providers.retry import NO_RETRY

REPO = Path(__file__).resolve().parents[2]


DENIED = (
    "Permission 'ml.models.list' denied on resource "
    "'//ml.googleapis.com/projects/acme-prod' (or it may not exist)."
)


def test_permission_denied_names_the_project_and_the_fix(
    denying_host: Callable[[str], str],
) -> None:
    provider = MLEngineProvider(
        "acme-prod", client=MLClient("acme-prod", emulator=denying_host(DENIED))
    )
    with pytest.raises(ProviderError) as info:
        provider.read(["us-central1"])
    text = str(info.value)
    assert info.value.status == 403 and not info.value.retryable
    assert text.startswith("list models on us-central1 in project 'acme-prod': permission denied")
    assert "Permission 'ml.models.list' denied" in text
    assert "AI Platform Developer" in text
    assert "\n" not in text


def test_missing_model_is_a_clear_not_found(twin: Any, project: str) -> None:
    provider = MLEngineProvider(project, client=MLClient(project, emulator=twin.url))
    with pytest.raises(ProviderError) as info:
        provider.update(ResourceKey("global", "ghost"), ["description"], {}, {}, "s")
    assert info.value.status == 404
    assert str(info.value).startswith("update model global/ghost: not found: ")
    assert "'ghost' was not found" in str(info.value)


def test_unreachable_twin_says_to_start_it(project: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = MLEngineProvider(
        project, client=MLClient(project, emulator=f"http://127.0.0.1:{port}", retry=NO_RETRY)
    )
    with pytest.raises(ProviderError) as info:
        provider.read(["global"])
    assert str(info.value) == (
        f"cannot reach the AI Platform twin at http://127.0.0.1:{port}: is `deployer emulator` "
        "running? (AIPLATFORM_EMULATOR_HOST points there)"
    )


def test_no_credentials_tells_how_to_log_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AIPLATFORM_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    client = MLClient("acme-prod")
    assert client.emulator is None
    with pytest.raises(DeployerError) as info:
        client.resource("global")
    text = str(info.value)
    assert "gcloud auth application-default login" in text
    assert "GOOGLE_APPLICATION_CREDENTIALS" in text and "AIPLATFORM_EMULATOR_HOST" in text


def test_endpoint_urls_on_google_and_on_the_twin(twin: Any) -> None:
    assert endpoint_url("global") == "https://ml.googleapis.com/"
    assert endpoint_url("europe-west4") == "https://europe-west4-ml.googleapis.com/"
    assert endpoint_url("global", twin.url) == twin.api_endpoint("global")
    assert endpoint_url("asia-east1", twin.url) == twin.api_endpoint("asia-east1")
    assert emulator_host({"AIPLATFORM_EMULATOR_HOST": "localhost:8090"}) == "http://localhost:8090"
    assert emulator_host({}) is None


def test_twin_found_through_the_environment(
    twin: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIPLATFORM_EMULATOR_HOST", twin.url)
    assert MLEngineProvider(project).read(["global", "us-west1"]) == []


def test_building_a_provider_does_not_import_the_google_client() -> None:
    code = (
        "import sys\n"
        "import deployer.cli\n"
        "from deployer.providers.mlengine import MLEngineProvider\n"
        "MLEngineProvider('p')\n"
        "loaded = [m for m in sys.modules if m.startswith('googleapiclient')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_shut_down_ml_api_names_the_vertex_backend() -> None:
    from googleapiclient.errors import HttpError
    from httplib2 import Response

    from deployer.providers.errors import from_http_error

    said = "AI Platform Prediction is deprecated, use Vertex AI"
    body = json.dumps({"error": {"code": 400, "message": said, "status": "FAILED_PRECONDITION"}})
    error = from_http_error(
        HttpError(Response({"status": 400}), body.encode()), project="acme", what="create model m"
    )
    assert str(error).startswith("create model m: AI Platform Prediction (ml v1) is shut down")
    assert "set `backend: vertex` in deployer.yaml" in str(error)
    assert "\n" not in str(error)
