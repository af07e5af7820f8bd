"""Issue 20, item 3: the realism knobs (off by default, `VERTEX_REALISM` turns them on):
service-shaped names, label precedence, failures inside finished operations."""

from __future__ import annotations

from typing import Any

from deployer.emulator.knobs import VERTEX_REALISM, Knobs
from deployer.emulator.vertex.routes import project_number
from emulator.helpers import api_error
from emulator.vertex_support import (
    CPU,
    create_endpoint,
    deploy,
    endpoints,
    models,
    parent,
    upload,
)


def test_realism_is_off_by_default_and_the_profile_turns_it_on() -> None:
    plain = Knobs()
    assert not plain.vertex_service_names and plain.vertex_undeploy_settle_s == 0
    assert plain.vertex_label_precedence == "version" and plain.vertex_serving_cpus == 0
    real = Knobs(**VERTEX_REALISM)
    real.validate()
    assert real.vertex_service_names and real.vertex_undeploy_settle_s > 0


def test_service_names_carry_the_project_number_and_19_digit_ids(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    twin_knobs(vertex_service_names=True)
    number = project_number(project)
    done = upload(vertex_client, wait_vertex, project)
    assert done["name"].startswith(f"projects/{number}/locations/us-central1/models/m/")
    by_number = f"projects/{number}/locations/us-central1/models/m"
    assert done["response"]["model"] == by_number
    reg = models(vertex_client)
    assert reg.get(name=f"{parent(project)}/models/m").execute()["name"] == by_number
    assert reg.get(name=by_number).execute()["name"] == by_number  # either form is taken
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    assert ep.startswith(f"projects/{number}/")
    dm = deploy(vertex_client, wait_vertex, ep, by_number, {"0": 100})["response"]
    dm_id = dm["deployedModel"]["id"]
    assert len(dm_id) == 19 and dm_id.isdigit()
    version = reg.get(name=f"{by_number}@1").execute()
    assert version["deployedModels"] == [{"endpoint": ep, "deployedModelId": dm_id}]
    refused = api_error(lambda: reg.delete(name=by_number).execute(), 400)
    assert f"projects/{number}/" in refused["message"] and project not in refused["message"]
    twin_knobs(vertex_service_names=False)
    assert (
        reg.get(name=f"{parent(project)}/models/m")
        .execute()["name"]
        .startswith(f"projects/{project}/")
    )


def test_which_label_level_wins_is_a_knob(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    upload(vertex_client, wait_vertex, project, labels={"team": "a", "tier": "x"})
    name = f"{parent(project)}/models/m"
    reg = models(vertex_client)
    reg.patch(name=f"{name}@1", updateMask="labels", body={"labels": {"team": "b"}}).execute()
    assert reg.get(name=f"{name}@1").execute()["labels"] == {"team": "b", "tier": "x"}
    twin_knobs(vertex_label_precedence="model")
    assert reg.get(name=f"{name}@1").execute()["labels"] == {"team": "a", "tier": "x"}


def test_serving_quota_fails_the_deploy_inside_its_operation(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    twin_knobs(vertex_serving_cpus=6)
    model = str(upload(vertex_client, wait_vertex, project)["response"]["model"])
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    two = {**CPU, "maxReplicaCount": 2}  # 2 x n1-standard-2: 4 CPUs
    first = deploy(vertex_client, wait_vertex, ep, model, {"0": 100}, dedicatedResources=two)
    assert "error" not in first, first
    before = endpoints(vertex_client).get(name=ep).execute()
    failed = deploy(vertex_client, wait_vertex, ep, model, dedicatedResources=two)
    assert failed["done"] and failed["error"]["code"] == 8, failed  # RESOURCE_EXHAUSTED
    message = failed["error"]["message"]
    assert message.startswith("The following quota metrics exceed quota limits: ")
    assert "aiplatform.googleapis.com/custom_model_serving_cpus" in message
    assert "asked for 4 CPUs" in message and "4 of 6 in use in us-central1" in message
    assert failed["metadata"]["deploymentStage"] == "FAILED_TO_DEPLOY"
    after = endpoints(vertex_client).get(name=ep).execute()
    assert after["deployedModels"] == before["deployedModels"]
    assert after["trafficSplit"] == before["trafficSplit"]


def test_deploys_fail_inside_their_operation_at_the_failure_rate(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    model = str(upload(vertex_client, wait_vertex, project)["response"]["model"])
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    twin_knobs(vertex_deploy_failure_rate=1.0, seed=11)
    kinds = set()
    for _ in range(6):
        failed = deploy(vertex_client, wait_vertex, ep, model)
        assert failed["error"]["code"] == 9, failed
        assert failed["metadata"]["deploymentStage"] == "FAILED_TO_DEPLOY"
        kinds.add("pulled" if "could not be pulled" in failed["error"]["message"] else "crash")
    assert kinds == {"pulled", "crash"}
    assert "deployedModels" not in endpoints(vertex_client).get(name=ep).execute()
