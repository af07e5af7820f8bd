"""The reader's keys and field paths for a state built by hand through the raw API."""

from __future__ import annotations

from typing import Any

from deployer.providers.vertex.client import VertexClient
from deployer.providers.vertex.reader import read_state

LOC = "us-central1"
IMAGE = "us-docker.pkg.dev/my-project/serving/custom:1"
OURS = {"managed-by": "deployer", "deployer-stack": "vision", "deployer-model": "fraud"}
CPU = {"machineSpec": {"machineType": "n1-standard-4"}, "minReplicaCount": "2",
       "maxReplicaCount": 3}  # fmt: skip


def _run(client: VertexClient, build: Any) -> dict[str, Any]:
    return client.run(LOC, "test setup", build, 60.0)


def _upload(client: VertexClient, alias: str, aliases: list[str], first: bool = False) -> str:
    model = {
        "displayName": "fraud",
        "containerSpec": {"imageUri": IMAGE, "env": [{"name": "A", "value": "1"}]},
        "labels": {**OURS, "deployer-version": alias, "deployer-spec": f"s-{alias}"},
        "versionAliases": aliases,
    }
    where = client.location(LOC)
    body = {"modelId": "fraud", "model": model} if first else {
        "parentModel": client.model_name(LOC, "fraud"), "model": model}  # fmt: skip
    done = _run(client, lambda r: r.projects().locations().models().upload(parent=where, body=body))
    return str(done["response"]["modelVersionId"])


def _deploy(client: VertexClient, endpoint: str, vid: str, split: dict[str, int] | None) -> str:
    dm = {"model": client.model_name(LOC, "fraud", vid), "dedicatedResources": CPU,
          "displayName": "fraud/x", "enableAccessLogging": True}  # fmt: skip
    body: dict[str, Any] = {"deployedModel": dm}
    if split is not None:
        body["trafficSplit"] = split
    done = _run(
        client,
        lambda r: r.projects().locations().endpoints().deployModel(endpoint=endpoint, body=body),
    )
    return str(done["response"]["deployedModel"]["id"])


def test_two_versions_a_superseded_instance_and_a_90_10_split(vclient: VertexClient) -> None:
    c = vclient
    assert _upload(c, "v1", ["v1"], first=True) == "1"
    assert _upload(c, "v2", ["v2"]) == "2"
    assert _upload(c, "v1", []) == "3"  # an interrupted replacement of v1
    _upload(c, "zz", [])  # stays: labelled, nobody holds alias zz -> highest id is current
    where = c.location(LOC)
    done = _run(c, lambda r: r.projects().locations().endpoints().create(
        parent=where, body={"displayName": "fraud", "labels": OURS,
                            "predictRequestResponseLoggingConfig": {"enabled": True}}))  # fmt: skip
    ep = str(done["response"]["name"])
    dm1 = _deploy(c, ep, "1", {"0": 100})
    dm3 = _deploy(c, ep, "3", None)
    dm2 = _deploy(c, ep, "2", {dm1: 90, "0": 10})

    found = {r.key.address: r for r in read_state(c.project, [LOC], "vision", 4, client=c)}
    assert sorted(found) == [
        "us-central1/fraud",
        "us-central1/fraud/v1",
        "us-central1/fraud/v1#3",
        "us-central1/fraud/v1:deployed",
        f"us-central1/fraud/v1:deployed#{dm3}",
        "us-central1/fraud/v2",
        "us-central1/fraud/v2:deployed",
        "us-central1/fraud/zz",
        "us-central1/fraud:endpoint",
    ]
    model = found["us-central1/fraud"]
    assert model.fields == {"displayName": "fraud", "description": ""}
    assert model.labels == OURS
    v1 = found["us-central1/fraud/v1"]
    assert v1.is_default and v1.private["versionId"] == "1"
    assert v1.fields == {
        "artifactUri": None,
        "artifactDigest": None,
        "containerSpec": {"imageUri": IMAGE, "env": [{"name": "A", "value": "1"}]},
        "versionDescription": "",
        "alias": "v1",  # it holds its own alias
    }
    assert v1.labels["deployer-version"] == "v1" and v1.labels["deployer-spec"] == "s-v1"
    assert found["us-central1/fraud/v1#3"].private["versionId"] == "3"
    assert found["us-central1/fraud/zz"].private["versionId"] == "4"
    endpoint = found["us-central1/fraud:endpoint"]
    assert endpoint.fields == {
        "displayName": "fraud",
        "description": "",
        "predictRequestResponseLoggingConfig": {"enabled": True},
        "dedicatedEndpointEnabled": None,
        "clientConnectionConfig": None,
        "privateServiceConnect": None,
        "privateServiceConnectConfig.projectAllowlist": None,
        "network": None,
        "traffic": {"v1": 90, "v2": 10},
    }
    assert endpoint.labels == OURS and endpoint.etag
    deployed = found["us-central1/fraud/v1:deployed"]
    assert deployed.private["id"] == dm1 and deployed.labels == OURS
    assert deployed.fields == {
        "machineSpec": {"machineType": "n1-standard-4"},
        "minReplicaCount": 2,
        "maxReplicaCount": 3,
        "autoscalingMetricSpecs": [],
        "serviceAccount": None,
        "enableAccessLogging": True,
        "disableContainerLogging": False,
        "displayName": deployed.private.get("displayName", ""),  # names it in plans
        "spot": None,
        "sharedResources": None,
        "scaleToZeroSpec": None,
        "initialReplicaCount": None,
    }
    assert found[f"us-central1/fraud/v1:deployed#{dm3}"].private["modelVersionId"] == "3"
    assert found["us-central1/fraud/v2:deployed"].private["id"] == dm2
    # another stack sees the model without its versions (a name it declares is then a clash,
    # issue 22) and the endpoint (its model is not theirs)
    theirs = read_state(c.project, [LOC], "billing", 2, client=c)
    assert {r.key.address: r.labels for r in theirs} == {
        "us-central1/fraud": OURS,
        "us-central1/fraud:endpoint": OURS,
        f"us-central1/fraud/@{dm1}:deployed": {},
        f"us-central1/fraud/@{dm2}:deployed": {},
        f"us-central1/fraud/@{dm3}:deployed": {},
    }
    traffic = next(r for r in theirs if r.key.part == "endpoint").fields["traffic"]
    assert traffic == {f"@{dm1}": 90, f"@{dm2}": 10}
    # import (no stack) lists every model
    assert "us-central1/fraud/v1#3" in {
        r.key.address for r in read_state(c.project, [LOC], None, 2, client=c)
    }
