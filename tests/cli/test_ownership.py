"""Issue 19, items 2, 6 and 7: what lives on a stack's endpoints without being its, twice-labelled
endpoints, and aliases moved by hand, on the Vertex twin through the CLI.

- A deployment of another model on a managed endpoint is a bystander: listed, never routed to,
  never undeployed (item 2).
- Two labelled endpoints for one model (an interrupted create, a relabel, two stacks racing):
  ownership is per endpoint; another stack's endpoint is never deleted, and a duplicate of ours
  is removed only in a way the service accepts (item 6).
- An alias moved to another registry version by hand is drift the plan shows and repairs
  (item 7).
"""

from __future__ import annotations

from typing import Any

import pytest
from emulator import vertex_support as vs

from cli.helpers import Repo, model, version
from cli.vertex_live import VertexLive

INSTANCES = [[0.1, 0.2, 0.3, 0.4]]


@pytest.fixture
def vlive(vertex_client: Any, repo: Repo) -> VertexLive:
    return VertexLive(vertex_client, repo.project)


def write(repo: Repo, *models: dict[str, Any]) -> None:
    repo.write(models, backend="vertex")


def v(name: str, artifact: str = "a", **fields: Any) -> dict[str, Any]:
    return version(name, artifact, machine_type="n1-standard-2", **fields)


def _bystander(
    repo: Repo, vlive: VertexLive, vertex_client: Any, wait_vertex: Any, upload_dir: Any
) -> str:
    """Another team's model `other`, version 1 (the same number as iris's v1), deployed by hand
    on iris's endpoint with no traffic; its deployed-model id."""
    uri = upload_dir(repo.artifacts["a"], repo.bucket, "by-hand/other")
    done = vs.upload(vertex_client, wait_vertex, repo.project, "other", image=vs.TF_IMAGE, uri=uri)
    assert "error" not in done, done
    endpoint = vlive.endpoint_of("us-central1", "iris")["name"]
    other = f"{vs.parent(repo.project)}/models/other"
    deployed = vs.deploy(vertex_client, wait_vertex, endpoint, other)
    assert "error" not in deployed, deployed
    return str(deployed["response"]["deployedModel"]["id"])


def test_a_deployment_of_another_model_is_never_routed_to_nor_undeployed(
    repo: Repo, vlive: VertexLive, vertex_client: Any, wait_vertex: Any, upload_dir: Any
) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    other = _bystander(repo, vlive, vertex_client, wait_vertex, upload_dir)

    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    assert doc["actions"] == []
    ignored = {i["address"]: i["reason"] for i in doc["ignored"]}
    assert ignored == {
        f"us-central1/iris/@{other}:deployed": "not managed by deployer",
        "us-central1/other": "not managed by deployer",  # its registry model (issue 22 item 5)
    }

    # A canary moves the split: the bystander, whose registry version is also "1", keeps none.
    write(
        repo, model("iris", [v("v1"), v("v2")], default_version="v1", traffic={"v1": 90, "v2": 10})
    )
    result = repo.apply()
    assert result.returncode == 0, str(result)
    endpoint = vlive.endpoint_of("us-central1", "iris")
    split = {k: int(x) for k, x in (endpoint.get("trafficSplit") or {}).items()}
    names = {str(d["id"]): d["displayName"] for d in endpoint["deployedModels"]}
    assert {names[k]: x for k, x in split.items() if x} == {"iris/v1": 90, "iris/v2": 10}
    assert other in names  # still deployed, untouched
    repo.assert_no_changes()


def test_a_bystander_holding_traffic_stops_the_plan_instead_of_losing_it(
    repo: Repo, vlive: VertexLive, vertex_client: Any, wait_vertex: Any, upload_dir: Any
) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    other = _bystander(repo, vlive, vertex_client, wait_vertex, upload_dir)
    endpoint = vlive.endpoint_of("us-central1", "iris")
    mine = next(str(d["id"]) for d in endpoint["deployedModels"] if str(d["id"]) != other)
    body = {"trafficSplit": {mine: 80, other: 20}, "etag": endpoint.get("etag", "")}
    vlive.loc.endpoints().patch(
        name=endpoint["name"], updateMask="trafficSplit", body=body
    ).execute()

    write(repo, model("iris", [v("v1"), v("v2")], default_version="v2"))
    result, doc = repo.plan_json()
    assert result.returncode == 1, str(result)
    (error,) = doc["errors"]
    assert f"@{other}" in error and "20%" in error and "does not manage" in error
    before = vlive.snapshot()
    assert repo.apply().returncode == 1
    assert vlive.snapshot() == before  # nothing changed


def _second_endpoint(
    repo: Repo, vlive: VertexLive, vertex_client: Any, wait_vertex: Any, labels: dict[str, str]
) -> str:
    """An endpoint labelled for iris (`labels`) that serves iris's v1 with all its traffic,
    as an interrupted first apply or a racing stack leaves one; its name."""
    created = vs.create_endpoint(
        vertex_client, wait_vertex, repo.project, displayName="iris", labels=labels
    )
    version = f"{vs.parent(repo.project)}/models/iris@v1"
    done = vs.deploy(vertex_client, wait_vertex, created["name"], version, split={"0": 100})
    assert "error" not in done, done
    return str(created["name"])


