"""Issue 19 item 1: the CI merge path (`plan --out`, then `apply PLAN.json`) gates on smoke tests
exactly as a direct apply does, on both backends; the smoke inputs are pinned by the plan, so
an instances or expect file edited after the plan makes it stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.helpers import Live, Repo, model, version
from cli.vertex_live import Prober, VertexLive

ROWS = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]]
SMOKE = {"instances": "smoke.jsonl", "expect": "expect_b.jsonl", "tolerance": 1e-4}


def _jsonl(path: Path, values: list[Any]) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in values))


def _expected(artifact: Path) -> list[Any]:
    from deployer.artifacts import serving

    return list(serving.predict(artifact, {"instances": ROWS})["predictions"])


def _stage(repo: Repo, pristine: dict[str, Path], backend: str, *versions: str) -> None:
    """Model `m` with `versions` (v1 serves "a", v2 "b", v3 "c"; v2 and v3 expect "b"'s
    answers), the last one the default."""
    artifacts = {"v1": "a", "v2": "b", "v3": "c"}
    machine = {"machine_type": "n1-standard-2"} if backend == "vertex" else {}
    entries = [
        version(v, artifacts[v], **machine, **({"smoke_test": SMOKE} if v != "v1" else {}))
        for v in versions
    ]
    fields = {"default_version": versions[-1]} if len(versions) > 1 else {}
    repo.write([model("m", entries, regions=["us-central1"], **fields)], backend=backend)
    _jsonl(repo.manifests / "models" / "smoke.jsonl", ROWS)
    _jsonl(repo.manifests / "models" / "expect_b.jsonl", _expected(pristine["b"]))


def _saved(repo: Repo) -> Path:
    out = repo.root / "plan.json"
    result = repo.run("plan", "manifests", "--out", str(out))
    assert result.returncode == 0, str(result)
    return out


def _pending(repo: Repo) -> list[tuple[str, str]]:
    _, plan = repo.plan_json()
    return [(a["kind"], a["address"]) for a in plan["actions"]]


def test_a_saved_plan_gates_the_default_version_on_mlengine(
    repo: Repo, live: Live, pristine: dict[str, Path]
) -> None:
    _stage(repo, pristine, "mlengine", "v1")
    assert repo.apply().returncode == 0
    _stage(repo, pristine, "mlengine", "v1", "v2")
    passed = repo.run("apply", str(_saved(repo)))
    assert passed.returncode == 0, str(passed)
    assert "Smoke test of us-central1/m/v2 passed (2 instances)" in passed.stdout

    _stage(repo, pristine, "mlengine", "v1", "v2", "v3")  # v3 serves "c", expects "b"
    refused = repo.run("apply", str(_saved(repo)))
    assert refused.returncode == 1, str(refused)
    out = refused.stdout + refused.stderr
    assert "default of us-central1/m not moved to v3: failed: smoke test " in out
    assert "; the default stays v2" in out
    state = live.snapshot()
    assert state["us-central1/m"]["defaultVersion"]["name"].endswith("/versions/v2")
    assert _pending(repo) == [("reroute", "us-central1/m/v3")]


def test_a_saved_plan_gates_traffic_behind_a_canary_on_vertex(
    repo: Repo, vertex_client: Any, pristine: dict[str, Path]
) -> None:
    vlive = VertexLive(vertex_client, repo.project)
    _stage(repo, pristine, "vertex", "v1")
    assert repo.apply().returncode == 0
    _stage(repo, pristine, "vertex", "v1", "v2")
    passed = repo.run("apply", str(_saved(repo)))
    assert passed.returncode == 0, str(passed)
    assert "Smoke test of m/v2 passed behind a canary share" in passed.stdout
    assert vlive.serving("us-central1", "m")["m/v2"] == 100

    _stage(repo, pristine, "vertex", "v1", "v2", "v3")
    plan = _saved(repo)
    shares: list[int] = []

    def watch() -> dict[str, Any]:
        shares.append(vlive.serving("us-central1", "m").get("m/v3", 0))
        return {}

    with Prober(watch, interval=0.01):
        refused = repo.run("apply", str(plan))
    assert refused.returncode == 1, str(refused)
    out = refused.stdout + refused.stderr
    assert "failed on instance 1: prediction[0] is " in out
    assert "the traffic stays where it was" in out
    assert max(shares, default=0) <= 5
    assert vlive.serving("us-central1", "m") == {"m/v1": 0, "m/v2": 100, "m/v3": 0}
    assert ("reroute", "us-central1/m:endpoint") in _pending(repo)


@pytest.mark.parametrize("edited", ["smoke.jsonl", "expect_b.jsonl"])
def test_a_smoke_file_edited_after_the_plan_makes_it_stale(
    repo: Repo, live: Live, pristine: dict[str, Path], edited: str
) -> None:
    _stage(repo, pristine, "mlengine", "v1")
    assert repo.apply().returncode == 0
    _stage(repo, pristine, "mlengine", "v1", "v2")
    plan = _saved(repo)
    assert set(json.loads(plan.read_text())["smoke_tests"]) == {"m/v2"}
    before = live.snapshot()
    path = repo.manifests / "models" / edited
    path.write_text(path.read_text().replace("1", "7", 1))
    refused = repo.run("apply", str(plan))
    assert refused.returncode == 1, str(refused)
    assert "saved plan is stale: smoke test file manifests/models/smoke.jsonl" in refused.stderr
    assert live.snapshot() == before

    path.unlink()
    gone = repo.run("apply", str(plan))
    assert gone.returncode == 1 and "saved plan is stale: smoke test of m/v2" in gone.stderr
    assert live.snapshot() == before
