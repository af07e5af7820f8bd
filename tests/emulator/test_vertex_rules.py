"""Issue 20, item 2: the service rules the twin and deployer's validator both get right. Each
test sends the request and checks the service's answer; the source is named next to the rule
in `deployer/catalog_vertex.py` and `deployer/emulator/vertex/`. The validator's side of each
rule is in tests/config/test_vertex_rules.py."""

from __future__ import annotations

from typing import Any

from emulator.helpers import api_error
from emulator.vertex_support import (
    CPU,
    CUSTOM_IMAGE,
    SK_IMAGE,
    create_endpoint,
    endpoints,
    models,
    parent,
    upload,
)


def _model(client: Any, wait: Any, project: str) -> str:
    done = upload(client, wait, project)
    assert "error" not in done, done
    return str(done["response"]["model"])


def test_images_come_from_artifact_or_container_registry_or_the_prebuilt_list(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    reg = models(vertex_client)

    def send(image: str) -> Any:
        body = {"model": {"displayName": "m", "containerSpec": {"imageUri": image}}}
        return lambda: reg.upload(parent=parent(project), body=body).execute()

    for image in (
        "docker.io/library/python:3.11",
        "ghcr.io/acme/serve:1",
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-99:latest",  # not on the list
        "us-docker.pkg.dev/vertex-ai/prediction/sklearn-gpu.1-3:latest",  # sklearn: CPU only
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:2024",  # only :latest
    ):
        error = api_error(send(image), 400, "INVALID_ARGUMENT")
        assert "image_uri" in error["message"], error
    for image in (CUSTOM_IMAGE, "gcr.io/acme/serve:1", "eu.gcr.io/acme/serve@sha256:abc"):
        assert "error" not in wait_vertex(vertex_client, send(image)())


def test_env_names_must_be_c_identifiers(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    reg = models(vertex_client)
    for name in ("MODEL-DIR", "1ST", "A B", ""):
        spec = {"imageUri": CUSTOM_IMAGE, "env": [{"name": name, "value": "x"}]}
        body = {"model": {"displayName": "m", "containerSpec": spec}}
        error = api_error(
            lambda b=body: reg.upload(parent=parent(project), body=b).execute(),
            400,
            "INVALID_ARGUMENT",
        )
        assert "C identifier" in error["message"]
    spec = {"imageUri": CUSTOM_IMAGE, "env": [{"name": "_MODEL_DIR2", "value": "x"}]}
    op = reg.upload(
        parent=parent(project), body={"model": {"displayName": "m", "containerSpec": spec}}
    )
    assert "error" not in wait_vertex(vertex_client, op.execute())


def test_sklearn_artifact_with_two_model_files_fails_its_upload_operation(
    vertex_client: Any, wait_vertex: Any, project: str, bucket: Any
) -> None:
    bucket.blob("two/model.joblib").upload_from_string(b"a")
    bucket.blob("two/model.pkl").upload_from_string(b"b")
    done = upload(
        vertex_client, wait_vertex, project, image=SK_IMAGE, uri=f"gs://{bucket.name}/two"
    )
    assert done["error"]["code"] == 9, done  # FAILED_PRECONDITION, inside the operation
    assert "more than one model file (model.joblib, model.pkl)" in done["error"]["message"]
    api_error(lambda: models(vertex_client).get(name=f"{parent(project)}/models/m").execute(), 404)


def test_a_full_logging_table_must_not_exist_yet(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    """BigQueryDestination.outputUri [DD]: "When the full table reference is specified, the
    Dataset must exist and table must not exist." Two endpoints (here in two regions) cannot
    log into one table, and the table outlives the endpoint that made the service create it."""
    full = {"enabled": True, "bigqueryDestination": {"outputUri": "bq://acme.logs.iris"}}
    dataset = {"enabled": True, "bigqueryDestination": {"outputUri": "bq://acme.logs"}}
    first = create_endpoint(
        vertex_client, wait_vertex, project, predictRequestResponseLoggingConfig=full
    )
    api = endpoints(vertex_client)
    other = f"projects/{project}/locations/europe-west4"
    body = {"displayName": "e", "predictRequestResponseLoggingConfig": full}
    error = api_error(lambda: api.create(parent=other, body=body).execute(), 400)
    assert (
        error["status"] == "INVALID_ARGUMENT"
        and "acme.logs.iris already exists" in (error["message"])
    )
    for _ in range(2):  # only the dataset: the service names the table itself
        create_endpoint(
            vertex_client, wait_vertex, project, predictRequestResponseLoggingConfig=dataset
        )
    assert "error" not in wait_vertex(vertex_client, api.delete(name=first["name"]).execute())
    api_error(lambda: api.create(parent=parent(project), body=body).execute(), 400)


def test_machines_gpus_counts_and_autoscaling(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    model = _model(vertex_client, wait_vertex, project)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)

    def deploy(resources: dict[str, Any], **dm: Any) -> Any:
        body = {"deployedModel": {"model": model, "dedicatedResources": resources, **dm}}
        return lambda: api.deployModel(endpoint=ep, body=body).execute()

    def on(machine: str, gpu: str | None = None, count: int = 0, **more: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {"machineType": machine}
        if gpu:
            spec.update(acceleratorType=gpu, acceleratorCount=count)
        return {"machineSpec": spec, "minReplicaCount": 1, **more}

    duty = [{"metricName": "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"}]
    for refused, why in (
        (on("n1-standard-64"), "not supported for online prediction"),  # N1 stops at 32
        (on("n1-highmem-96"), "not supported for online prediction"),
        (on("n1-standard-16", "NVIDIA_TESLA_V100", 1), "at most 12"),  # vCPU cap per count
        (on("n1-standard-32", "NVIDIA_TESLA_P100", 1), "at most 16"),
        (on("n1-standard-4", "NVIDIA_TESLA_T4", 8), "not offered"),  # T4: 1, 2 or 4
        (on("n1-standard-4", "NVIDIA_TESLA_K80", 1), "does not attach"),  # end of support
        (on("n1-standard-4", "NVIDIA_L4", 1), "does not attach"),  # L4 only on g2
        (on("a2-highgpu-2g", "NVIDIA_TESLA_A100", 1), "comes with 2 x NVIDIA_TESLA_A100"),
        (on("a3-highgpu-2g", "NVIDIA_TESLA_A100", 2), "comes with 2 x NVIDIA_H100_80GB"),
        (on("n1-standard-4", autoscalingMetricSpecs=duty), "needs accelerators"),
        ({"minReplicaCount": 1}, "machine_spec is required"),
    ):
        error = api_error(deploy(refused), 400, "INVALID_ARGUMENT")
        assert why in error["message"], (refused, error)
    error = api_error(deploy(CPU, serviceAccount="robot"), 400, "INVALID_ARGUMENT")
    assert "e-mail" in error["message"]
    accepted = (
        on("n1-standard-8", "NVIDIA_TESLA_V100", 1),
        on("a3-highgpu-2g", "NVIDIA_H100_80GB", 2, autoscalingMetricSpecs=duty),
    )
    for resources in accepted:
        done = wait_vertex(
            vertex_client, deploy(resources, serviceAccount="s@p.iam.gserviceaccount.com")()
        )
        assert "error" not in done, done


def test_endpoints_only_where_online_prediction_is_offered(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    """us-east7 has an API host (registry calls work) but no online prediction [INF]."""
    where = f"projects/{project}/locations/us-east7"
    assert models(vertex_client).list(parent=where).execute() == {}
    error = api_error(
        lambda: endpoints(vertex_client).create(parent=where, body={"displayName": "e"}).execute(),
        400,
        "INVALID_ARGUMENT",
    )
    assert "online prediction is not offered in 'us-east7'" in error["message"]