def test_a_duplicate_endpoint_of_ours_is_emptied_then_deleted(
    repo: Repo, vlive: VertexLive, vertex_client: Any, wait_vertex: Any
) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    ours = vlive.endpoint_of("us-central1", "iris")
    duplicate = _second_endpoint(repo, vlive, vertex_client, wait_vertex, dict(ours["labels"]))

    _, doc = repo.plan_json()
    kinds = [(a["kind"], a["address"].split("#")[0]) for a in doc["actions"]]
    assert kinds == [
        ("reroute", "us-central1/iris:endpoint"),
        ("delete", "us-central1/iris/v1:deployed"),
        ("delete", "us-central1/iris:endpoint"),
    ], kinds
    assert all(
        a["address"].endswith(duplicate.rsplit("/", 1)[1]) or "#" in a["address"]
        for a in doc["actions"]
    )
    result = repo.apply()
    assert result.returncode == 0, str(result)  # the service accepted every call
    (left,) = [
        e for e in vlive.endpoints("us-central1") if e["labels"].get("deployer-model") == "iris"
    ]
    assert left["name"] == ours["name"]
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 100}
    repo.assert_no_changes()


def test_another_stacks_endpoint_for_the_same_model_is_never_deleted(
    repo: Repo,
    make_repo: Any,
    vlive: VertexLive,
    vertex_client: Any,
    wait_vertex: Any,
) -> None:
    write(repo, model("iris", [v("v1")]))
    assert repo.apply().returncode == 0
    ours = vlive.endpoint_of("us-central1", "iris")
    theirs = make_repo("theirs")
    labels = {**ours["labels"], "deployer-stack": theirs.stack}
    racing = _second_endpoint(repo, vlive, vertex_client, wait_vertex, labels)

    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    assert doc["actions"] == []
    ignored = [i["address"] for i in doc["ignored"]]
    assert f"us-central1/iris:endpoint#{racing.rsplit('/', 1)[1]}" in ignored
    assert repo.apply().returncode == 0
    assert racing in [e["name"] for e in vlive.endpoints("us-central1")]

    # Their stack's plan is refused, and its apply changes nothing of ours.
    write(theirs, model("iris", [v("v1")]))
    result, doc = theirs.plan_json()
    assert result.returncode == 1
    assert any(f"belongs to stack '{repo.stack}'" in e for e in doc["errors"]), doc["errors"]
    before = vlive.snapshot()
    assert theirs.apply().returncode == 1
    assert vlive.snapshot() == before


def test_an_alias_moved_by_hand_is_drift_and_is_moved_back(
    repo: Repo, vlive: VertexLive, vertex_client: Any
) -> None:
    write(repo, model("iris", [v("v1"), v("v2", "b")], default_version="v1"))
    assert repo.apply().returncode == 0
    by_alias = {
        a: b["versionId"]
        for b in vlive.versions("us-central1", "iris")
        for a in b["versionAliases"]
    }
    name = f"{vs.parent(repo.project)}/models/iris@{by_alias['v2']}"
    models = vertex_client.projects().locations().models()
    models.mergeVersionAliases(name=name, body={"versionAliases": ["v1"]}).execute()

    _, doc = repo.plan_json()
    assert [(a["kind"], a["address"]) for a in doc["actions"]] == [
        ("update", "us-central1/iris/v1")
    ]
    (update,) = doc["actions"]
    assert update["drift"] is True
    assert [(c["path"], c["before"], c["after"]) for c in update["changes"]] == [
        ("alias", None, "v1")
    ]
    assert repo.apply().returncode == 0
    held = {b["versionId"]: set(b["versionAliases"]) for b in vlive.versions("us-central1", "iris")}
    assert "v1" in held[by_alias["v1"]] and "v1" not in held[by_alias["v2"]]
    repo.assert_no_changes()


def test_switching_backends_names_what_is_left_on_the_old_one(repo: Repo, live: Any) -> None:
    """Issue 19, item 5: a stack moved to `backend: vertex` still has its ml v1 models; every
    plan says so with the command that deletes them, and that command does."""
    repo.write([model("iris", [version("v1", "a")])])
    assert repo.apply().returncode == 0
    assert "us-central1/iris" in live.snapshot()

    write(repo, model("iris", [v("v1")]))
    result, doc = repo.plan_json()
    assert result.returncode == 0, str(result)
    (warning,) = [w for w in doc["warnings"] if "backend mlengine" in w]
    assert "1 model(s) on backend mlengine (us-central1/iris)" in warning
    assert "--backend mlengine" in warning
    assert repo.apply().returncode == 0

    result = repo.run("destroy", "manifests", "--backend", "mlengine", "--auto-approve")
    assert result.returncode == 0, str(result)
    assert "us-central1/iris" not in live.snapshot()
    _, doc = repo.plan_json()
    assert not [w for w in doc["warnings"] if "backend mlengine" in w]
    repo.assert_no_changes()


@pytest.mark.parametrize("winner", ["model", "version"])
def test_labels_left_on_the_model_level_converge_whichever_level_wins(
    repo: Repo, vlive: VertexLive, vertex_client: Any, twin_knobs: Any, winner: str
) -> None:
    """Issue 19, item 14: a model whose own labels carry a version's (a first upload of an older
    deployer, one that failed halfway) reads wrong on every version when model labels win the
    merge; one apply puts the model level back to the ownership labels, and then plans are
    empty."""
    twin_knobs(vertex_label_precedence=winner)
    write(repo, model("iris", [v("v1"), v("v2", "b")], default_version="v1"))
    assert repo.apply().returncode == 0
    models = vertex_client.projects().locations().models()
    name = f"{vs.parent(repo.project)}/models/iris"
    current = models.get(name=name).execute()
    stale = {**current["labels"], "team": "x", "deployer-spec": "0123456789abcdef"}
    models.patch(name=name, updateMask="labels", body={"labels": stale}).execute()

    _, doc = repo.plan_json()
    if winner == "version":  # only what the model level adds shows: labels, fixed in place
        assert {a["kind"] for a in doc["actions"]} == {"update"}, doc["actions"]
    # Where the model level wins, its stale digest reads on every version: they are uploaded
    # again behind the serving ones (no downtime), and the model level is reset on the way.
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
