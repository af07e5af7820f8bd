"""Vertex endpoints: create/get/list/patch/delete, deploy/undeploy/mutate and their refusals,
operations under every parent, the LRO quota and the knobs."""

from __future__ import annotations

from typing import Any

from emulator.helpers import api_error
from emulator.vertex_support import (
    CPU,
    create_endpoint,
    deploy,
    endpoints,
    models,
    parent,
    undeploy,
    upload,
)


def _model(client: Any, wait: Any, project: str, versions: int = 1) -> str:
    upload(client, wait, project)
    name = f"{parent(project)}/models/m"
    for _ in range(versions - 1):
        upload(client, wait, project, parent_model=name)
    return name


def test_create_get_list_patch_endpoint(vertex_client: Any, wait_vertex: Any, project: str) -> None:
    ep = create_endpoint(vertex_client, wait_vertex, project, labels={"managed-by": "deployer"})
    eid = ep["name"].rsplit("/", 1)[1]
    assert eid.isdigit() and not eid.startswith("0") and len(eid) <= 19
    create_endpoint(vertex_client, wait_vertex, project, labels={"managed-by": "other"})
    api = endpoints(vertex_client)
    assert api.get(name=ep["name"]).execute() == ep
    found = api.list(parent=parent(project), filter='labels.managed-by="deployer"').execute()
    assert [e["name"] for e in found["endpoints"]] == [ep["name"]]
    page = api.list(parent=parent(project), pageSize=1).execute()
    assert len(page["endpoints"]) == 1 and page["nextPageToken"]
    out = api.patch(
        name=ep["name"], updateMask="description,labels",
        body={"description": "d", "labels": {"a": "b"}, "etag": ep["etag"]},
    ).execute()  # fmt: skip
    assert out["description"] == "d" and out["labels"] == {"a": "b"} and out["etag"] != ep["etag"]
    stale = {"description": "x", "etag": ep["etag"]}
    api_error(
        lambda: api.patch(name=ep["name"], updateMask="description", body=stale).execute(),
        409, "ABORTED",
    )  # fmt: skip
    for mask in ("deployedModels", "network"):
        api_error(
            lambda m=mask: api.patch(name=ep["name"], updateMask=m, body={}).execute(),
            400, "INVALID_ARGUMENT",
        )  # fmt: skip
    bad_split = {"trafficSplit": {"123": 100}}
    api_error(
        lambda: api.patch(name=ep["name"], updateMask="traffic_split", body=bad_split).execute(),
        400, "INVALID_ARGUMENT",
    )  # fmt: skip
    api_error(lambda: api.create(parent=parent(project), body={}).execute(), 400)


def test_deploy_canary_split_and_undeploy(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    model = _model(vertex_client, wait_vertex, project, versions=2)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)
    first = deploy(vertex_client, wait_vertex, ep, f"{model}@1", {"0": 100}, displayName="m/v1")
    assert first["metadata"]["deploymentStage"] == "SUCCESSFULLY_DEPLOYED", first
    dm1 = first["response"]["deployedModel"]
    assert dm1["modelVersionId"] == "1" and dm1["displayName"] == "m/v1"
    assert dm1["dedicatedResources"]["maxReplicaCount"] == 1
    assert api.get(name=ep).execute()["trafficSplit"] == {dm1["id"]: 100}
    # an empty split leaves the new one at 0%
    second = deploy(vertex_client, wait_vertex, ep, f"{model}@2")
    dm2 = second["response"]["deployedModel"]
    state = api.get(name=ep).execute()
    assert state["trafficSplit"] == {dm1["id"]: 100} and len(state["deployedModels"]) == 2
    version = models(vertex_client).get(name=f"{model}@2").execute()
    assert version["deployedModels"] == [{"endpoint": ep, "deployedModelId": dm2["id"]}]
    # undeploying a model with traffic is refused; "0" is refused in an undeploy split
    busy = api_error(lambda: undeploy(vertex_client, wait_vertex, ep, dm1["id"]), 400)
    assert busy["status"] == "FAILED_PRECONDITION"
    zero = api_error(lambda: undeploy(vertex_client, wait_vertex, ep, dm1["id"], {"0": 100}), 400)
    assert zero["message"] == "The following DeployedModel ID(s) [0] do not exist."
    # a split that removes it lets it go
    done = undeploy(vertex_client, wait_vertex, ep, dm1["id"], {dm2["id"]: 100})
    assert "error" not in done
    assert api.get(name=ep).execute()["trafficSplit"] == {dm2["id"]: 100}
    # the version cannot go while deployed; the endpoint cannot go while anything is deployed
    reg = models(vertex_client)
    models(vertex_client).mergeVersionAliases(
        name=f"{model}@1", body={"versionAliases": ["default"]}
    ).execute()
    api_error(lambda: reg.deleteVersion(name=f"{model}@2").execute(), 400, "FAILED_PRECONDITION")
    api_error(lambda: reg.delete(name=model).execute(), 400, "FAILED_PRECONDITION")
    api_error(lambda: api.delete(name=ep).execute(), 400, "FAILED_PRECONDITION")
    # UndeployModelRequest [DD]: the last deployed model may go while it holds 100%; the
    # split ends up empty (the SDK's undeploy_all sends no split for it)
    assert api.get(name=ep).execute()["trafficSplit"] == {dm2["id"]: 100}
    assert "error" not in undeploy(vertex_client, wait_vertex, ep, dm2["id"])
    state = api.get(name=ep).execute()
    assert "deployedModels" not in state and "trafficSplit" not in state
    assert "error" not in wait_vertex(vertex_client, reg.deleteVersion(name=f"{model}@2").execute())
    op = api.delete(name=ep).execute()
    assert op["name"].startswith(f"{ep}/operations/")
    assert "error" not in wait_vertex(vertex_client, op)
    api_error(lambda: api.get(name=ep).execute(), 404, "NOT_FOUND")


