"""Issue 5, `deployer apply` and `deployer destroy`, end to end through the CLI."""

from __future__ import annotations

from typing import Any

from cli.helpers import Live, Repo, labels_of, managed, model, unmanaged, version


def _bystanders(repo: Repo, live: Live, upload_dir: Any, pristine: Any) -> None:
    """An unmanaged model with a version, and another stack's model with a version, in the same
    project and on the same endpoints (even with a declared model's name on another endpoint)."""
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    live.create_model("us-central1", "stranger")
    live.create_version("us-central1", "stranger", "v1", uri)
    other = {"managed-by": "deployer", "deployer-stack": "other-stack"}
    live.create_model("europe-west4", "theirs", other)
    live.create_version("europe-west4", "theirs", "v1", uri, other)
    live.create_model("global", "fm")  # same name, other endpoint
    live.create_version("global", "fm", "v1", uri)


def _stack(**changes: Any) -> list[dict[str, Any]]:
    fm_versions = {
        "v1": version(
            "v1",
            "a",
            machine_type="n1-standard-2",
            scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 4},
        ),
        "v2": version(
            "v2",
            "b",
            machine_type="n1-standard-4",
            scaling={"mode": "manual", "nodes": 2},
            description="larger machine",
            labels={"experiment": "b"},
        ),
        "v3": version("v3", "a", scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 2}),
        "v4": version("v4", "shared", scaling={"mode": "manual", "nodes": 1}),
        "v5": version("v5", "b", scaling={"mode": "manual", "nodes": 1}),
    }
    for name, fields in changes.pop("fm_versions", {}).items():
        fm_versions[name] = {**fm_versions[name], **fields}
    fm = model(
        "fm",
        list(fm_versions.values()),
        description="Fashion-MNIST classifier",
        regions=["us-central1", "europe-west4"],
        labels={"owner": "vision"},
        default_version="v2",
    )
    fm.update(changes.pop("fm", {}))
    iris = model(
        "iris",
        [version("v1", "c", machine_type="mls1-c1-m2", scaling={"mode": "auto", "min_nodes": 0})],
        regions=["global"],
        description="Iris",
    )
    assert not changes
    return [fm, iris]


def test_apply_every_kind_of_change_then_prune_then_destroy(
    repo: Repo, live: Live, upload_dir: Any, pristine: Any
) -> None:
    _bystanders(repo, live, upload_dir, pristine)
    bystanders = unmanaged(live.snapshot(), repo.stack)
    assert len(bystanders) == 6

    def check_bystanders() -> dict[str, Any]:
        state = live.snapshot()
        assert unmanaged(state, repo.stack) == bystanders
        return managed(state, repo.stack)

    repo.write(_stack())
    result = repo.apply()
    assert result.returncode == 0, str(result)
    assert (
        "Apply complete! Resources: 14 added, 0 changed, 0 replaced, 0 destroyed, 2 rerouted."
        in (result.stdout)
    )
    repo.assert_no_changes()
    state = check_bystanders()
    assert sorted(state) == sorted(
        [f"{ep}/fm" for ep in ("us-central1", "europe-west4")]
        + [f"{ep}/fm/v{i}" for ep in ("us-central1", "europe-west4") for i in range(1, 6)]
        + ["global/iris", "global/iris/v1"]
    )
    for ep in ("us-central1", "europe-west4"):
        assert state[f"{ep}/fm"]["defaultVersion"]["name"].endswith("/versions/v2")
        assert state[f"{ep}/fm/v2"]["manualScaling"] == {"nodes": 2}
        assert state[f"{ep}/fm"]["regions"] == [ep]
    assert state["global/iris/v1"]["machineType"] == "mls1-c1-m2"
    first = state

    # Every kind of change at once.
    repo.put_artifact("shared", "c")  # new bytes behind the unchanged path of v4
    repo.write(
        _stack(
            fm={"description": "new text", "labels": {"owner": "vision", "tier": "gold"}},
            fm_versions={
                "v1": {
                    "description": "described",
                    "labels": {"k": "v"},
                    "scaling": {"mode": "auto", "min_nodes": 2, "max_nodes": 6},
                },
                "v2": {"scaling": {"mode": "manual", "nodes": 3}},
                "v3": {"runtime_version": "2.8", "machine_type": "n1-highmem-2"},
                "v5": {"scaling": {"mode": "auto", "min_nodes": 1, "max_nodes": 3}},
            },
        )
    )
    models = repo.manifests / "models" / "fm.yaml"
    models.write_text(models.read_text().replace("default_version: v2", "default_version: v1"))
    _, plan = repo.plan_json()
    kinds = {(a["address"], a["kind"]) for a in plan["actions"]}
    for ep in ("us-central1", "europe-west4"):
        assert {
            (f"{ep}/fm", "update"),
            (f"{ep}/fm/v1", "update"),
            (f"{ep}/fm/v2", "update"),
            (f"{ep}/fm/v3", "delete-then-create"),
            (f"{ep}/fm/v4", "delete-then-create"),
            (f"{ep}/fm/v5", "delete-then-create"),
            (f"{ep}/fm/v1", "reroute"),
        } <= kinds, kinds
    result = repo.apply()
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    state = check_bystanders()
    for ep in ("us-central1", "europe-west4"):
        assert state[f"{ep}/fm"]["description"] == "new text"
        assert labels_of(state[f"{ep}/fm"])["tier"] == "gold"
        assert state[f"{ep}/fm"]["defaultVersion"]["name"].endswith("/versions/v1")
        v1, v2, v3, v4, v5 = (state[f"{ep}/fm/v{i}"] for i in range(1, 6))
        assert v1["description"] == "described" and labels_of(v1)["k"] == "v"
        assert v1["autoScaling"] == {"minNodes": 2, "maxNodes": 6}
        assert v1["createTime"] == first[f"{ep}/fm/v1"]["createTime"]  # patched in place
        assert v2["manualScaling"] == {"nodes": 3}
        assert v2["createTime"] == first[f"{ep}/fm/v2"]["createTime"]
        assert (v3["runtimeVersion"], v3["machineType"]) == ("2.8", "n1-highmem-2")
        assert v4["deploymentUri"] != first[f"{ep}/fm/v4"]["deploymentUri"]
        assert v4["deploymentUri"] == first["global/iris/v1"]["deploymentUri"].replace(
            "/iris/", "/fm/"
        )  # the bytes of "c"
        assert "manualScaling" not in v5 and v5["autoScaling"] == {"minNodes": 1, "maxNodes": 3}
    assert state["global/iris"] == first["global/iris"]

    # Prune: versions v2, v4, v5 and the whole iris model go away.
    fm_yaml = models.read_text()
    repo.write(
        [
            model(
                "fm",
                [
                    version(
                        "v1",
                        "a",
                        machine_type="n1-standard-2",
                        description="described",
                        labels={"k": "v"},
                        scaling={"mode": "auto", "min_nodes": 2, "max_nodes": 6},
                    ),
                    version(
                        "v3",
                        "a",
                        runtime_version="2.8",
                        machine_type="n1-highmem-2",
                        scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 2},
                    ),
                ],
                description="new text",
                regions=["us-central1", "europe-west4"],
                labels={"owner": "vision", "tier": "gold"},
                default_version="v1",
            )
        ]
    )
    assert fm_yaml != models.read_text()
    _, plan = repo.plan_json()
    assert {a["kind"] for a in plan["actions"]} == {"delete"}, plan["actions"]
    result = repo.apply()
    assert result.returncode == 0, str(result)
    assert "8 destroyed" in result.stdout, result.stdout
    repo.assert_no_changes()
    state = check_bystanders()
    assert sorted(state) == sorted(
        [f"{ep}/fm{v}" for ep in ("us-central1", "europe-west4") for v in ("", "/v1", "/v3")]
    )
    for address in state:
        assert state[address] == {**first.get(address, {}), **state[address]}

    # destroy removes the stack and nothing else.
    result = repo.run("destroy", "manifests", "--auto-approve")
    assert result.returncode == 0, str(result)
    assert check_bystanders() == {}
    _, plan = repo.plan_json()
    assert {a["kind"] for a in plan["actions"]} == {"create", "reroute"}


