"""Issue 15, end to end: per-machine-type patch rules, and default moves that a failed action
does not strand."""

from __future__ import annotations

from typing import Any

import pytest

from cli.helpers import Live, Repo, model, version
from deployer.emulator.apierrors import invalid


def _global(*versions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return model("m", list(versions), regions=["global"], **fields)


def _mls1(name: str, nodes: int) -> dict[str, Any]:
    return version(name, "a", machine_type="mls1-c1-m2", scaling={"mode": "manual", "nodes": nodes})


def _nodes(state: dict[str, Any], address: str) -> int:
    return state[address]["manualScaling"]["nodes"]


def _default(state: dict[str, Any], model_address: str) -> str:
    return state[model_address]["defaultVersion"]["name"].rsplit("/", 1)[-1]


def test_mls1_manual_nodes_change_is_a_replacement_of_the_default(repo: Repo, live: Live) -> None:
    repo.write([_global(_mls1("v1", 1))])
    assert repo.apply().returncode == 0

    repo.write([_global(_mls1("v1", 2))])
    result = repo.run("plan", "manifests")
    assert result.returncode == 1, str(result)
    assert "replacing global/m/v1 (forced by: scaling.nodes" in result.stderr + result.stdout
    assert "--allow-downtime" in result.stderr + result.stdout

    result = repo.apply("--allow-downtime")
    assert result.returncode == 0, str(result)
    assert (
        "Apply complete! Resources: 0 added, 0 changed, 1 replaced, 0 destroyed, 0 rerouted."
        in (result.stdout)
    )
    repo.assert_no_changes()
    state = live.snapshot()
    assert _nodes(state, "global/m/v1") == 2
    assert _default(state, "global/m") == "v1"


def test_mls1_nodes_change_with_a_default_move_converges_in_one_apply(
    repo: Repo, live: Live
) -> None:
    """The issue's plan: v2's nodes change and the default moves onto it from v1, which goes."""
    repo.write([_global(_mls1("v1", 1), _mls1("v2", 1), default_version="v1")])
    assert repo.apply().returncode == 0

    repo.write([_global(_mls1("v2", 2))])
    _, plan = repo.plan_json()
    kinds = [(a["kind"], a["address"]) for a in plan["actions"]]
    assert kinds == [
        ("delete-then-create", "global/m/v2"),
        ("reroute", "global/m/v2"),
        ("delete", "global/m/v1"),
    ], kinds
    assert (
        "scaling.nodes (patchable only if machine_type is n1-*)" in (plan["actions"][0]["reason"])
    )
    result = repo.apply()
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    state = live.snapshot()
    assert sorted(k for k in state if k.startswith("global/m")) == ["global/m", "global/m/v2"]
    assert _nodes(state, "global/m/v2") == 2
    assert _default(state, "global/m") == "v2"


def _n1(name: str, nodes: int, artifact: str = "a") -> dict[str, Any]:
    return version(name, artifact, scaling={"mode": "manual", "nodes": nodes})


def test_failed_update_does_not_strand_the_default(
    repo: Repo, live: Live, twin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An in-place update of the new default fails: the default still moves and the version
    it leaves is still pruned; the next apply finishes the update."""
    repo.write([model("m", [_n1("v1", 1), _n1("v2", 1)], default_version="v1")])
    assert repo.apply().returncode == 0

    service = twin._server.service
    patch_version = service.patch_version

    def refuse(endpoint: str, project: str, *args: Any, **kw: Any) -> Any:
        if project == repo.project:
            raise invalid("Field: update_mask Error: injected by the test.")
        return patch_version(endpoint, project, *args, **kw)

    monkeypatch.setattr(service, "patch_version", refuse)
    repo.write([model("m", [_n1("v2", 2)])])
    result = repo.apply()
    assert result.returncode == 1, str(result)
    assert "injected by the test" in result.stderr
    assert "not moved" not in result.stdout
    state = live.snapshot()
    assert sorted(k for k in state if "/m" in k) == ["us-central1/m", "us-central1/m/v2"]
    assert _default(state, "us-central1/m") == "v2"
    assert _nodes(state, "us-central1/m/v2") == 1

    monkeypatch.setattr(service, "patch_version", patch_version)
    result = repo.apply()
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    assert _nodes(live.snapshot(), "us-central1/m/v2") == 2


def test_skipped_default_move_is_reported(
    repo: Repo, live: Live, twin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write([model("m", [_n1("v1", 1)])])
    assert repo.apply().returncode == 0

    service = twin._server.service
    create_version = service.create_version

    def refuse(endpoint: str, project: str, *args: Any, **kw: Any) -> Any:
        if project == repo.project:
            raise invalid("Field: version Error: injected by the test.")
        return create_version(endpoint, project, *args, **kw)

    monkeypatch.setattr(service, "create_version", refuse)
    repo.write([model("m", [_n1("v1", 1), _n1("v2", 1, "b")], default_version="v2")])
    result = repo.apply()
    assert result.returncode == 1, str(result)
    assert (
        "default of us-central1/m not moved to v2: skipped because create of "
        "us-central1/m/v2 did not complete; the default stays v1"
    ) in result.stdout, str(result)
    assert _default(live.snapshot(), "us-central1/m") == "v1"

    monkeypatch.setattr(service, "create_version", create_version)
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    assert _default(live.snapshot(), "us-central1/m") == "v2"
