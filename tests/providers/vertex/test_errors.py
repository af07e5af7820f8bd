"""What a user reads when a Vertex call fails: one line that says what to do."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deployer.providers.errors import OperationFailed, ProviderError, from_operation_error
from deployer.providers.retry import NO_RETRY
from deployer.providers.vertex.client import VertexClient
from deployer.providers.vertex.provider import VertexProvider
from providers.vertex.support import (
    ENDPOINT_KEY,
    REGION,
    version_fields,
    version_key,
    version_labels,
)

REPO = Path(__file__).resolve().parents[3]


DENIED = "Permission 'aiplatform.models.list' denied on resource (or it may not exist)."


def test_permission_denied_names_the_project_role_and_api(
    denying_host: Callable[[str], str],
) -> None:
    client = VertexClient("acme-prod", emulator=denying_host(DENIED), retry=NO_RETRY)
    with pytest.raises(ProviderError) as info:
        VertexProvider("acme-prod", client=client).read([REGION], "vision")
    text = str(info.value)
    assert info.value.status == 403 and not info.value.retryable
    assert "in project 'acme-prod': permission denied" in text
    assert "Permission 'aiplatform.models.list' denied" in text
    assert "Vertex AI User" in text and "aiplatform.googleapis.com" in text
    assert "\n" not in text


def test_missing_endpoint_is_a_clear_not_found(vprovider: VertexProvider) -> None:
    with pytest.raises(ProviderError) as info:
        vprovider.update(ENDPOINT_KEY, ["description"], {"description": "x"}, {}, "s")
    assert str(info.value) == (
        "update endpoint us-central1/fraud:endpoint: not found: fraud has no endpoint in "
        "us-central1"
    )


def test_service_404_and_400_keep_the_services_words(vprovider: VertexProvider) -> None:
    c = vprovider.client
    with pytest.raises(ProviderError) as info:
        c.execute(
            REGION,
            "get model us-central1/ghost",
            lambda r: r.projects().locations().models().get(name=c.model_name(REGION, "ghost")),
        )
    assert info.value.status == 404
    assert str(info.value).startswith("get model us-central1/ghost: not found: ")
    bad = version_fields(containerSpec={})
    with pytest.raises(
        ProviderError,
        match=r"upload version us-central1/fraud/v1: rejected by the service \(400 INVALID_ARG",
    ):
        vprovider.create(version_key("v1"), bad, version_labels("v1"), "s")


def test_failed_operation_says_why(vprovider: VertexProvider) -> None:
    tf = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    fields = version_fields(containerSpec={"imageUri": tf}, artifactUri="gs://nowhere/model")
    with pytest.raises(OperationFailed, match=r"^upload version us-central1/fraud/v1 failed: "):
        vprovider.create(version_key("v1"), fields, version_labels("v1"), "s")


def test_unreachable_twin_says_to_start_it(project: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = VertexClient(project, emulator=f"http://127.0.0.1:{port}", retry=NO_RETRY)
    with pytest.raises(ProviderError) as info:
        VertexProvider(project, client=client).read([REGION])
    assert str(info.value) == (
        f"cannot reach the AI Platform twin at http://127.0.0.1:{port}: is `deployer emulator` "
        "running? (AIPLATFORM_EMULATOR_HOST points there)"
    )


def test_unknown_region_and_twin_from_the_environment(
    twin: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIPLATFORM_EMULATOR_HOST", twin.url)
    provider = VertexProvider(project)
    assert provider.read(["us-central1", "europe-west4"]) == []
    with pytest.raises(ProviderError, match="unknown region 'global'"):
        provider.read(["global"])


def test_building_a_provider_does_not_import_the_google_client() -> None:
    code = (
        "import sys\n"
        "from deployer.providers.vertex import VertexProvider\n"
        "VertexProvider('p')\n"
        "loaded = [m for m in sys.modules if m.startswith('googleapiclient')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize(
    ("code", "status", "reason", "retryable"),
    [
        (3, 400, "INVALID_ARGUMENT", False),
        (5, 404, "NOT_FOUND", False),
        (6, 409, "ALREADY_EXISTS", False),
        (8, 429, "RESOURCE_EXHAUSTED", True),
        (9, 400, "FAILED_PRECONDITION", False),
        (13, 500, "INTERNAL", True),
        (14, 503, "UNAVAILABLE", True),
        (99, 500, "UNKNOWN", True),
    ],
)
def test_an_operation_error_keeps_its_code_and_maps_like_a_synchronous_one(
    code: int, status: int, reason: str, retryable: bool
) -> None:
    error = from_operation_error({"code": code, "message": "why"}, what="deploy x")
    assert (error.status, error.reason, error.retryable) == (status, reason, retryable)
    assert str(error).startswith(f"deploy x failed: the operation ended in {reason} (code {code}")
    assert str(error).endswith(": why") and error.message == "why"


def _counting(vclient: VertexClient) -> list[str]:
    submitted: list[str] = []
    submit = vclient.submit

    def counting(region: str, what: str, build: Any) -> Any:
        submitted.append(what)
        return submit(region, what, build)

    vclient.submit = counting  # type: ignore[method-assign]
    return submitted


def test_a_retryable_operation_error_is_submitted_again_then_raised_with_its_code(
    vclient: VertexClient, vprovider: VertexProvider, twin_knobs: Any
) -> None:
    submitted = _counting(vclient)
    twin_knobs(op_failure_rate=1.0)
    with pytest.raises(OperationFailed) as info:
        vprovider.create(version_key("v1"), version_fields(), version_labels("v1"), "s")
    assert (info.value.status, info.value.reason) == (500, "INTERNAL")
    assert len(submitted) == vclient.retry.attempts
    twin_knobs(op_failure_rate=0.0)
    submitted.clear()
    tf = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    missing = version_fields(containerSpec={"imageUri": tf}, artifactUri="gs://nowhere/model")
    with pytest.raises(OperationFailed) as info:
        vprovider.create(version_key("v1"), missing, version_labels("v1"), "s")
    assert (info.value.status, info.value.reason) == (400, "INVALID_ARGUMENT")
    assert len(submitted) == 1  # not retryable: submitted once
