"""Helpers of the Vertex conformance tests: uploads, endpoints and deploys through the client."""

from __future__ import annotations

from typing import Any

LOC = "us-central1"
CUSTOM_IMAGE = "us-docker.pkg.dev/my-project/serving/custom:1"
TF_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
SK_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"
CPU = {"machineSpec": {"machineType": "n1-standard-2"}, "minReplicaCount": 1}


def parent(project: str) -> str:
    return f"projects/{project}/locations/{LOC}"


def models(client: Any) -> Any:
    return client.projects().locations().models()


def endpoints(client: Any) -> Any:
    return client.projects().locations().endpoints()


def upload(
    client: Any,
    wait: Any,
    project: str,
    model_id: str | None = "m",
    *,
    parent_model: str | None = None,
    image: str = CUSTOM_IMAGE,
    uri: str | None = None,
    **model: Any,
) -> dict[str, Any]:
    """Upload a version and return the finished operation (with `error` or `response`)."""
    body: dict[str, Any] = {
        "model": {"displayName": "m", "containerSpec": {"imageUri": image}, **model}
    }
    if uri:
        body["model"]["artifactUri"] = uri
    if parent_model:
        body["parentModel"] = parent_model
    elif model_id:
        body["modelId"] = model_id
    op = models(client).upload(parent=parent(project), body=body).execute()
    return wait(client, op)


def create_endpoint(client: Any, wait: Any, project: str, **body: Any) -> dict[str, Any]:
    op = endpoints(client).create(parent=parent(project), body={"displayName": "e", **body})
    done = wait(client, op.execute())
    assert "error" not in done, done
    return {k: v for k, v in done["response"].items() if k != "@type"}


def deploy(
    client: Any,
    wait: Any,
    endpoint: str,
    model: str,
    split: dict[str, int] | None = None,
    **dm: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"deployedModel": {"model": model, "dedicatedResources": CPU, **dm}}
    if split is not None:
        body["trafficSplit"] = split
    op = endpoints(client).deployModel(endpoint=endpoint, body=body).execute()
    return wait(client, op)


def undeploy(
    client: Any, wait: Any, endpoint: str, dm_id: str, split: dict[str, int] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"deployedModelId": dm_id}
    if split is not None:
        body["trafficSplit"] = split
    op = endpoints(client).undeployModel(endpoint=endpoint, body=body).execute()
    return wait(client, op)
