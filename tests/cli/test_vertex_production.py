"""Issue 24: Vertex AI serving as teams run it in production, end to end through the CLI, the
provider (v1, and v1beta1 for the preview features only) and the twin.

Rolling updates, scale to zero (with the opt-in, and refused without it), endpoint settings
patched in place or set up on a new endpoint, spot nodes with request-count autoscaling, and
models sharing a resource pool. Live state is read straight from the twin's API.
"""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from cli.helpers import Repo, model, version
from cli.vertex_live import Prober, VertexLive, wait_until
from deployer.emulator.knobs import VERTEX_REALISM
from deployer.providers.vertex import catalog as catalog_vertex

INSTANCES = [[0.1, 0.2, 0.3, 0.4]]
REGION = "us-central1"


@pytest.fixture(autouse=True, params=["plain", "realistic"])
def profile(request: pytest.FixtureRequest, twin_knobs: Any) -> str:
    if request.param == "realistic":
        twin_knobs(**VERTEX_REALISM)
    return str(request.param)


@pytest.fixture
def vlive(vertex_client: Any, repo: Repo) -> VertexLive:
    return VertexLive(vertex_client, repo.project)


@pytest.fixture
def beta(twin: Any) -> Any:
    """An `aiplatform` v1beta1 client on the twin (to read what only v1beta1 shows)."""
    import httplib2
    from googleapiclient import discovery

    return discovery.build(
        "aiplatform",
        "v1beta1",
        static_discovery=True,
        http=httplib2.Http(timeout=60),
        client_options={"api_endpoint": twin.api_endpoint()},
    )


def write(repo: Repo, *models: dict[str, Any], **settings: Any) -> None:
    repo.write(models, backend="vertex", **settings)


def v(name: str, artifact: str = "a", **fields: Any) -> dict[str, Any]:
    return version(name, artifact, machine_type="n1-standard-2", **fields)


def deployed(vlive: VertexLive, name: str = "iris") -> list[dict[str, Any]]:
    return list(vlive.endpoint_of(REGION, name).get("deployedModels") or [])


def test_a_rolling_update_replaces_the_nodes_in_place_without_an_error(
    repo: Repo, vlive: VertexLive
) -> None:
    """Under `rollout: rolling` a new upload is rolled onto the running deployment by the
    service (v1beta1 RolloutOptions): one update, no second deployment beside it, no traffic
    move of deployer's, and a prober sees every request answered."""
    rolling = {"strategy": "rolling", "max_surge": 1, "max_unavailable": 0}
    manual = {"mode": "manual", "nodes": 2}
    write(repo, model("iris", [v("v1", scaling=manual, rollout=rolling)]), preview=True)
    result = repo.apply()
    assert result.returncode == 0, str(result)
    (before,) = deployed(vlive)
    write(repo, model("iris", [v("v1", "b", scaling=manual, rollout=rolling)]), preview=True)
    shown = repo.run("plan", "manifests")
    assert shown.returncode == 0, str(shown)
    assert "rolling v1 in place to artifact" in shown.stdout  # said in the manifest's words
    assert "rolled onto this deployment's running nodes in place" in shown.stdout
    _, doc = repo.plan_json()
    assert [(a["kind"], a["address"].split("#")[0]) for a in doc["actions"]] == [
        ("create-then-delete", "us-central1/iris/v1"),
        ("update", "us-central1/iris/v1:deployed"),
        ("delete", "us-central1/iris/v1"),
    ]
    held = doc["resources"][REGION]
    # quota must hold the two running nodes and the one surge node, not a second copy
    assert held["peak"]["max"]["vcpus"] == held["before"]["max"]["vcpus"] * 3 / 2
    with Prober(lambda: vlive.predict(REGION, "iris", INSTANCES)) as probe:
        wait_until(lambda: probe.answers, 30, "a first answer")
        result = repo.apply()
        wait_until(lambda: len(probe.answers) > 3, 30, "more answers")
    assert result.returncode == 0, str(result)
    assert probe.errors == []
    (after,) = deployed(vlive)
    assert after["id"] != before["id"] and after["modelVersionId"] != before["modelVersionId"]
    assert after["dedicatedResources"] == before["dedicatedResources"]
    assert vlive.endpoint_of(REGION, "iris")["trafficSplit"] == {after["id"]: 100}
    repo.assert_no_changes()


