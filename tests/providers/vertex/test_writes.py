"""Each vertex write against the twin: what it leaves live, and that re-running it is harmless."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.core.resources import ObservedResource
from deployer.providers.errors import OperationFailed, ProviderError
from deployer.providers.vertex.provider import VertexProvider
from providers.vertex.support import (
    ENDPOINT_FIELDS,
    ENDPOINT_KEY,
    LABELS,
    MODEL,
    MODEL_KEY,
    REGION,
    deployment_fields,
    deployment_key,
    version_fields,
    version_key,
    version_labels,
)


def upload(p: VertexProvider, alias: str, spec: str = "spec-a", **fields: Any) -> ObservedResource:
    return p.create(version_key(alias), version_fields(**fields), version_labels(alias), spec)


def endpoint(p: VertexProvider) -> ObservedResource:
    return p.create(ENDPOINT_KEY, ENDPOINT_FIELDS, {**LABELS, "deployer-model": MODEL}, "spec-e")


def deploy(p: VertexProvider, alias: str, **fields: Any) -> ObservedResource:
    return p.create(deployment_key(alias), deployment_fields(**fields), LABELS, "spec-d")


def by_key(p: VertexProvider) -> dict[str, ObservedResource]:
    return {r.key.address: r for r in p.read([REGION], "vision")}


def test_first_upload_creates_the_model_with_alias_default_and_labels(
    vprovider: VertexProvider,
) -> None:
    created = upload(vprovider, "v1")
    assert created.key == version_key("v1")
    assert created.is_default and created.private["versionId"] == "1"
    assert set(created.private["versionAliases"]) == {"v1", "default"}
    assert created.labels["deployer-spec"] == "spec-a"
    assert created.private["labels"]["deployer-artifact"] == "sha256-1"
    assert (
        created.fields["artifactDigest"] == "sha256-1" and "deployer-artifact" not in created.labels
    )
    assert created.fields["containerSpec"] == {
        "imageUri": version_fields()["containerSpec"]["imageUri"],
        "predictRoute": "/predict",
    }
    again = upload(vprovider, "v1")
    assert again.private["versionId"] == "1"  # an interrupted run's upload is not repeated
    model = vprovider.wait_settled(MODEL_KEY)
    assert model is not None and model.fields["description"] == "fraud model"


def test_create_and_update_model(vprovider: VertexProvider) -> None:
    upload(vprovider, "v1")
    fields = {"displayName": MODEL, "description": "the fraud model"}
    labels = {**LABELS, "deployer-model": MODEL}
    created = vprovider.create(MODEL_KEY, fields, labels, "spec-m")
    assert created.fields == fields
    assert created.labels == {"managed-by": "deployer", "deployer-stack": "vision",
                              "deployer-model": MODEL}  # fmt: skip
    assert vprovider.create(MODEL_KEY, fields, labels, "spec-m") == created
    updated = vprovider.update(MODEL_KEY, ["description"], {"description": "new"}, labels, "s2")
    assert updated.fields["description"] == "new"


def test_replacement_upload_leaves_the_alias_on_the_old_instance(
    vprovider: VertexProvider,
) -> None:
    old = upload(vprovider, "v1", "spec-a")
    new = upload(vprovider, "v1", "spec-b", versionDescription="second")
    assert new.key == version_key("v1", instance="2") and not new.is_default
    assert new.private.get("versionAliases", []) == []
    assert upload(vprovider, "v1", "spec-b").private["versionId"] == "2"
    live = by_key(vprovider)
    assert live["us-central1/fraud/v1"].private["versionId"] == old.private["versionId"]
    assert live["us-central1/fraud/v1#2"].fields["versionDescription"] == "second"


def test_update_version_description_and_labels(vprovider: VertexProvider) -> None:
    upload(vprovider, "v1")
    labels = {**version_labels("v1"), "tier": "gold"}
    fields = version_fields(versionDescription="better")
    for _ in range(2):
        updated = vprovider.update(version_key("v1"), ["versionDescription"], fields, labels, "s9")
        assert updated.fields["versionDescription"] == "better"
        assert updated.labels["tier"] == "gold" and updated.labels["deployer-spec"] == "s9"
        assert updated.private["versionId"] == "1"


def test_endpoint_create_update_delete_are_idempotent(vprovider: VertexProvider) -> None:
    first = endpoint(vprovider)
    assert endpoint(vprovider).private["name"] == first.private["name"]
    assert first.labels["deployer-model"] == MODEL and first.fields["traffic"] == {}
    logging = {"enabled": True, "samplingRate": 0.5}
    updated = vprovider.update(
        ENDPOINT_KEY,
        ["description", "predictRequestResponseLoggingConfig"],
        {"description": "d2", "predictRequestResponseLoggingConfig": logging},
        {**LABELS, "deployer-model": MODEL},
        "spec-e",
    )
    assert updated.fields["description"] == "d2"
    assert updated.fields["predictRequestResponseLoggingConfig"] == logging
    assert updated.etag != first.etag
    vprovider.delete(ENDPOINT_KEY)
    vprovider.delete(ENDPOINT_KEY)
    assert vprovider.wait_settled(ENDPOINT_KEY) is None


def test_deploy_mutate_undeploy_and_stages(vprovider: VertexProvider) -> None:
    stages: list[str] = []
    vprovider.on_stage = lambda key, stage: stages.append(f"{key.address} {stage}")
    upload(vprovider, "v1")
    endpoint(vprovider)
    deployed = deploy(vprovider, "v1")
    assert deployed.key == deployment_key("v1")
    assert deployed.fields == {**deployment_fields(), "displayName": "fraud/v1"}
    assert (
        deployed.private["displayName"] == "fraud/v1" and deployed.private["modelVersionId"] == "1"
    )
    assert stages[-1] == "us-central1/fraud/v1:deployed SUCCESSFULLY_DEPLOYED"
    assert (
        deploy(vprovider, "v1").private["id"] == deployed.private["id"]
    )  # a re-run deploys nothing
    mutated = vprovider.update(
        deployment_key("v1"),
        ["dedicatedResources.minReplicaCount", "dedicatedResources.maxReplicaCount"],
        deployment_fields(minReplicaCount=2, maxReplicaCount=4),
        LABELS,
        "spec-d2",
    )
    assert (mutated.fields["minReplicaCount"], mutated.fields["maxReplicaCount"]) == (2, 4)
    assert mutated.private["id"] == deployed.private["id"]
    vprovider.delete(deployment_key("v1"))
    vprovider.delete(deployment_key("v1"))
    assert vprovider.wait_settled(deployment_key("v1")) is None


def test_set_traffic_by_alias(vprovider: VertexProvider) -> None:
    upload(vprovider, "v1")
    upload(vprovider, "v2")
    endpoint(vprovider)
    one, two = deploy(vprovider, "v1"), deploy(vprovider, "v2")
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v1": 90, "v2": 10})
    live = vprovider.wait_settled(ENDPOINT_KEY)
    assert live is not None and live.fields["traffic"] == {"v1": 90, "v2": 10}
    assert live.private["trafficSplit"] == {one.private["id"]: 90, two.private["id"]: 10}
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v2": 100})
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v2": 100})
    live = vprovider.wait_settled(ENDPOINT_KEY)
    assert live is not None and live.fields["traffic"] == {"v2": 100}


def test_retire_the_instance_holding_the_alias_and_default(vprovider: VertexProvider) -> None:
    upload(vprovider, "v1", "spec-a")
    upload(vprovider, "v1", "spec-b")
    before = by_key(vprovider)
    assert before["us-central1/fraud/v1"].is_default
    vprovider.reroute(version_key("v1"), "defaultVersion", "v1")  # already the default
    vprovider.delete(version_key("v1"))  # the current instance (versionId 1)
    after = by_key(vprovider)
    current = after["us-central1/fraud/v1"]
    assert current.private["versionId"] == "2" and current.is_default
    assert set(current.private["versionAliases"]) == {"v1", "default"}
    assert "us-central1/fraud/v1#2" not in after and "us-central1/fraud/v1#1" not in after
    vprovider.delete(version_key("v1", instance="1"))  # already gone: fine


def test_delete_version_waits_out_the_undeploy_settle_time(
    vprovider: VertexProvider, twin_knobs: Any
) -> None:
    upload(vprovider, "v1")
    upload(vprovider, "v2")
    endpoint(vprovider)
    deploy(vprovider, "v2")
    twin_knobs(vertex_undeploy_settle_s=1.5)
    vprovider.delete(deployment_key("v2"))
    submitted: list[str] = []
    submit = vprovider.client.submit

    def counting(region: str, what: str, build: Any) -> Any:
        submitted.append(what)
        return submit(region, what, build)

    vprovider.client.submit = counting  # type: ignore[method-assign]
    vprovider.delete(version_key("v2"))  # refused FAILED_PRECONDITION at first, then done
    assert len(submitted) >= 2 and set(submitted) == {
        "delete version us-central1/fraud/v2 (version 2)"
    }
    assert "us-central1/fraud/v2" not in by_key(vprovider)


def test_set_default_and_delete_model(vprovider: VertexProvider) -> None:
    upload(vprovider, "v1")
    upload(vprovider, "v2")
    vprovider.reroute(version_key("v2"), "defaultVersion", "v2")
    assert by_key(vprovider)["us-central1/fraud/v2"].is_default
    assert not by_key(vprovider)["us-central1/fraud/v1"].is_default
    vprovider.delete(version_key("v1"))
    vprovider.delete(MODEL_KEY)
    vprovider.delete(MODEL_KEY)
    assert vprovider.wait_settled(MODEL_KEY) is None


def test_upload_refuses_another_stacks_model(vprovider: VertexProvider) -> None:
    other = {**version_labels("v1"), "deployer-stack": "billing"}
    vprovider.create(version_key("v1"), version_fields(), other, "spec-x")
    with pytest.raises(Exception, match="not this stack's"):
        upload(vprovider, "v2")


def test_predict_goes_through_the_models_endpoint(vprovider: VertexProvider, artifact: str) -> None:
    tf = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    upload(vprovider, "v1", containerSpec={"imageUri": tf}, artifactUri=artifact)
    endpoint(vprovider)
    deployed = deploy(vprovider, "v1")
    body = {"instances": [[1.0, 2.0, 3.0, 4.0]]}
    with pytest.raises(Exception, match="FAILED_PRECONDITION"):  # no traffic yet
        vprovider.predict(REGION, MODEL, None, body)
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v1": 100})
    answer = vprovider.predict(REGION, MODEL, None, body)
    assert f"deployed model {deployed.ident}, registry version 1" in answer.served_by
    assert len(answer.predictions) == 1


def test_versions_read_the_same_whichever_label_level_wins(
    vprovider: VertexProvider, twin_knobs: Any
) -> None:
    """Model-level labels are only the ownership keys every version shares, so the undocumented
    precedence of a merged read (issue 20) changes nothing deployer sees."""
    upload(vprovider, "v1", spec="spec-1")
    upload(vprovider, "v2", spec="spec-2")
    vprovider.create(MODEL_KEY, {"displayName": MODEL, "description": "d"}, LABELS, "spec-m")
    seen = []
    for winner in ("version", "model"):
        twin_knobs(vertex_label_precedence=winner)
        now = by_key(vprovider)
        seen.append({a: (r.labels, r.fields) for a, r in now.items() if "/v" in a})
    assert seen[0] == seen[1]
    assert seen[1]["us-central1/fraud/v2"][0]["deployer-spec"] == "spec-2"


def test_model_delete_waits_out_the_undeploy_settle_time(
    vprovider: VertexProvider, twin_knobs: Any
) -> None:
    upload(vprovider, "v1")
    endpoint(vprovider)
    deploy(vprovider, "v1")
    twin_knobs(vertex_undeploy_settle_s=1.5)
    vprovider.delete(deployment_key("v1"))
    vprovider.delete(ENDPOINT_KEY)
    vprovider.delete(MODEL_KEY)  # refused FAILED_PRECONDITION at first (#2807), then done
    assert vprovider.wait_settled(MODEL_KEY) is None


def test_a_delete_still_refused_at_the_deadline_says_so_in_one_line(
    vclient: Any, twin_knobs: Any
) -> None:
    short = VertexProvider(
        vclient.project, client=vclient, stack="vision", operation_timeout=60.0, settle_timeout=1.0
    )
    upload(short, "v1")
    upload(short, "v2")
    endpoint(short)
    deploy(short, "v2")
    twin_knobs(vertex_undeploy_settle_s=60.0)
    short.delete(deployment_key("v2"))
    with pytest.raises(ProviderError) as info:
        short.delete(version_key("v2"))
    text = str(info.value)
    assert "\n" not in text and text.startswith(
        "delete version us-central1/fraud/v2 (version 2): still refused 1 s after the undeploy"
    )
    assert text.endswith("run apply again later")
    twin_knobs(vertex_undeploy_settle_s=0.0)
    short.delete(version_key("v2"))
    assert "us-central1/fraud/v2" not in by_key(short)


def test_a_deploy_refused_for_quota_names_it_and_leaves_the_endpoint_as_it_was(
    vclient: Any, vprovider: VertexProvider, twin_knobs: Any
) -> None:
    upload(vprovider, "v1")
    upload(vprovider, "v2")
    endpoint(vprovider)
    deploy(vprovider, "v1")
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v1": 100})
    before = by_key(vprovider)["us-central1/fraud:endpoint"]
    twin_knobs(quotas={"custom_model_serving_cpus": {"*": 6}})  # v1: 2 x n1-standard-2
    submitted: list[str] = []
    submit = vclient.submit

    def counting(region: str, what: str, build: Any) -> Any:
        submitted.append(what)
        return submit(region, what, build)

    vclient.submit = counting
    with pytest.raises(OperationFailed) as info:
        deploy(vprovider, "v2", machineSpec={"machineType": "n1-standard-4"})
    error = info.value
    assert (error.status, error.reason, error.retryable) == (429, "RESOURCE_EXHAUSTED", True)
    text = str(error)
    assert "aiplatform.googleapis.com/custom_model_serving_cpus" in text
    assert "asked for 8 CPUs (2 x n1-standard-4" in text and "4 of 6 in use" in text
    assert text.endswith("nothing was deployed and the endpoint serves as before")
    assert len(submitted) == vclient.retry.attempts  # retried like a synchronous 429
    after = by_key(vprovider)["us-central1/fraud:endpoint"]
    assert after is not None and before is not None
    assert after.fields["traffic"] == before.fields["traffic"] == {"v1": 100}


def test_v1beta1_is_used_only_for_what_only_it_has(vprovider: VertexProvider) -> None:
    """Issue 24: a stack without preview settings never builds a v1beta1 client; a deployment
    that scales to zero is deployed and read back through it, and a re-run deploys nothing."""
    upload(vprovider, "v1")
    endpoint(vprovider)
    deploy(vprovider, "v1")
    by_key(vprovider)
    assert vprovider._beta is None
    vprovider.delete(deployment_key("v1"))
    zero = deployment_fields(
        minReplicaCount=0,
        maxReplicaCount=2,
        initialReplicaCount=1,
        scaleToZeroSpec={"idleScaledownPeriod": "600s"},
    )
    deployed = vprovider.create(deployment_key("v1"), zero, LABELS, "spec-z")
    assert vprovider._beta is not None
    named = {**zero, "displayName": "fraud/v1"}
    assert deployed.fields == named  # read back through v1beta1: the settings are there
    again = vprovider.create(deployment_key("v1"), zero, LABELS, "spec-z")
    assert again.private["id"] == deployed.private["id"]
    assert by_key(vprovider)["us-central1/fraud/v1:deployed"].fields == named


def test_a_rolling_update_swaps_the_deployment_and_a_rerun_rolls_nothing(
    vprovider: VertexProvider,
) -> None:
    upload(vprovider, "v1")
    endpoint(vprovider)
    first = deploy(vprovider, "v1")
    vprovider.reroute(ENDPOINT_KEY, "traffic", {"v1": 100})
    upload(vprovider, "v1", spec="spec-b", artifactDigest="d2")  # the new upload, beside
    rolling = deployment_fields(rolloutStrategy="rolling", rolloutOptions={"maxSurgeReplicas": 1})
    rolled = vprovider.update(deployment_key("v1"), ["rolloutOptions"], rolling, LABELS, "s")
    assert rolled.private["id"] != first.private["id"]
    assert rolled.private["modelVersionId"] == "2"
    live = by_key(vprovider)
    assert [k for k in live if ":deployed" in k] == [
        f"us-central1/fraud/v1:deployed#{rolled.ident}"
    ]
    again = vprovider.update(deployment_key("v1"), ["rolloutOptions"], rolling, LABELS, "s")
    assert again.private["id"] == rolled.private["id"]  # rolled already: nothing new


def test_pools_are_named_for_the_stack_and_go_only_when_unused(vprovider: VertexProvider) -> None:
    from deployer.core.resources import ResourceKey
    from deployer.providers.vertex import catalog as catalog_vertex

    key = ResourceKey(REGION, "small-cpu", part="pool", kind="pool")
    fields = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "minReplicaCount": 1,
        "maxReplicaCount": 2,
        "autoscalingMetricSpecs": [],
    }
    pool = vprovider.create(key, fields, {}, "spec-p")
    assert pool.ident == catalog_vertex.pool_id("vision", "small-cpu")
    assert vprovider.create(key, fields, {}, "spec-p").ident == pool.ident  # taken, not twice
    assert by_key(vprovider)["us-central1/small-cpu:pool"].fields == fields
    with pytest.raises(ProviderError, match="cannot change in place"):
        vprovider.update(key, ["machineSpec"], fields, {}, "spec-p")
    vprovider.delete(key)
    vprovider.delete(key)  # gone already: success
    assert "us-central1/small-cpu:pool" not in by_key(vprovider)
