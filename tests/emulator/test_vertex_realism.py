"""Issue 20, item 3: the realism knobs (off by default, `VERTEX_REALISM` turns them on):
service-shaped names, label precedence, failures inside finished operations."""

from __future__ import annotations

from typing import Any

import pytest

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
    assert plain.vertex_label_precedence == "version" and plain.quotas == {}
    real = Knobs(**VERTEX_REALISM)
    real.validate()
    assert real.vertex_service_names and real.vertex_undeploy_settle_s > 0
    assert real.quotas == {"custom_model_serving_cpus": {"*": 64}}


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
    twin_knobs(quotas={"custom_model_serving_cpus": {"*": 6}})
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


def test_a_deploy_is_charged_against_the_limits_service_usage_reports(
    vertex_client: Any, wait_vertex: Any, project: str, twin: Any, twin_knobs: Any
) -> None:
    """Issue 23: one quota table. What Service Usage reports for a GPU metric in a region is
    what a deploy there is refused by (and another region keeps the default)."""
    from deployer.providers.project.client import project_clients
    from deployer.providers.project.quotas import limits_by_region
    from deployer.providers.vertex.quota import GPU_METRICS, serving_quota_metrics

    t4 = GPU_METRICS["NVIDIA_TESLA_T4"]
    twin_knobs(quotas={"custom_model_serving_nvidia_t4_gpus": {"us-central1": 2}})
    reported = limits_by_region(
        serving_quota_metrics(project_clients(project, emulator=twin.url).quotas),
        ["us-central1", "europe-west4"],
    )
    assert reported[(t4, "us-central1")] == 2 and reported[(t4, "europe-west4")] == 8
    model = str(upload(vertex_client, wait_vertex, project)["response"]["model"])
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    gpu = {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4"}
    two = {"machineSpec": {**gpu, "acceleratorCount": 1}, "minReplicaCount": 1,
           "maxReplicaCount": 2}  # fmt: skip
    first = deploy(vertex_client, wait_vertex, ep, model, {"0": 100}, dedicatedResources=two)
    assert "error" not in first, first
    failed = deploy(vertex_client, wait_vertex, ep, model, dedicatedResources=two)
    assert failed["error"]["code"] == 8, failed
    message = failed["error"]["message"]
    assert f"{t4}: asked for 2 NVIDIA_TESLA_T4 GPUs" in message
    assert "with 2 of 2 in use in us-central1" in message


def test_the_cpu_flag_is_the_cpu_quota_and_the_profile_holds_under_the_flags() -> None:
    """`--vertex-serving-cpus N` is short for `--quota custom_model_serving_cpus=N`; the
    realism profile's 64 holds where the flags set nothing."""
    from deployer.emulator.project_knobs import from_flags

    profile = VERTEX_REALISM["quotas"]
    assert from_flags([], [], [], [], serving_cpus=8)["quotas"] == {
        "custom_model_serving_cpus": {"*": 8}
    }
    assert from_flags([], [], [], [], under=profile)["quotas"] == profile
    flags = ["custom_model_serving_cpus@us-central1=8"]
    assert from_flags(flags, [], [], [], under=profile)["quotas"] == {
        "custom_model_serving_cpus": {"*": 64, "us-central1": 8}
    }
    with pytest.raises(ValueError, match="--vertex-serving-cpus must be >= 0"):
        from_flags([], [], [], [], serving_cpus=-3)


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
