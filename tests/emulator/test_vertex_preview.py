"""Issue 24 in the twin: endpoint access and settings, deployment resource pools, spot nodes,
autoscaling targets, and the v1beta1 surface (scale to zero, rolling deployments) with the
service's rules (sources in docs/emulator.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deployer.providers.vertex import catalog as cv
from emulator.helpers import api_error
from emulator.vertex_support import (
    CPU,
    TF_IMAGE,
    create_endpoint,
    deploy,
    endpoints,
    parent,
    upload,
)

NETWORK = "projects/123456789/global/networks/vpc"
PSC = {"enablePrivateServiceConnect": True, "projectAllowlist": ["acme-prod"]}


@pytest.fixture
def tf_uri(bucket: Any, upload_dir: Any, tiny_savedmodel: Path) -> str:
    return str(upload_dir(tiny_savedmodel, bucket.name, "tiny"))


@pytest.fixture
def beta(twin: Any) -> Any:
    import httplib2
    from googleapiclient import discovery

    return discovery.build(
        "aiplatform",
        "v1beta1",
        static_discovery=True,
        http=httplib2.Http(timeout=60),
        client_options={"api_endpoint": twin.api_endpoint()},
    )


def _tf_model(client: Any, wait: Any, project: str, uri: str) -> str:
    done = upload(client, wait, project, image=TF_IMAGE, uri=uri)
    assert "error" not in done, done
    return f"{parent(project)}/models/m"


def _create_refused(client: Any, project: str, **body: Any) -> str:
    call = endpoints(client).create(parent=parent(project), body={"displayName": "e", **body})
    return str(api_error(call.execute, 400, "INVALID_ARGUMENT")["message"])


def test_one_kind_of_access_per_endpoint(vertex_client: Any, project: str) -> None:
    """PSC and a VPC network exclude each other [DD Endpoint.privateServiceConnectConfig]; PSC
    and dedicatedEndpointEnabled conflict [MM Endpoint.yaml]; the network names a project by
    number [DD Endpoint.network]; the timeout needs a dedicated or PSC endpoint [DOCS]."""
    assert "mutually exclusive" in _create_refused(
        vertex_client, project, privateServiceConnectConfig=PSC, network=NETWORK
    )
    assert "dedicated" in _create_refused(
        vertex_client, project, privateServiceConnectConfig=PSC, dedicatedEndpointEnabled=True
    )
    assert "project_number" in _create_refused(
        vertex_client, project, network="projects/acme/global/networks/vpc"
    )
    assert "dedicated and Private Service Connect endpoints only" in _create_refused(
        vertex_client, project, clientConnectionConfig={"inferenceTimeout": "60s"}
    )
    assert "up to 3600s" in _create_refused(
        vertex_client,
        project,
        dedicatedEndpointEnabled=True,
        clientConnectionConfig={"inferenceTimeout": "7200s"},
    )


def test_what_patches_in_place_and_what_is_fixed(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    ep = create_endpoint(vertex_client, wait_vertex, project, privateServiceConnectConfig=PSC)
    assert ep["privateServiceConnectConfig"]["serviceAttachment"]
    api = endpoints(vertex_client)
    wider = {**PSC, "projectAllowlist": ["acme-prod", "acme-ci"]}
    out = api.patch(
        name=ep["name"],
        updateMask="privateServiceConnectConfig",
        body={"privateServiceConnectConfig": wider},
    ).execute()
    assert out["privateServiceConnectConfig"]["projectAllowlist"] == ["acme-prod", "acme-ci"]
    off = {"enablePrivateServiceConnect": False}
    for mask, body in (
        ("privateServiceConnectConfig", {"privateServiceConnectConfig": off}),
        ("network", {"network": NETWORK}),
        ("clientConnectionConfig", {"clientConnectionConfig": {"inferenceTimeout": "60s"}}),
    ):
        api_error(
            lambda m=mask, b=body: api.patch(name=ep["name"], updateMask=m, body=b).execute(),
            400,
            "INVALID_ARGUMENT",
        )
    # endpoints.update changes the timeout only [DD UpdateEndpointLongRunningRequest]
    timeout = {"name": ep["name"], "clientConnectionConfig": {"inferenceTimeout": "600s"}}
    done = wait_vertex(
        vertex_client, api.update(name=ep["name"], body={"endpoint": timeout}).execute()
    )
    assert "error" not in done, done
    assert api.get(name=ep["name"]).execute()["clientConnectionConfig"] == {
        "inferenceTimeout": "600s"
    }
    renamed = {**timeout, "displayName": "other"}
    api_error(
        lambda: api.update(name=ep["name"], body={"endpoint": renamed}).execute(),
        400,
        "INVALID_ARGUMENT",
    )


def test_a_dedicated_endpoint_has_its_dns_and_refuses_the_shared_host(
    vertex_client: Any, wait_vertex: Any, project: str, tf_uri: str
) -> None:
    model = _tf_model(vertex_client, wait_vertex, project, tf_uri)
    ep = create_endpoint(vertex_client, wait_vertex, project, dedicatedEndpointEnabled=True)
    eid = ep["name"].rsplit("/", 1)[1]
    assert ep["dedicatedEndpointDns"].startswith(f"{eid}.us-central1-")
    done = deploy(vertex_client, wait_vertex, ep["name"], model, {"0": 100})
    assert "error" not in done, done
    predict = endpoints(vertex_client).predict(endpoint=ep["name"], body={"instances": [[1.0]]})
    message = api_error(predict.execute, 400, "FAILED_PRECONDITION")["message"]
    assert "dedicated DNS" in message


def test_spot_and_request_count_targets(
    vertex_client: Any, wait_vertex: Any, project: str, tf_uri: str
) -> None:
    """A request count is a rate per node, not a percentage [SDK], so 600 is taken and 0 is
    not; a utilization target stays 1-100 [DD AutoscalingMetricSpec.target]."""
    model = _tf_model(vertex_client, wait_vertex, project, tf_uri)
    ep = create_endpoint(vertex_client, wait_vertex, project)

    def resources(metric: str, target: int) -> dict[str, Any]:
        specs = [{"metricName": metric, "target": target}]
        return {**CPU, "maxReplicaCount": 2, "spot": True, "autoscalingMetricSpecs": specs}

    done = deploy(
        vertex_client,
        wait_vertex,
        ep["name"],
        model,
        dedicatedResources=resources(cv.REQUEST_METRIC, 600),
    )
    assert done["response"]["deployedModel"]["dedicatedResources"]["spot"] is True
    for metric, target in ((cv.REQUEST_METRIC, 0), (cv.CPU_METRIC, 600)):
        call = endpoints(vertex_client).deployModel(
            endpoint=ep["name"],
            body={
                "deployedModel": {"model": model, "dedicatedResources": resources(metric, target)}
            },
        )
        api_error(call.execute, 400, "INVALID_ARGUMENT")


def test_scale_to_zero_only_through_v1beta1(
    vertex_client: Any, beta: Any, wait_vertex: Any, project: str, tf_uri: str
) -> None:
    """v1 needs a node [DD DedicatedResources.minReplicaCount]; v1beta1 takes 0 with an initial
    count up to the max and periods of 300-28800 s [DD v1beta1], and only v1beta1 shows them."""
    model = _tf_model(vertex_client, wait_vertex, project, tf_uri)
    ep = create_endpoint(vertex_client, wait_vertex, project)
    zero = {**CPU, "minReplicaCount": 0, "maxReplicaCount": 2}
    v1 = endpoints(vertex_client).deployModel(
        endpoint=ep["name"], body={"deployedModel": {"model": model, "dedicatedResources": zero}}
    )
    api_error(v1.execute, 400, "INVALID_ARGUMENT")

    def beta_deploy(resources: dict[str, Any]) -> Any:
        body = {"deployedModel": {"model": model, "dedicatedResources": resources}}
        return endpoints(beta).deployModel(endpoint=ep["name"], body=body)

    api_error(beta_deploy(zero).execute, 400, "INVALID_ARGUMENT")  # no initial count
    short = {**zero, "initialReplicaCount": 1, "scaleToZeroSpec": {"idleScaledownPeriod": "60s"}}
    api_error(beta_deploy(short).execute, 400, "INVALID_ARGUMENT")
    good = {**zero, "initialReplicaCount": 1, "scaleToZeroSpec": {"idleScaledownPeriod": "900s"}}
    done = wait_vertex(beta, beta_deploy(good).execute())
    assert "error" not in done, done
    through_v1 = endpoints(vertex_client).get(name=ep["name"]).execute()
    assert "scaleToZeroSpec" not in through_v1["deployedModels"][0]["dedicatedResources"]
    through_beta = endpoints(beta).get(name=ep["name"]).execute()
    dm = through_beta["deployedModels"][0]
    assert dm["dedicatedResources"]["scaleToZeroSpec"] == {"idleScaledownPeriod": "900s"}
    # mutating the scale-to-zero settings is v1beta1 only [DD MutateDeployedModelRequest]
    mask = "dedicatedResources.scaleToZeroSpec"
    body = {"deployedModel": {"id": dm["id"]}, "updateMask": mask}
    api_error(
        endpoints(vertex_client).mutateDeployedModel(endpoint=ep["name"], body=body).execute,
        400,
        "INVALID_ARGUMENT",
    )


def test_a_rolling_deployment_replaces_the_previous_one_and_takes_its_traffic(
    vertex_client: Any, beta: Any, wait_vertex: Any, project: str, tf_uri: str
) -> None:
    model = _tf_model(vertex_client, wait_vertex, project, tf_uri)
    upload(vertex_client, wait_vertex, project, parent_model=model, image=TF_IMAGE, uri=tf_uri)
    ep = create_endpoint(vertex_client, wait_vertex, project)
    first = deploy(vertex_client, wait_vertex, ep["name"], f"{model}@1", {"0": 100})
    previous = first["response"]["deployedModel"]["id"]

    def roll(options: dict[str, Any]) -> Any:
        dm = {"model": f"{model}@2", "rolloutOptions": options}
        return endpoints(beta).deployModel(endpoint=ep["name"], body={"deployedModel": dm})

    api_error(roll({"previousDeployedModel": "42", "maxSurgeReplicas": 1}).execute, 400)
    api_error(roll({"previousDeployedModel": previous}).execute, 400)  # surge and down both 0
    done = wait_vertex(
        beta, roll({"previousDeployedModel": previous, "maxSurgeReplicas": 1}).execute()
    )
    assert "error" not in done, done
    new = done["response"]["deployedModel"]
    assert new["rolloutOptions"]["revisionNumber"] == 1
    after = endpoints(beta).get(name=ep["name"]).execute()
    assert [d["id"] for d in after["deployedModels"]] == [new["id"]]
    assert after["trafficSplit"] == {new["id"]: 100}
    assert after["deployedModels"][0]["dedicatedResources"]["machineSpec"] == {
        "machineType": "n1-standard-2"
    }
    rollout = endpoints(vertex_client).deployModel(
        endpoint=ep["name"],
        body={"deployedModel": {"model": model, "rolloutOptions": {"maxSurgeReplicas": 1}}},
    )
    api_error(rollout.execute, 400, "INVALID_ARGUMENT")  # v1 has no rolloutOptions


def test_resource_pools(
    vertex_client: Any, wait_vertex: Any, project: str, tf_uri: str, twin_knobs: Any
) -> None:
    """Created and listed as the discovery document says; never patched ([MM]: immutable);
    deleted only when nothing is deployed on it [INF]; TensorFlow's prebuilt image only [DOCS
    model-co-hosting]; counted once against the serving CPU quota while in use [DOCS]."""
    pools = vertex_client.projects().locations().deploymentResourcePools()
    body = {
        "deploymentResourcePoolId": "small-cpu",
        "deploymentResourcePool": {
            "dedicatedResources": {
                "machineSpec": {"machineType": "n1-standard-4"},
                "minReplicaCount": 1,
                "maxReplicaCount": 2,
            }
        },
    }
    api_error(
        pools.create(
            parent=parent(project), body={**body, "deploymentResourcePoolId": "Bad"}
        ).execute,
        400,
    )
    done = wait_vertex(vertex_client, pools.create(parent=parent(project), body=body).execute())
    assert "error" not in done, done
    name = f"{parent(project)}/deploymentResourcePools/small-cpu"
    assert pools.get(name=name).execute()["dedicatedResources"]["maxReplicaCount"] == 2
    assert [
        p["name"] for p in pools.list(parent=parent(project)).execute()["deploymentResourcePools"]
    ] == [name]
    api_error(
        lambda: pools.patch(name=name, updateMask="dedicatedResources", body={}).execute(), 400
    )
    model = _tf_model(vertex_client, wait_vertex, project, tf_uri)
    upload(vertex_client, wait_vertex, project, "s")  # a custom container
    ep = create_endpoint(vertex_client, wait_vertex, project)
    shared = {"sharedResources": name, "dedicatedResources": None}
    refused = endpoints(vertex_client).deployModel(
        endpoint=ep["name"],
        body={"deployedModel": {"model": f"{parent(project)}/models/s", **shared}},
    )
    assert "SHARED_RESOURCES" in api_error(refused.execute, 400)["message"]
    twin_knobs(quotas={"custom_model_serving_cpus": {"*": 10}})
    for _ in range(2):  # two deployments on one pool: its 8 CPUs (2 x n1-standard-4), once
        done = deploy(vertex_client, wait_vertex, ep["name"], model, **shared)
        assert "error" not in done, done
    api_error(lambda: pools.delete(name=name).execute(), 400, "FAILED_PRECONDITION")
    bigger = {**CPU, "machineSpec": {"machineType": "n1-standard-4"}}
    over = deploy(vertex_client, wait_vertex, ep["name"], model, dedicatedResources=bigger)
    assert over["error"]["code"] == 8  # 8 + 4 CPUs > 10: RESOURCE_EXHAUSTED
