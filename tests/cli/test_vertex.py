"""Issue 9: the same manifests deploy to Vertex AI through the CLI, on the twin's Vertex half.

Rollouts are watched from outside: a prober predicts every 50 ms during an apply and must see
no error, and the live endpoint is read straight from the API.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from cli.helpers import Repo, model, version
from cli.vertex_live import Prober, VertexLive, wait_until
from deployer.emulator.knobs import VERTEX_REALISM

INSTANCES = [[0.1, 0.2, 0.3, 0.4]]


@pytest.fixture(autouse=True, params=["plain", "realistic"])
def profile(request: pytest.FixtureRequest, twin_knobs: Any) -> str:
    """Every test runs on the plain twin and on the realistic one (issue 20, item 3)."""
    if request.param == "realistic":
        twin_knobs(**VERTEX_REALISM)
    return str(request.param)


@pytest.fixture
def vlive(vertex_client: Any, repo: Repo) -> VertexLive:
    return VertexLive(vertex_client, repo.project)


def write(repo: Repo, *models: dict[str, Any], **settings: Any) -> None:
    repo.write(models, backend="vertex", **settings)


def iris(*versions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return model("iris", list(versions), **fields)


def v(name: str, artifact: str = "a", **fields: Any) -> dict[str, Any]:
    return version(name, artifact, machine_type="n1-standard-2", **fields)


def test_first_apply_then_empty_plan_then_in_place_replica_change(
    repo: Repo, vlive: VertexLive
) -> None:
    write(repo, iris(v("v1"), description="Iris"))
    result = repo.apply()
    assert result.returncode == 0, str(result)
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 100}
    (version_body,) = vlive.versions("us-central1", "iris")
    assert set(version_body["versionAliases"]) == {"v1", "default"}
    assert version_body["labels"]["deployer-version"] == "v1"
    repo.assert_no_changes()

    before = vlive.endpoint_of("us-central1", "iris")["deployedModels"][0]["id"]
    write(repo, iris(v("v1", scaling={"mode": "manual", "nodes": 2}), description="Iris"))
    _, doc = repo.plan_json()
    assert [(a["kind"], a["address"]) for a in doc["actions"]] == [
        ("update", "us-central1/iris/v1:deployed")
    ]
    assert repo.apply().returncode == 0
    (dm,) = vlive.endpoint_of("us-central1", "iris")["deployedModels"]
    assert dm["id"] == before
    assert dm["dedicatedResources"]["minReplicaCount"] in (2, "2")
    repo.assert_no_changes()


def test_machine_change_of_the_serving_version_rolls_out_without_an_error(
    repo: Repo, vlive: VertexLive
) -> None:
    write(repo, iris(v("v1")))
    assert repo.apply().returncode == 0
    old = vlive.endpoint_of("us-central1", "iris")["deployedModels"][0]["id"]
    write(repo, iris(version("v1", "a", machine_type="n1-standard-4")))
    with Prober(lambda: vlive.predict("us-central1", "iris", INSTANCES)) as probe:
        wait_until(lambda: probe.answers, 30, "a first answer")
        result = repo.apply()
        wait_until(lambda: len(probe.answers) > len(probe.answers[:1]) + 2, 30, "more answers")
    assert result.returncode == 0, str(result)
    assert probe.errors == []
    (dm,) = vlive.endpoint_of("us-central1", "iris")["deployedModels"]
    assert dm["id"] != old and dm["dedicatedResources"]["machineSpec"]["machineType"] == (
        "n1-standard-4"
    )
    assert probe.answers[0] == old and probe.answers[-1] == dm["id"]
    assert set(probe.answers) <= {old, dm["id"]}
    repo.assert_no_changes()


def test_a_deploy_refused_for_quota_mid_rollout_leaves_the_endpoint_serving(
    repo: Repo, vlive: VertexLive, twin_knobs: Any
) -> None:
    """Issue 20: the new deployment of a rollout fails inside its operation (serving-CPU quota);
    the old one keeps all the traffic, no prediction fails, and the line says which quota and
    how much was asked. With the quota raised, the next apply completes the rollout.

    Issue 23: the plan sees that quota first and refuses before any write; this test says a
    quota increase is on its way (--allow-over-quota) to reach the service's own refusal."""
    write(repo, iris(v("v1")))
    assert repo.apply().returncode == 0
    old = vlive.endpoint_of("us-central1", "iris")["deployedModels"][0]["id"]
    twin_knobs(quotas={"custom_model_serving_cpus": {"*": 8}})  # v1 holds 2 (1 x n1-standard-2)
    write(repo, iris(version("v1", "a", machine_type="n1-standard-8")))
    at_plan = repo.apply()
    assert at_plan.returncode == 1 and "custom_model_serving_cpus in us-central1" in (
        at_plan.stdout
    ), str(at_plan)
    with Prober(lambda: vlive.predict("us-central1", "iris", INSTANCES)) as probe:
        wait_until(lambda: probe.answers, 30, "a first answer")
        refused = repo.apply("--allow-over-quota")
    assert refused.returncode == 1, str(refused)
    out = refused.stdout + refused.stderr
    assert "RESOURCE_EXHAUSTED" in out and "custom_model_serving_cpus" in out
    assert "asked for 8 CPUs (1 x n1-standard-8" in out and "2 of 8 in use" in out
    assert "the endpoint serves as before" in out
    assert "Traceback" not in out
    assert probe.errors == [] and set(probe.answers) == {old}
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 100}
    twin_knobs(quotas={"custom_model_serving_cpus": {"*": 64}})
    assert repo.apply().returncode == 0
    (dm,) = vlive.endpoint_of("us-central1", "iris")["deployedModels"]
    assert dm["id"] != old and dm["dedicatedResources"]["machineSpec"]["machineType"] == (
        "n1-standard-8"
    )
    repo.assert_no_changes()


