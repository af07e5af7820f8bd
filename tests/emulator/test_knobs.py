"""Test knobs: injected faults, operation failures, latency, seed; set via the control route."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from googleapiclient.errors import HttpError


def control(twin: Any, method: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{twin.url}/_emulator/config",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def restore(twin: Any) -> Any:
    saved = twin.knobs.as_dict()
    yield
    twin.knobs.update(saved)


def _codes(ml: Any, project: str, calls: int) -> list[int]:
    codes = []
    for _ in range(calls):
        try:
            ml.projects().models().list(parent=f"projects/{project}").execute()
            codes.append(200)
        except HttpError as exc:
            codes.append(exc.status_code)
    return codes


def test_control_route_reads_and_changes_knobs(twin: Any, restore: None) -> None:
    knobs = control(twin, "GET")
    assert knobs["op_seconds"] == 0.2 and knobs["max_version_ops"] == 10
    changed = control(twin, "POST", {"latency_ms": 5, "op_failure_rate": 0.5})
    assert changed["latency_ms"] == 5 and changed["op_failure_rate"] == 0.5
    assert twin.knobs.get().op_failure_rate == 0.5
    for bad in ({"fault_rate": 1.5}, {"colour": 1}, {"op_seconds": "fast"}):
        with pytest.raises(urllib.error.HTTPError) as info:
            control(twin, "POST", bad)
        assert info.value.code == 400
        assert json.loads(info.value.read())["error"]["status"] == "INVALID_ARGUMENT"


def test_fault_rate_one_answers_every_call_429_or_503(
    twin: Any, ml_client: Any, project: str, restore: None
) -> None:
    control(twin, "POST", {"fault_rate": 1.0, "seed": 3})
    ml = ml_client()
    codes = _codes(ml, project, 20)
    assert set(codes) == {429, 503}


def test_injected_429_carries_retry_after(twin: Any, project: str, restore: None) -> None:
    control(twin, "POST", {"fault_rate": 1.0, "seed": 1})
    seen = set()
    for _ in range(20):
        try:
            urllib.request.urlopen(f"{twin.url}/v1/projects/{project}/models", timeout=10)
        except urllib.error.HTTPError as exc:
            seen.add(exc.code)
            body = json.loads(exc.read())
            if exc.code == 429:
                assert exc.headers["Retry-After"] == "1"
                assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
            else:
                assert body["error"]["status"] == "UNAVAILABLE"
    assert seen == {429, 503}


def test_seed_makes_faults_repeatable(
    twin: Any, ml_client: Any, project: str, restore: None
) -> None:
    ml = ml_client()
    control(twin, "POST", {"fault_rate": 0.5, "seed": 42})
    first = _codes(ml, project, 30)
    control(twin, "POST", {"seed": 42})
    second = _codes(ml, project, 30)
    assert first == second
    assert 200 in first and len(set(first)) > 1


def test_op_failure_rate(
    twin: Any, ml_client: Any, project: str, bucket: Any, wait_operation: Any, restore: None
) -> None:
    ml = ml_client()
    bucket.blob("sk/model.joblib").upload_from_string(b"x")
    ml.projects().models().create(parent=f"projects/{project}", body={"name": "m"}).execute()
    control(twin, "POST", {"op_failure_rate": 1.0})
    body = {
        "name": "v1",
        "deploymentUri": f"gs://{bucket.name}/sk",
        "runtimeVersion": "2.11",
        "framework": "SCIKIT_LEARN",
    }
    op = ml.projects().models().versions().create(parent=f"projects/{project}/models/m", body=body)
    done = wait_operation(ml, op.execute())
    assert done["error"]["code"] == 13
    version = ml.projects().models().versions().get(name=f"projects/{project}/models/m/versions/v1")
    assert version.execute()["state"] == "FAILED"


def test_latency(twin: Any, ml_client: Any, project: str, restore: None) -> None:
    ml = ml_client()
    control(twin, "POST", {"latency_ms": 150})
    started = time.monotonic()
    ml.projects().models().list(parent=f"projects/{project}").execute()
    assert time.monotonic() - started >= 0.15
