"""Conformance: projects.models.versions and operations through the discovery client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from emulator.helpers import api_error

TF = {"runtimeVersion": "2.11", "pythonVersion": "3.7", "framework": "TENSORFLOW"}


@pytest.fixture
def ml(ml_client: Any) -> Any:
    return ml_client()


@pytest.fixture
def artifact(tiny_savedmodel: Path, bucket: Any, upload_dir: Any) -> str:
    return upload_dir(tiny_savedmodel, bucket.name, "model/1")


@pytest.fixture
def model(ml: Any, project: str) -> str:
    created = ml.projects().models().create(parent=f"projects/{project}", body={"name": "m"})
    return str(created.execute()["name"])


def versions(ml: Any) -> Any:
    return ml.projects().models().versions()


def create(ml: Any, model: str, name: str, uri: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "deploymentUri": uri, **TF, **extra}
    return dict(versions(ml).create(parent=model, body=body).execute())


def create_ready(ml: Any, model: str, name: str, uri: str, wait: Any, **extra: Any) -> Any:
    done = wait(ml, create(ml, model, name, uri, **extra))
    assert "error" not in done, done
    return versions(ml).get(name=f"{model}/versions/{name}").execute()


def test_create_version_operation_and_states(
    ml: Any, model: str, artifact: str, wait_operation: Any
) -> None:
    op = create(ml, model, "v1", artifact)
    meta = op["metadata"]
    assert op["name"].startswith(model.split("/models/")[0] + "/operations/")
    assert not op.get("done")
    assert meta["operationType"] == "CREATE_VERSION"
    assert meta["modelName"] == model
    assert meta["version"]["name"] == f"{model}/versions/v1"
    assert meta["version"]["state"] == "CREATING"
    assert meta["createTime"] and meta["startTime"]
    version = versions(ml).get(name=f"{model}/versions/v1").execute()
    assert version["state"] == "CREATING"
    done = wait_operation(ml, op)
    assert done["done"] is True and "endTime" in done["metadata"]
    assert done["response"]["name"] == f"{model}/versions/v1"
    assert done["response"]["state"] == "READY"
    version = versions(ml).get(name=f"{model}/versions/v1").execute()
    assert version["state"] == "READY"
    assert version["isDefault"] is True
    assert version["machineType"] == "mls1-c1-m2"
    assert version["deploymentUri"] == artifact
    assert version["createTime"] and version["etag"]


def test_snake_case_version_body(ml: Any, model: str, artifact: str, wait_operation: Any) -> None:
    body = {
        "name": "v1",
        "deployment_uri": artifact,
        "runtime_version": "2.11",
        "python_version": "3.7",
        "machine_type": "mls1-c4-m2",
        "auto_scaling": {"min_nodes": 0, "max_nodes": 3},
    }
    wait_operation(ml, versions(ml).create(parent=model, body=body).execute())
    version = versions(ml).get(name=f"{model}/versions/v1").execute()
    assert version["machineType"] == "mls1-c4-m2"
    assert version["autoScaling"] == {"maxNodes": 3}
    assert version["state"] == "READY"


def test_default_version_rules(ml: Any, model: str, artifact: str, wait_operation: Any) -> None:
    create_ready(ml, model, "v1", artifact, wait_operation)
    v2 = create_ready(ml, model, "v2", artifact, wait_operation)
    assert "isDefault" not in v2
    got = ml.projects().models().get(name=model).execute()
    assert got["defaultVersion"]["name"] == f"{model}/versions/v1"
    error = api_error(
        lambda: versions(ml).delete(name=f"{model}/versions/v1").execute(),
        400,
        "FAILED_PRECONDITION",
    )
    assert "Cannot delete the default version" in error["message"]
    moved = versions(ml).setDefault(name=f"{model}/versions/v2", body={}).execute()
    assert moved["isDefault"] is True and moved["name"] == f"{model}/versions/v2"
    got = ml.projects().models().get(name=model).execute()
    assert got["defaultVersion"]["name"] == f"{model}/versions/v2"
    listed = versions(ml).list(parent=model).execute()["versions"]
    assert {v["name"].rsplit("/", 1)[1]: v.get("isDefault", False) for v in listed} == {
        "v1": False,
        "v2": True,
    }
    error = api_error(lambda: ml.projects().models().delete(name=model).execute(), 400)
    assert "A model with versions cannot be deleted" in error["message"]
    done = wait_operation(ml, versions(ml).delete(name=f"{model}/versions/v1").execute())
    assert done["metadata"]["operationType"] == "DELETE_VERSION" and "error" not in done
    api_error(lambda: versions(ml).get(name=f"{model}/versions/v1").execute(), 404)
    # the default may go when it is the last version; then the model can go
    wait_operation(ml, versions(ml).delete(name=f"{model}/versions/v2").execute())
    assert "defaultVersion" not in ml.projects().models().get(name=model).execute()
    wait_operation(ml, ml.projects().models().delete(name=model).execute())
    api_error(lambda: ml.projects().models().get(name=model).execute(), 404)


def test_set_default_through_model_patch(
    ml: Any, model: str, artifact: str, wait_operation: Any
) -> None:
    create_ready(ml, model, "v1", artifact, wait_operation)
    create_ready(ml, model, "v2", artifact, wait_operation)
    body = {"defaultVersion": {"name": f"{model}/versions/v2"}}
    op = ml.projects().models().patch(name=model, body=body, updateMask="defaultVersion.name")
    wait_operation(ml, op.execute())
    got = ml.projects().models().get(name=model).execute()
    assert got["defaultVersion"]["name"] == f"{model}/versions/v2"


def test_duplicate_version_is_409(ml: Any, model: str, artifact: str) -> None:
    create(ml, model, "v1", artifact)
    api_error(lambda: create(ml, model, "v1", artifact), 409, "ALREADY_EXISTS")


def test_version_of_missing_model_is_404(ml: Any, project: str, artifact: str) -> None:
    missing = f"projects/{project}/models/ghost"
    api_error(lambda: create(ml, missing, "v1", artifact), 404, "NOT_FOUND")
    api_error(lambda: versions(ml).list(parent=missing).execute(), 404)
    api_error(lambda: versions(ml).get(name=f"{missing}/versions/v1").execute(), 404)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"name": "v-1"}, "name"),
        ({"machineType": "n1-standard-4"}, "not supported on the global endpoint"),
        (
            {
                "machineType": "mls1-c1-m2",
                "acceleratorConfig": {"type": "NVIDIA_TESLA_T4", "count": 1},
            },
            "accelerators",
        ),
        ({"autoScaling": {"minNodes": 1}, "manualScaling": {"nodes": 1}}, "Only one of"),
        ({"autoScaling": {"minNodes": 3, "maxNodes": 2}}, "max_nodes"),
        ({"manualScaling": {"nodes": 0}}, "nodes must be at least 1"),
        ({"runtimeVersion": "0.9"}, "Runtime version"),
        ({"pythonVersion": "2.7"}, "Python"),
        ({"deploymentUri": "/local/dir"}, "gs://"),
        ({"requestLoggingConfig": {"bigqueryTableName": "a.b.c"}}, "Request logging"),
        ({"labels": {"Bad": "x"}}, "label"),
        ({"autoScaling": {"metrics": [{"name": "CPU_USAGE", "target": 101}]}}, "target"),
    ],
)
def test_version_rules_on_global_endpoint(
    ml: Any, model: str, artifact: str, extra: dict[str, Any], fragment: str
) -> None:
    body = {"name": "v1", "deploymentUri": artifact, **TF, **extra}
    error = api_error(
        lambda: versions(ml).create(parent=model, body=body).execute(), 400, "INVALID_ARGUMENT"
    )
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"machineType": "mls1-c1-m2"}, "not supported on the us-east1 regional endpoint"),
        ({"machineType": "n1-standard-3"}, "not supported"),
        ({"autoScaling": {"minNodes": 0}}, "cannot scale to zero"),
        ({"acceleratorConfig": {"type": "NVIDIA_TESLA_T4", "count": 0}}, "at least 1"),
        ({"acceleratorConfig": {"type": "TPU_V9", "count": 1}}, "TPU_V9"),
    ],
)
def test_version_rules_on_regional_endpoint(
    ml_client: Any, project: str, artifact: str, extra: dict[str, Any], fragment: str
) -> None:
    regional = ml_client("us-east1")
    parent = f"projects/{project}"
    regional.projects().models().create(parent=parent, body={"name": "m"}).execute()
    body = {"name": "v1", "deploymentUri": artifact, **TF, **extra}
    error = api_error(
        lambda: versions(regional).create(parent=f"{parent}/models/m", body=body).execute(), 400
    )
    assert fragment in error["message"]


def test_regional_defaults_and_gpus(
    ml_client: Any, project: str, artifact: str, wait_operation: Any
) -> None:
    regional = ml_client("us-east1")
    parent = f"projects/{project}"
    regional.projects().models().create(parent=parent, body={"name": "m"}).execute()
    model = f"{parent}/models/m"
    version = create_ready(regional, model, "v1", artifact, wait_operation)
    assert version["machineType"] == "n1-standard-2"
    assert version["autoScaling"]["minNodes"] == 1
    gpu = {"acceleratorConfig": {"type": "NVIDIA_TESLA_T4", "count": 1}}
    manual = {"manualScaling": {"nodes": 2}, "machineType": "n1-highmem-4"}
    version = create_ready(regional, model, "v2", artifact, wait_operation, **gpu, **manual)
    assert version["acceleratorConfig"] == {"type": "NVIDIA_TESLA_T4", "count": "1"}
    assert version["manualScaling"] == {"nodes": 2}


def test_patch_version_mask_whitelist(
    ml: Any, model: str, artifact: str, wait_operation: Any
) -> None:
    name = f"{model}/versions/v1"
    before = create_ready(ml, model, "v1", artifact, wait_operation)
    body = {
        "description": "better",
        "labels": {"stage": "canary"},
        "autoScaling": {"minNodes": 2, "maxNodes": 5},
    }
    mask = "description,autoScaling.minNodes,auto_scaling.max_nodes"  # no labels on mls1-*
    op = versions(ml).patch(name=name, body=body, updateMask=mask).execute()
    assert op["metadata"]["operationType"] == "UPDATE_VERSION"
    assert versions(ml).get(name=name).execute()["state"] == "UPDATING"
    done = wait_operation(ml, op)
    assert done["response"]["description"] == "better"
    after = versions(ml).get(name=name).execute()
    assert after["state"] == "READY"
    assert "labels" not in after
    assert after["autoScaling"] == {"minNodes": 2, "maxNodes": 5}
    assert after["etag"] != before["etag"]
    logging = {"requestLoggingConfig": {"bigqueryTableName": "p.d.t", "samplingPercentage": 0.5}}
    wait_operation(
        ml, versions(ml).patch(name=name, body=logging, updateMask="requestLoggingConfig").execute()
    )
    assert (
        versions(ml).get(name=name).execute()["requestLoggingConfig"]["samplingPercentage"] == 0.5
    )
    for mask, body, fragment in [
        ("machineType", {"machineType": "mls1-c4-m2"}, "fixed at creation"),
        ("deploymentUri", {"deploymentUri": artifact}, "fixed at creation"),
        ("runtime_version", {"runtimeVersion": "2.8"}, "fixed at creation"),
        ("manualScaling.nodes", {"manualScaling": {"nodes": 2}}, "n1-*"),
        ("labels", {"labels": {"stage": "canary"}}, "fixed at creation"),
        ("autoScaling.minNodes", {"autoScaling": {"minNodes": 9}}, "max_nodes"),
        (None, {"description": "x"}, "update mask must be provided"),
    ]:
        error = api_error(
            lambda mask=mask, body=body: (
                versions(ml).patch(name=name, body=body, updateMask=mask).execute()
            ),
            400,
        )
        assert fragment in error["message"], (mask, error)


def test_busy_versions_refuse_changes(
    ml: Any, model: str, artifact: str, twin_knobs: Any, wait_operation: Any
) -> None:
    twin_knobs(op_seconds=30)
    op = create(ml, model, "v1", artifact)
    name = f"{model}/versions/v1"
    for call in (
        lambda: versions(ml).patch(name=name, body={"description": "x"}, updateMask="description"),
        lambda: versions(ml).delete(name=name),
    ):
        error = api_error(lambda call=call: call().execute(), 400, "FAILED_PRECONDITION")
        assert "CREATING" in error["message"]
    ml.projects().operations().cancel(name=op["name"]).execute()
    done = wait_operation(ml, op)
    assert done["error"]["code"] == 1
    assert done["metadata"]["isCancellationRequested"] is True
    assert versions(ml).get(name=name).execute()["state"] == "FAILED"


def test_concurrent_version_operations_quota(
    ml: Any, model: str, artifact: str, twin_knobs: Any
) -> None:
    twin_knobs(op_seconds=30)
    ops = [create(ml, model, f"v{i}", artifact) for i in range(10)]
    error = api_error(lambda: create(ml, model, "v10", artifact), 429, "RESOURCE_EXHAUSTED")
    assert "10 concurrent version operations" in error["message"]
    for op in ops:
        ml.projects().operations().cancel(name=op["name"]).execute()


def test_versions_quota(
    ml: Any, model: str, artifact: str, twin: Any, twin_knobs: Any, wait_operation: Any
) -> None:
    assert twin.knobs.get().max_versions == 200
    twin_knobs(max_versions=2)
    create(ml, model, "v1", artifact)
    create(ml, model, "v2", artifact)
    error = api_error(lambda: create(ml, model, "v3", artifact), 429, "RESOURCE_EXHAUSTED")
    assert "at most 2 versions" in error["message"]


def test_list_versions_pagination_and_filter(
    ml: Any, model: str, artifact: str, wait_operation: Any
) -> None:
    ops = [create(ml, model, f"v{i}", artifact, labels={"tier": str(i % 2)}) for i in range(5)]
    for op in ops:
        wait_operation(ml, op)
    first = versions(ml).list(parent=model, pageSize=3).execute()
    assert len(first["versions"]) == 3 and first["nextPageToken"]
    rest = versions(ml).list(parent=model, pageSize=3, pageToken=first["nextPageToken"]).execute()
    assert [v["name"][-2:] for v in first["versions"] + rest["versions"]] == [
        f"v{i}" for i in range(5)
    ]
    assert "nextPageToken" not in rest
    odd = versions(ml).list(parent=model, filter="labels.tier=1").execute()["versions"]
    assert [v["name"][-2:] for v in odd] == ["v1", "v3"]
    ready = versions(ml).list(parent=model, filter="state=READY").execute()["versions"]
    assert len(ready) == 5


def _expect_failed(ml: Any, model: str, uri: str, wait: Any, fragment: str) -> None:
    op = create(ml, model, "v1", uri)
    done = wait(ml, op)
    assert done["error"]["message"] and fragment in done["error"]["message"], done
    version = versions(ml).get(name=f"{model}/versions/v1").execute()
    assert version["state"] == "FAILED"
    assert fragment in version["errorMessage"]


def test_missing_artifact_fails_the_version(
    ml: Any, model: str, bucket: Any, wait_operation: Any
) -> None:
    _expect_failed(
        ml, model, f"gs://{bucket.name}/nothing/here", wait_operation, "doesn't contain any"
    )


def test_missing_bucket_fails_the_version(ml: Any, model: str, wait_operation: Any) -> None:
    _expect_failed(ml, model, "gs://no-such-bucket-xyz/m", wait_operation, "does not exist")


def test_artifact_without_saved_model_fails(
    ml: Any, model: str, bucket: Any, wait_operation: Any
) -> None:
    bucket.blob("m/model.joblib").upload_from_string(b"not tensorflow")
    _expect_failed(ml, model, f"gs://{bucket.name}/m", wait_operation, "saved_model.pb")


def test_unloadable_saved_model_fails(
    ml: Any, model: str, bucket: Any, wait_operation: Any
) -> None:
    bucket.blob("m/saved_model.pb").upload_from_string(b"\x00garbage, not a protobuf")
    _expect_failed(ml, model, f"gs://{bucket.name}/m", wait_operation, "could not be loaded")


def test_failed_first_version_is_not_default(
    ml: Any, model: str, bucket: Any, artifact: str, wait_operation: Any
) -> None:
    wait_operation(ml, create(ml, model, "broken", f"gs://{bucket.name}/none"))
    assert "defaultVersion" not in ml.projects().models().get(name=model).execute()
    create_ready(ml, model, "good", artifact, wait_operation)
    got = ml.projects().models().get(name=model).execute()
    assert got["defaultVersion"]["name"] == f"{model}/versions/good"
    # a FAILED version can be deleted
    wait_operation(ml, versions(ml).delete(name=f"{model}/versions/broken").execute())


def test_scikit_learn_version_needs_its_model_file(
    ml: Any, model: str, bucket: Any, wait_operation: Any
) -> None:
    bucket.blob("sk/model.joblib").upload_from_string(b"joblib bytes")
    op = create(ml, model, "sk", f"gs://{bucket.name}/sk", framework="SCIKIT_LEARN")
    assert "error" not in wait_operation(ml, op)
    bucket.blob("xgb/readme.txt").upload_from_string(b"nothing")
    op = create(ml, model, "xgb", f"gs://{bucket.name}/xgb", framework="XGBOOST")
    assert "model.bst" in wait_operation(ml, op)["error"]["message"]


def test_artifact_is_copied_at_create_time(
    ml: Any, model: str, artifact: str, bucket: Any, twin_knobs: Any, wait_operation: Any
) -> None:
    twin_knobs(op_seconds=1.0)
    op = create(ml, model, "v1", artifact)
    for blob in list(bucket.list_blobs()):
        blob.delete()
    done = wait_operation(ml, op)
    assert "error" not in done
    assert versions(ml).get(name=f"{model}/versions/v1").execute()["state"] == "READY"


def test_operations_get_list_and_unknown(
    ml: Any, project: str, model: str, artifact: str, wait_operation: Any
) -> None:
    op = create(ml, model, "v1", artifact)
    wait_operation(ml, op)
    listed = ml.projects().operations().list(name=f"projects/{project}").execute()
    assert [o["name"] for o in listed["operations"]] == [op["name"]]
    assert listed["operations"][0]["done"] is True
    api_error(
        lambda: (
            ml.projects().operations().get(name=f"projects/{project}/operations/nope").execute()
        ),
        404,
    )
    # cancelling a finished operation changes nothing
    assert ml.projects().operations().cancel(name=op["name"]).execute() == {}
    assert "error" not in ml.projects().operations().get(name=op["name"]).execute()


def test_operation_finishes_after_op_seconds(
    ml: Any, model: str, artifact: str, twin_knobs: Any, wait_operation: Any
) -> None:
    twin_knobs(op_seconds=0.6)
    started = time.monotonic()
    wait_operation(ml, create(ml, model, "v1", artifact))
    assert time.monotonic() - started >= 0.6