def test_rolling_without_the_opt_in_is_refused_before_anything_changes(repo: Repo) -> None:
    write(repo, model("iris", [v("v1", rollout={"strategy": "rolling"})]))
    result = repo.apply()
    assert result.returncode == 1
    assert "a rolling update is a Vertex AI preview feature (v1beta1): set preview: true" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_scale_to_zero_is_refused_without_the_opt_in_and_deployed_through_v1beta1_with_it(
    repo: Repo, vlive: VertexLive, beta: Any
) -> None:
    zero = {
        "mode": "auto",
        "min_nodes": 0,
        "max_nodes": 2,
        "scale_to_zero": {"idle_scaledown": "900s", "initial_nodes": 1},
    }
    write(repo, model("iris", [v("v1", scaling=zero)]))
    refused = repo.apply()
    assert refused.returncode == 1, str(refused)
    (line,) = [x for x in refused.stderr.splitlines() if "preview feature" in x]
    assert line.startswith("manifests/models/iris.yaml:")
    assert "scale to zero (min_nodes: 0) is a Vertex AI preview feature" in line
    assert vlive.endpoints(REGION) == []  # nothing was written

    write(repo, model("iris", [v("v1", scaling=zero)]), preview=True)
    result = repo.apply()
    assert result.returncode == 0, str(result)
    (dm,) = deployed(vlive)
    resources = dm["dedicatedResources"]
    assert int(resources.get("minReplicaCount", 0)) == 0
    assert "scaleToZeroSpec" not in resources  # v1 does not show it
    name = vlive.endpoint_of(REGION, "iris")["name"]
    full = beta.projects().locations().endpoints().get(name=name).execute()
    (beta_dm,) = full["deployedModels"]
    assert beta_dm["dedicatedResources"]["scaleToZeroSpec"] == {"idleScaledownPeriod": "900s"}
    assert int(beta_dm["dedicatedResources"]["initialReplicaCount"]) == 1
    repo.assert_no_changes()

    write(repo, model("iris", [v("v1", scaling={"mode": "auto", "max_nodes": 2})]), preview=True)
    _, doc = repo.plan_json()
    assert [(a["kind"], a["address"]) for a in doc["actions"]] == [
        ("update", "us-central1/iris/v1:deployed")
    ]
    assert repo.apply().returncode == 0
    (again,) = deployed(vlive)
    assert again["id"] == dm["id"] and int(again["dedicatedResources"]["minReplicaCount"]) == 1
    repo.assert_no_changes()


def test_private_service_connect_moves_the_model_to_a_new_endpoint_then_patches_it(
    repo: Repo, vlive: VertexLive
) -> None:
    """Private access cannot be patched on: a new endpoint with its deployment and all the
    traffic, the old endpoint drained and removed, the plan saying that the URL changes. The
    allow-list and the inference timeout then change on the new endpoint in place."""
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    old = vlive.endpoint_of(REGION, "iris")
    psc = {"private_service_connect": {"project_allowlist": ["acme-prod"]}}
    write(repo, model("iris", [v("v1")], endpoint=psc))
    shown = repo.run("plan", "manifests")
    assert "a new endpoint has a new ID and URL: tell its clients" in shown.stdout + shown.stderr
    result = repo.apply()
    assert result.returncode == 0, str(result)
    new = vlive.endpoint_of(REGION, "iris")
    assert new["name"] != old["name"]
    assert new["privateServiceConnectConfig"]["projectAllowlist"] == ["acme-prod"]
    (dm,) = new["deployedModels"]
    assert new["trafficSplit"] == {dm["id"]: 100}
    assert [e["name"] for e in vlive.endpoints(REGION)] == [new["name"]]
    repo.assert_no_changes()

    wider = {
        "private_service_connect": {"project_allowlist": ["acme-prod", "acme-ci"]},
        "inference_timeout": 600,
    }
    write(repo, model("iris", [v("v1")], endpoint=wider))
    _, doc = repo.plan_json()
    assert [(a["kind"], a["address"]) for a in doc["actions"]] == [
        ("update", "us-central1/iris:endpoint")
    ]
    assert repo.apply().returncode == 0
    patched = vlive.endpoint_of(REGION, "iris")
    assert patched["name"] == new["name"]
    assert patched["privateServiceConnectConfig"]["projectAllowlist"] == ["acme-ci", "acme-prod"]
    assert patched["clientConnectionConfig"] == {"inferenceTimeout": "600s"}
    repo.assert_no_changes()