def test_deploy_refusals(vertex_client: Any, wait_vertex: Any, project: str) -> None:
    model = _model(vertex_client, wait_vertex, project)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)

    def attempt(dm: dict[str, Any], split: dict[str, int] | None = None) -> Any:
        body: dict[str, Any] = {"deployedModel": {"model": model, **dm}}
        if split is not None:
            body["trafficSplit"] = split
        return lambda: api.deployModel(endpoint=ep, body=body).execute()

    spec = {"machineType": "n1-standard-2"}
    l4 = {**spec, "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1}

    def res(machine: dict[str, Any] = spec, low: int = 1, **more: Any) -> dict[str, Any]:
        return {"dedicatedResources": {"machineSpec": machine, "minReplicaCount": low, **more}}

    unknown_metric = [{"metricName": "cpu", "target": 50}]
    for dm, split in (
        ({}, None),
        (res({"machineType": "n9-huge"}), None),
        (res(low=0), None),
        (res(low=2, maxReplicaCount=1), None),
        (res(l4), None),
        (res(autoscalingMetricSpecs=unknown_metric), None),
        (res(), {"0": 50}),
        (res(), {"0": 50, "999": 50}),
        ({**res(), "id": "x1"}, None),
    ):
        api_error(attempt(dm, split), 400, "INVALID_ARGUMENT")
    api_error(
        lambda: api.deployModel(
            endpoint=ep, body={"deployedModel": {"model": f"{model}@7", "dedicatedResources": CPU}}
        ).execute(),
        404, "NOT_FOUND",
    )  # fmt: skip


def test_serialized_mutations_mutate_and_operations_everywhere(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    model = _model(vertex_client, wait_vertex, project)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)
    dm = deploy(vertex_client, wait_vertex, ep, model, {"0": 100})["response"]["deployedModel"]
    twin_knobs(op_seconds=1.0)
    body = {
        "deployedModel": {"id": dm["id"], "dedicatedResources": {"maxReplicaCount": 3}},
        "updateMask": "dedicated_resources.max_replica_count",
    }
    op = api.mutateDeployedModel(endpoint=ep, body=body).execute()
    assert op["name"].startswith(f"{ep}/operations/")
    refused = api_error(lambda: api.mutateDeployedModel(endpoint=ep, body=body).execute(), 400)
    assert refused["status"] == "FAILED_PRECONDITION"
    api_error(
        lambda: api.patch(name=ep, updateMask="description", body={"description": "x"}).execute(),
        400, "FAILED_PRECONDITION",
    )  # fmt: skip
    api_error(
        lambda: api.deployModel(
            endpoint=ep, body={"deployedModel": {"model": model, "dedicatedResources": CPU}}
        ).execute(),
        400, "FAILED_PRECONDITION",
    )  # fmt: skip
    op_id = op["name"].rsplit("/", 1)[1]
    where = vertex_client.projects().locations()
    short = f"{parent(project)}/operations/{op_id}"
    waited = where.operations().wait(name=short, timeout="10s").execute()
    assert waited["done"] and waited["name"] == op["name"]
    again = where.endpoints().operations().get(name=op["name"]).execute()
    assert again == waited
    mutated = waited["response"]["deployedModel"]
    assert mutated["id"] == dm["id"] and mutated["dedicatedResources"]["maxReplicaCount"] == 3
    twin_knobs(op_seconds=0.05)
    for mask in ("dedicatedResources.machineSpec", "displayName"):
        api_error(
            lambda m=mask: api.mutateDeployedModel(
                endpoint=ep, body={**body, "updateMask": m}
            ).execute(),
            400, "INVALID_ARGUMENT",
        )  # fmt: skip
    lower = {
        "deployedModel": {"id": dm["id"], "dedicatedResources": {"minReplicaCount": 0}},
        "updateMask": "dedicatedResources.minReplicaCount",
    }
    api_error(lambda: api.mutateDeployedModel(endpoint=ep, body=lower).execute(), 400)
    api_error(lambda: where.models().operations().get(name=f"{model}/operations/1").execute(), 404)


def test_deployment_stage_advances_and_knobs_apply(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    model = _model(vertex_client, wait_vertex, project, versions=2)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)
    twin_knobs(op_seconds=0.5)
    body = {"deployedModel": {"model": model, "dedicatedResources": CPU}}
    op = api.deployModel(endpoint=ep, body=body).execute()
    assert op["metadata"]["deploymentStage"] == "STARTING_DEPLOYMENT"
    assert op["metadata"]["@type"].endswith("DeployModelOperationMetadata")
    assert wait_vertex(vertex_client, op)["metadata"]["deploymentStage"] == "SUCCESSFULLY_DEPLOYED"
    # an injected operation failure changes nothing
    twin_knobs(op_seconds=0.05, op_failure_rate=1.0)
    failed = deploy(vertex_client, wait_vertex, ep, f"{model}@2", {"0": 100})
    assert failed["error"]["code"] == 13
    assert failed["metadata"]["deploymentStage"] == "FAILED_TO_DEPLOY"
    assert len(api.get(name=ep).execute()["deployedModels"]) == 1
    # the LRO quota per project and region
    twin_knobs(op_failure_rate=0.0, vertex_lro_per_minute=1)
    other = f"projects/{project}/locations/europe-west4"
    api.create(parent=other, body={"displayName": "x"}).execute()
    quota = api_error(lambda: api.create(parent=other, body={"displayName": "y"}).execute(), 429)
    assert quota["status"] == "RESOURCE_EXHAUSTED"
    # injected faults answer Vertex calls too
    twin_knobs(vertex_lro_per_minute=60, fault_rate=1.0, seed=3)
    from googleapiclient.errors import HttpError

    try:
        api.get(name=ep).execute(num_retries=0)
    except HttpError as exc:
        assert exc.status_code in (429, 503)
    else:
        raise AssertionError("fault_rate=1 let a Vertex call through")


def test_delete_version_waits_for_undeploy_to_settle(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    model = _model(vertex_client, wait_vertex, project, versions=2)
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    dm = deploy(vertex_client, wait_vertex, ep, f"{model}@2")["response"]["deployedModel"]
    twin_knobs(vertex_undeploy_settle_s=30.0)
    assert "error" not in undeploy(vertex_client, wait_vertex, ep, dm["id"])
    reg = models(vertex_client)
    # python-aiplatform#2807: the version still reports the deployment, and every delete is
    # refused as if it were still deployed
    assert reg.get(name=f"{model}@2").execute()["deployedModels"] == [
        {"endpoint": ep, "deployedModelId": dm["id"]}
    ]
    error = api_error(lambda: reg.deleteVersion(name=f"{model}@2").execute(), 400)
    assert error["status"] == "FAILED_PRECONDITION" and "is deployed" in error["message"]
    error = api_error(lambda: reg.delete(name=model).execute(), 400)
    assert error["status"] == "FAILED_PRECONDITION" and "undeploy it first" in error["message"]
    twin_knobs(vertex_undeploy_settle_s=0.0)
    assert "deployedModels" not in reg.get(name=f"{model}@2").execute()
    assert "error" not in wait_vertex(vertex_client, reg.deleteVersion(name=f"{model}@2").execute())