def test_protect_blocks_deletion(repo: Repo, live: Live) -> None:
    # Regional: on the global endpoint labels (and so the protect label) are fixed at
    # creation; that case is in tests/hostile/test_mlengine_rules.py.
    guarded = model(
        "guarded",
        [version("v1"), version("v2", "b")],
        regions=["us-central1"],
        protect=True,
        default_version="v1",
    )
    repo.write([guarded])
    assert repo.apply().returncode == 0
    before = live.snapshot()
    assert labels_of(before["us-central1/guarded"]).get("deployer-protect") == "true"

    repo.write([])  # the manifest entry is gone, the live label still protects
    result = repo.apply()
    assert result.returncode == 1, str(result)
    assert "protect" in result.stdout + result.stderr
    assert live.snapshot() == before
    result = repo.run("destroy", "manifests", "--auto-approve")
    assert result.returncode == 1, str(result)
    assert "protect" in result.stdout + result.stderr
    assert live.snapshot() == before

    # Unprotect first, then it can go.
    repo.write([{**guarded, "protect": False}])
    assert repo.apply().returncode == 0
    repo.write([])
    assert repo.apply().returncode == 0
    assert live.snapshot() == {}


def test_replacing_the_default_that_stays_default_needs_allow_downtime(
    repo: Repo, live: Live
) -> None:
    only = model("solo", [version("v1", machine_type="mls1-c1-m2")], regions=["global"])
    repo.write([only])
    assert repo.apply().returncode == 0
    before = live.snapshot()
    changed = model(
        "solo",
        [version("v1", runtime_version="2.8", machine_type="mls1-c1-m2")],
        regions=["global"],
    )
    repo.write([changed])
    result = repo.apply()
    assert result.returncode == 1, str(result)
    text = result.stdout + result.stderr
    assert "--allow-downtime" in text and "new version name" in text, text
    assert live.snapshot() == before
    plan = repo.run("plan", "manifests", "--detailed-exitcode")
    assert plan.returncode == 1, str(plan)

    result = repo.apply("--allow-downtime")
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    state = live.snapshot()
    assert state["global/solo/v1"]["runtimeVersion"] == "2.8"
    assert state["global/solo"]["defaultVersion"]["name"].endswith("/v1")


def test_apply_off_a_terminal_without_auto_approve_changes_nothing(repo: Repo, live: Live) -> None:
    repo.write([model("m", [version("v1", machine_type="mls1-c1-m2")], regions=["global"])])
    result = repo.run("apply", "manifests")
    assert result.returncode == 1, str(result)
    assert "--auto-approve" in result.stderr and "Traceback" not in result.stderr
    assert live.snapshot() == {}
    destroy = repo.run("destroy", "manifests")
    assert destroy.returncode in (0, 1)
    assert live.snapshot() == {}
    # The lock was released: a run with --auto-approve goes through right away.
    assert repo.apply().returncode == 0
    repo.write([])
    result = repo.run("destroy", "manifests")
    assert result.returncode == 1 and "--auto-approve" in result.stderr, str(result)
    assert set(live.snapshot()) == {"global/m", "global/m/v1"}