def test_canary_then_full_switch_then_prune(repo: Repo, vlive: VertexLive) -> None:
    write(repo, iris(v("v1")))
    assert repo.apply().returncode == 0
    write(repo, iris(v("v1"), v("v2", "b"), default_version="v1", traffic={"v1": 90, "v2": 10}))
    result = repo.run("plan", "manifests")
    assert "traffic: v1 100 -> v1 90, v2 10" in result.stdout, str(result)
    assert repo.apply().returncode == 0
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 90, "iris/v2": 10}
    repo.assert_no_changes()

    write(repo, iris(v("v1"), v("v2", "b"), default_version="v2"))
    assert repo.apply().returncode == 0
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 0, "iris/v2": 100}
    default = [x for x in vlive.versions("us-central1", "iris") if "default" in x["versionAliases"]]
    assert [x["labels"]["deployer-version"] for x in default] == ["v2"]

    write(repo, iris(v("v2", "b")))
    result = repo.apply()
    assert result.returncode == 0, str(result)
    out = result.stdout
    assert out.index("us-central1/iris/v1:deployed") < out.index("us-central1/iris/v1#")
    assert vlive.serving("us-central1", "iris") == {"iris/v2": 100}
    assert [x["labels"]["deployer-version"] for x in vlive.versions("us-central1", "iris")] == [
        "v2"
    ]
    repo.assert_no_changes()


def test_destroy_removes_only_this_stack(
    make_repo: Callable[..., Repo], vertex_client: Any
) -> None:
    mine, theirs = make_repo("mine"), make_repo("theirs")
    write(mine, iris(v("v1")))
    write(theirs, model("other", [v("v1")]))
    assert theirs.apply().returncode == 0
    assert mine.apply().returncode == 0
    live = VertexLive(vertex_client, mine.project)
    before = {k: x for k, x in live.snapshot().items() if "other" in str(x.get("labels"))}
    result = mine.run("destroy", "manifests", "--auto-approve")
    assert result.returncode == 0, str(result)
    after = live.snapshot()
    assert live.models("us-central1") and all(
        (m.get("labels") or {}).get("deployer-model") == "other" for m in live.models("us-central1")
    )
    assert {k: x for k, x in after.items() if "other" in str(x.get("labels"))} == before
    theirs.assert_no_changes()


def test_converges_after_sigkill_mid_rollout(repo: Repo, vlive: VertexLive) -> None:
    write(repo, iris(v("v1")))
    assert repo.apply().returncode == 0
    write(repo, iris(v("v1", "b")))
    proc = repo.start("apply", "manifests", "--auto-approve")
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "deployed" in line and ("start" in line.lower() or "…" in line or "..." in line):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    result = repo.apply("--lock-timeout", "1s")
    if result.returncode != 0 and "force-unlock" in result.stderr:
        from cli.helpers import LOCK_ID

        lock = LOCK_ID.search(result.stderr)
        assert lock, str(result)
        assert repo.run("force-unlock", lock.group(1), "manifests").returncode == 0
        result = repo.apply()
    assert result.returncode == 0, str(result) + "".join(seen)
    repo.assert_no_changes()
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 100}
    assert len(vlive.versions("us-central1", "iris")) == 1