def test_a_dedicated_endpoint_answers_at_its_own_dns_only(repo: Repo, vlive: VertexLive) -> None:
    write(repo, model("iris", [v("v1")], endpoint={"dedicated": True, "inference_timeout": "300s"}))
    result = repo.apply()
    assert result.returncode == 0, str(result)
    endpoint = vlive.endpoint_of(REGION, "iris")
    assert endpoint["dedicatedEndpointEnabled"] is True
    assert endpoint["dedicatedEndpointDns"].endswith(".prediction.vertexai.goog")
    assert endpoint["clientConnectionConfig"] == {"inferenceTimeout": "300s"}
    with pytest.raises(HttpError) as refused:
        vlive.predict(REGION, "iris", INSTANCES)
    assert refused.value.resp.status == 400
    repo.assert_no_changes()


def test_spot_nodes_scale_on_request_count_and_the_target_changes_in_place(
    repo: Repo, vlive: VertexLive
) -> None:
    def scaling(target: int) -> dict[str, Any]:
        metrics = [{"name": "REQUEST_COUNT", "target": target}]
        return {"mode": "auto", "min_nodes": 1, "max_nodes": 3, "metrics": metrics}

    write(repo, model("iris", [v("v1", spot=True, scaling=scaling(600))]))
    assert repo.apply().returncode == 0
    (dm,) = deployed(vlive)
    assert dm["dedicatedResources"]["spot"] is True
    assert dm["dedicatedResources"]["autoscalingMetricSpecs"] == [
        {"metricName": catalog_vertex.REQUEST_METRIC, "target": 600}
    ]
    repo.assert_no_changes()
    write(repo, model("iris", [v("v1", spot=True, scaling=scaling(900))]))
    assert repo.apply().returncode == 0
    (again,) = deployed(vlive)
    assert again["id"] == dm["id"]
    assert again["dedicatedResources"]["autoscalingMetricSpecs"][0]["target"] == 900
    repo.assert_no_changes()


def test_two_models_share_a_pool_that_goes_after_them(
    repo: Repo, vlive: VertexLive, vertex_client: Any
) -> None:
    pools = [{"name": "small-cpu", "machine_type": "n1-standard-4", "scaling": {"max_nodes": 2}}]
    on_pool = version("v1", "a", resource_pool="small-cpu")
    write(repo, model("iris", [on_pool]), model("wine", [on_pool]), resource_pools=pools)
    result = repo.apply()
    assert result.returncode == 0, str(result)
    drps = vertex_client.projects().locations().deploymentResourcePools()
    listed = drps.list(parent=vlive.parent(REGION)).execute().get("deploymentResourcePools", [])
    (pool,) = listed
    assert pool["name"].rsplit("/", 1)[-1] == catalog_vertex.pool_id(repo.stack, "small-cpu")
    for name in ("iris", "wine"):
        (dm,) = deployed(vlive, name)
        assert dm["sharedResources"].rsplit("/", 1)[-1] == pool["name"].rsplit("/", 1)[-1]
        assert "dedicatedResources" not in dm
        assert vlive.predict(REGION, name, INSTANCES)["predictions"]
    repo.assert_no_changes()

    write(repo, model("iris", [version("v1", "a", machine_type="n1-standard-2")]))
    result = repo.apply()
    assert result.returncode == 0, str(result)
    assert drps.list(parent=vlive.parent(REGION)).execute().get("deploymentResourcePools") in (
        None,
        [],
    )
    (dm,) = deployed(vlive)
    assert dm["dedicatedResources"]["machineSpec"]["machineType"] == "n1-standard-2"
    repo.assert_no_changes()
