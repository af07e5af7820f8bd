"""Issue 22 item 1, through the CLI on the twin: a traffic split changed by hand (a canary ramped
to 50/50 during an incident), replicas scaled by hand (Vertex) and a default version moved by
hand (ml v1) are drift the plan marks with their live value, while what deployer itself set (a
smoke-tested canary, a manifest change) never is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.helpers import Live, Repo, model, version
from cli.vertex_live import VertexLive

ROWS = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]]
SMOKE = {"instances": "smoke.jsonl", "expect": "expect_b.jsonl", "tolerance": 1e-4}


def _jsonl(path: Path, values: list[Any]) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in values))


def _declare(repo: Repo, pristine: dict[str, Path], traffic: dict[str, int]) -> None:
    """Model `m`: v1 serves artifact "a"; v2 serves "b" behind a smoke test."""
    from deployer.artifacts import serving

    entries = [
        version("v1", "a", machine_type="n1-standard-2"),
        version("v2", "b", machine_type="n1-standard-2", smoke_test=SMOKE),
    ]
    repo.write([model("m", entries, default_version="v1", traffic=traffic)], backend="vertex")
    _jsonl(repo.manifests / "models" / "smoke.jsonl", ROWS)
    expected = serving.predict(pristine["b"], {"instances": ROWS})["predictions"]
    _jsonl(repo.manifests / "models" / "expect_b.jsonl", list(expected))


def _reroutes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in doc["actions"] if a["kind"] == "reroute"]


def test_a_split_changed_by_hand_is_drift_and_one_deployer_set_is_not(
    repo: Repo, vertex_client: Any, pristine: dict[str, Path]
) -> None:
    vlive = VertexLive(vertex_client, repo.project)
    repo.write([model("m", [version("v1", "a", machine_type="n1-standard-2")])], backend="vertex")
    assert repo.apply().returncode == 0
    _declare(repo, pristine, {"v1": 90, "v2": 10})
    canary = repo.apply()
    assert canary.returncode == 0, str(canary)
    assert "Smoke test of m/v2 passed behind a canary share" in canary.stdout
    repo.assert_no_changes()  # the canary and the split deployer set claim no drift

    endpoint = vlive.endpoint_of("us-central1", "m")
    ids = {d["displayName"]: str(d["id"]) for d in endpoint["deployedModels"]}
    body = {"trafficSplit": {ids["m/v1"]: 50, ids["m/v2"]: 50}, "etag": endpoint["etag"]}
    vlive.loc.endpoints().patch(
        name=endpoint["name"], updateMask="trafficSplit", body=body
    ).execute()

    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    (reroute,) = _reroutes(doc)
    assert reroute["drift"] is True
    (change,) = reroute["changes"]
    assert change["drift"] is True and change["before"] == {"v1": 50, "v2": 50}
    text = repo.run("plan", "manifests").stdout
    assert "traffic: v1 50%, v2 50% -> v1 90%, v2 10%  # set outside deployer" in text
    assert "(undoes a change made outside deployer)" in text

    assert repo.apply().returncode == 0
    assert vlive.serving("us-central1", "m") == {"m/v1": 90, "m/v2": 10}
    repo.assert_no_changes()

    _declare(repo, pristine, {"v2": 100})  # the pull request's own switch
    result, doc = repo.plan_json()
    (reroute,) = _reroutes(doc)
    assert not reroute.get("drift") and not reroute["changes"][0].get("drift")


def test_replicas_scaled_by_hand_are_drift_and_a_manifest_change_is_not(
    repo: Repo, vertex_client: Any, wait_vertex: Any
) -> None:
    vlive = VertexLive(vertex_client, repo.project)
    scaling = {"mode": "auto", "min_nodes": 1, "max_nodes": 2}
    declared = version("v1", "a", machine_type="n1-standard-2", scaling=scaling)
    repo.write([model("m", [declared])], backend="vertex")
    assert repo.apply().returncode == 0
    repo.assert_no_changes()

    endpoint = vlive.endpoint_of("us-central1", "m")
    (dm,) = endpoint["deployedModels"]
    body = {
        "deployedModel": {
            "id": dm["id"],
            "dedicatedResources": {"minReplicaCount": 3, "maxReplicaCount": 5},
        },
        "updateMask": "dedicatedResources.minReplicaCount,dedicatedResources.maxReplicaCount",
    }
    op = vlive.loc.endpoints().mutateDeployedModel(endpoint=endpoint["name"], body=body)
    assert "error" not in wait_vertex(vertex_client, op.execute())

    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    (update,) = doc["actions"]
    assert update["address"] == "us-central1/m/v1:deployed" and update["drift"] is True
    assert {c["path"]: (c["before"], c["drift"]) for c in update["changes"]} == {
        "minReplicaCount": (3, True),
        "maxReplicaCount": (5, True),
    }
    assert (
        "scaling.min_nodes: 3 -> 1  # set outside deployer" in repo.run("plan", "manifests").stdout
    )

    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    bigger = version("v1", "a", machine_type="n1-standard-2", scaling={**scaling, "max_nodes": 4})
    repo.write(
        [model("m", [bigger], description="relabelled", labels={"team": "x"})], backend="vertex"
    )
    result, doc = repo.plan_json()
    (update,) = [a for a in doc["actions"] if a["address"] == "us-central1/m/v1:deployed"]
    assert not update.get("drift") and not any(c.get("drift") for c in update["changes"])
    assert repo.apply().returncode == 0
    repo.assert_no_changes()  # the record follows each write

    # a later patch of the endpoint's own labels keeps the deployment's record
    repo.write([model("m", [bigger], description="again", labels={"team": "y"})], backend="vertex")
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    endpoint = vlive.endpoint_of("us-central1", "m")
    body["deployedModel"]["id"] = endpoint["deployedModels"][0]["id"]
    op = vlive.loc.endpoints().mutateDeployedModel(endpoint=endpoint["name"], body=body)
    assert "error" not in wait_vertex(vertex_client, op.execute())
    _, doc = repo.plan_json()
    assert [a["address"] for a in doc["actions"] if a["drift"]] == ["us-central1/m/v1:deployed"]


def test_a_default_version_moved_by_hand_on_ml_v1_is_drift(repo: Repo, live: Live) -> None:
    versions = [version("v1", "a"), version("v2", "b")]
    repo.write([model("iris", versions, regions=["us-central1"], default_version="v1")])
    assert repo.apply().returncode == 0
    repo.write([model("iris", versions, regions=["us-central1"], default_version="v2")])
    result, doc = repo.plan_json()
    (switch,) = doc["actions"]
    assert switch["kind"] == "reroute" and not switch.get("drift")  # the pull request's own
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    described = model(
        "iris", versions, regions=["us-central1"], default_version="v2", description="kept"
    )
    repo.write([described])  # a later model patch keeps the record
    assert repo.apply().returncode == 0
    repo.assert_no_changes()

    name = f"projects/{repo.project}/models/iris/versions/v1"  # on-call, during an incident
    live.clients["us-central1"].projects().models().versions().setDefault(
        name=name, body={}
    ).execute()
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    (switch,) = doc["actions"]
    assert switch["kind"] == "reroute" and switch["drift"] is True
    assert switch["changes"][0]["before"] == "v1" and switch["changes"][0]["drift"] is True
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