def test_converges_under_injected_faults(
    repo: Repo, vlive: VertexLive, twin_knobs: Any, profile: str
) -> None:
    write(repo, iris(v("v1"), v("v2", "b"), default_version="v1", traffic={"v1": 50, "v2": 50}))
    settle = VERTEX_REALISM["vertex_undeploy_settle_s"] if profile == "realistic" else 0.3
    twin_knobs(
        fault_rate=0.2,
        op_failure_rate=0.15,
        vertex_deploy_failure_rate=0.2,
        vertex_undeploy_settle_s=settle,
        seed=7,
    )
    for _ in range(8):
        if repo.apply().returncode == 0:
            break
    write(repo, iris(v("v2", "c")))
    for _ in range(8):
        if repo.apply().returncode == 0:
            break
    twin_knobs(fault_rate=0.0, op_failure_rate=0.0, vertex_deploy_failure_rate=0.0)
    repo.assert_no_changes()
    assert vlive.serving("us-central1", "iris") == {"iris/v2": 100}


def test_same_model_files_apply_on_both_backends(repo: Repo, vlive: VertexLive) -> None:
    models = [iris(v("v1"), v("v2", "b"), default_version="v2", regions=["us-central1"])]
    repo.write(models)
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    repo.write(models, backend="vertex")
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 0, "iris/v2": 100}


def test_predict_names_the_version_that_answered(repo: Repo) -> None:
    write(repo, iris(v("v1")))
    assert repo.apply().returncode == 0
    result = repo.run("predict", "iris", "--instances", "[[0.1, 0.2, 0.3, 0.4]]")
    assert result.returncode == 0, str(result)
    assert "iris/v1" in result.stderr
    assert len(result.json()["predictions"]) == 1


_ = subprocess


def _jsonl(path: Any, values: list[Any]) -> str:
    import json

    path.write_text("".join(json.dumps(x) + "\n" for x in values))
    return str(path.name)


def _expected(artifact: Any, rows: list[Any]) -> list[Any]:
    from deployer.artifacts import serving

    return list(serving.predict(artifact, {"instances": rows})["predictions"])


def test_smoke_test_gates_traffic_behind_a_canary(
    repo: Repo, vlive: VertexLive, pristine: Any
) -> None:
    """A version whose smoke test fails never holds more than the canary share."""
    rows = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]]
    models_dir = repo.root / "manifests" / "models"

    def stage(*versions: dict[str, Any], default: str) -> None:
        write(repo, iris(*versions, default_version=default))
        _jsonl(models_dir / "smoke.jsonl", rows)
        _jsonl(models_dir / "expect_b.jsonl", _expected(pristine["b"], rows))

    smoke = {"instances": "smoke.jsonl", "expect": "expect_b.jsonl", "tolerance": 1e-4}
    stage(v("v1"), default="v1")
    assert repo.apply().returncode == 0
    v2 = v("v2", "b", smoke_test=smoke)
    stage(v("v1"), v2, default="v2")
    promoted = repo.apply()
    assert promoted.returncode == 0, str(promoted)
    assert "Smoke test of iris/v2 passed behind a canary share" in promoted.stdout
    assert vlive.serving("us-central1", "iris")["iris/v2"] == 100

    shares: list[int] = []
    v3 = v("v3", "c", smoke_test=smoke)  # serves "c" but expects "b"'s answers
    stage(v("v1"), v2, v3, default="v3")

    def watch() -> dict[str, Any]:
        shares.append(vlive.serving("us-central1", "iris").get("iris/v3", 0))
        return {}

    with Prober(watch, interval=0.01):
        refused = repo.apply()
    assert refused.returncode == 1, str(refused)
    out = refused.stdout + refused.stderr
    assert "failed on instance 1: prediction[0] is " in out
    assert "the traffic stays where it was" in out
    assert max(shares, default=0) <= 5
    assert vlive.serving("us-central1", "iris") == {"iris/v1": 0, "iris/v2": 100, "iris/v3": 0}
    _, plan = repo.plan_json()
    assert ("reroute", "us-central1/iris:endpoint") in [
        (a["kind"], a["address"]) for a in plan["actions"]
    ]
