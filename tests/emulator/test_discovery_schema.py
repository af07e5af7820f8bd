"""The response validator itself catches what it must (so the conformance suite can fail)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.discovery_schema import SchemaError, check_response, validate, validate_error

GOOD_VERSION = {
    "name": "projects/p/models/m/versions/v",
    "state": "READY",
    "createTime": "2024-01-01T00:00:00.123456Z",
    "etag": "AAAA",
    "autoScaling": {"minNodes": 1},
    "acceleratorConfig": {"type": "NVIDIA_TESLA_T4", "count": "1"},
    "labels": {"a": "b"},
}


def test_a_good_version_passes() -> None:
    validate(GOOD_VERSION, "GoogleCloudMlV1__Version")


@pytest.mark.parametrize(
    "change",
    [
        {"colour": "blue"},
        {"state": "SLEEPING"},
        {"createTime": "yesterday"},
        {"autoScaling": {"minNodes": "1"}},
        {"autoScaling": {"nodes": 1}},
        {"labels": {"a": 1}},
        {"etag": "not base64!"},
        {"isDefault": "true"},
    ],
)
def test_bad_versions_fail(change: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        validate({**GOOD_VERSION, **change}, "GoogleCloudMlV1__Version")


def test_operation_metadata_and_response_are_checked_by_type() -> None:
    meta = {
        "@type": "type.googleapis.com/google.cloud.ml.v1.OperationMetadata",
        "operationType": "CREATE_VERSION",
    }
    validate({"name": "o", "metadata": meta}, "GoogleLongrunning__Operation")
    with pytest.raises(SchemaError):
        validate(
            {"name": "o", "metadata": {**meta, "operationType": "BAKE"}},
            "GoogleLongrunning__Operation",
        )
    with pytest.raises(SchemaError):
        response = {"@type": "type.googleapis.com/google.cloud.ml.v1.Version", "x": 1}
        validate({"name": "o", "response": response}, "GoogleLongrunning__Operation")


def test_error_envelope_and_routing() -> None:
    validate_error({"error": {"code": 404, "message": "m", "status": "NOT_FOUND"}}, 404)
    with pytest.raises(SchemaError):
        validate_error({"error": {"code": 404, "message": "m", "status": "NOT_FOUND"}}, 400)
    with pytest.raises(SchemaError):
        validate_error({"error": "text"}, 400)
    with pytest.raises(SchemaError):  # a 2xx for a path that is no ml v1 method
        check_response("GET", "v1/projects/p/nothing", 200, b"{}")
    with pytest.raises(SchemaError):  # list answers are checked against their schema
        check_response("GET", "us-east1/v1/projects/p/models", 200, b'{"items": []}')
    check_response("GET", "us-east1/v1/projects/p/models", 200, b"{}")
    check_response("POST", "v1/projects/p/models/m:predict", 400, b'{"error": "bad"}')


def test_clients_validate_every_response(ml_client: Any, project: str) -> None:
    ml = ml_client()
    ml.projects().models().list(parent=f"projects/{project}").execute()
    assert ml._http.checked == 1
