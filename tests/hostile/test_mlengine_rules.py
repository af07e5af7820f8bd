"""Item 8: the ml v1 rules the validator, the twin and the plan must agree on. Each case is run
end to end against the twin, which refuses what the service refuses: a plan that passes must
apply without a refused call."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from cli.helpers import Live, Repo, model, version

from deployer.providers.mlengine import catalog
from hostile.helpers import assert_one_line_error


def _global(description: str = "d", labels: dict[str, str] | None = None) -> dict[str, Any]:
    v = version("v1", machine_type="mls1-c1-m2", description=description, labels=labels or {})
    return model("g", [v], regions=["global"], description=description)


def test_in_place_updates_on_mls1_never_send_labels(repo: Repo, live: Live) -> None:
    repo.write([_global("first", {"team": "a"})])
    assert repo.apply().returncode == 0
    repo.write([_global("second", {"team": "a"})])
    _, plan = repo.plan_json()
    assert {a["kind"] for a in plan["actions"]} == {"update"}, plan
    result = repo.apply()  # the twin refuses a labels mask on mls1-*: this must not send one
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    state = live.snapshot()
    assert state["global/g/v1"]["description"] == "second"
    assert state["global/g"]["description"] == "second"


def test_a_label_change_on_mls1_is_a_replacement_not_a_refused_patch(
    repo: Repo, live: Live
) -> None:
    repo.write([_global(labels={"team": "a"})])
    assert repo.apply().returncode == 0
    repo.write([_global(labels={"team": "b"})])
    result, plan = repo.plan_json()
    assert result.returncode == 1, str(result)  # it is the default: downtime needs consent
    assert any("--allow-downtime" in e for e in plan["errors"]), plan
    _, allowed = repo.plan_json("--allow-downtime")
    replaced = [a for a in allowed["actions"] if a["kind"] == "delete-then-create"]
    assert [a["address"] for a in replaced] == ["global/g/v1"], allowed
    assert "labels (patchable only if machineType is n1-*)" in replaced[0]["reason"]
    assert repo.apply("--allow-downtime").returncode == 0
    repo.assert_no_changes()
    assert live.snapshot()["global/g/v1"]["labels"]["team"] == "b"


def test_model_labels_on_the_global_endpoint_are_fixed(repo: Repo, live: Live) -> None:
    repo.write([_global()])
    assert repo.apply().returncode == 0
    before = live.snapshot()
    models = [_global()]
    models[0]["labels"] = {"owner": "x"}
    repo.write(models)
    result, plan = repo.plan_json()
    assert result.returncode == 0 and plan["actions"] == [], plan  # nothing the service refuses
    assert any("global/g: labels cannot change after creation" in w for w in plan["warnings"])
    assert repo.apply().returncode == 0
    assert live.snapshot() == before


def test_protect_on_a_global_model_follows_the_manifest_while_declared(
    repo: Repo, live: Live
) -> None:
    guarded = _global()
    guarded["protect"] = True
    repo.write([guarded])
    assert repo.apply().returncode == 0
    repo.write([{**guarded, "protect": False}])
    result, plan = repo.plan_json()
    assert result.returncode == 0 and plan["actions"] == [], plan  # no refused label patch
    repo.write([])
    result = repo.apply()  # the live label cannot be lifted: deployer says what to do
    assert result.returncode == 1, str(result)
    assert "labels are fixed at creation" in result.stdout + result.stderr, str(result)
    assert "global/g" in live.snapshot()


def test_labels_are_patched_in_place_on_regional_endpoints(repo: Repo, live: Live) -> None:
    repo.write([model("r", [version("v1", labels={"team": "a"})], regions=["us-central1"])])
    assert repo.apply().returncode == 0
    models = [model("r", [version("v1", labels={"team": "b"})], regions=["us-central1"])]
    models[0]["labels"] = {"owner": "x"}
    repo.write(models)
    _, plan = repo.plan_json()
    assert {a["kind"] for a in plan["actions"]} == {"update"}, plan
    assert repo.apply().returncode == 0
    repo.assert_no_changes()
    state = live.snapshot()
    assert state["us-central1/r/v1"]["labels"]["team"] == "b"
    assert state["us-central1/r"]["labels"]["owner"] == "x"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"machine_type": "n1-standard-2", "prediction_class": "a.B"}, "prediction_class"),
        ({"service_account": "sa@p.iam.gserviceaccount.com"}, "service_account"),
    ],
)
def test_validator_refuses_what_the_twin_refuses(
    repo: Repo, fields: dict[str, Any], needle: str
) -> None:
    repo.write([model("m", [version("v1", **fields)], regions=["us-central1"])])
    result = repo.run("validate", "manifests")
    assert result.returncode == 1 and needle in result.stderr, str(result)


def test_twin_refuses_prediction_class_on_n1_and_a_lone_service_account(
    live: Live, repo: Repo, upload_dir: Any, pristine: Any
) -> None:
    uri = upload_dir(pristine["a"], repo.bucket, "rules/a")
    live.create_model("us-central1", "m")
    for fields, needle in [
        ({"predictionClass": "a.B"}, "mls1-*"),
        ({"serviceAccount": "sa@p.iam.gserviceaccount.com"}, "custom prediction routine"),
    ]:
        with pytest.raises(Exception) as caught:
            live.create_version("us-central1", "m", "v1", uri, **fields)
        assert needle in str(caught.value)


def test_predict_payload_limit_is_the_services(repo: Repo, twin: Any) -> None:
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    instances = json.dumps([[0.0] * 4] * 80_000)  # about 1.9 MB as sent
    result = repo.run("predict", "m", "--instances", f"@{_write(repo, instances)}")
    assert_one_line_error(result, "1,572,864-byte limit")
    # The twin counts the bytes sent: at the limit it looks for the model (404), above it the
    # request is refused for its size.
    url = f"{twin.api_endpoint('us-central1')}v1/projects/{repo.project}/models/nope:predict"
    for size, status, needle in [
        (catalog.MAX_PREDICT_BYTES, 404, "not"),
        (catalog.MAX_PREDICT_BYTES + 1, 400, "exceeds the limit"),
    ]:
        body = b'{"instances": [1]}'
        body += b" " * (size - len(body))
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=30)
        assert caught.value.code == status, caught.value.read()
        assert needle in caught.value.read().decode(), size


def _write(repo: Repo, text: str) -> str:
    path = repo.root / "instances.json"
    path.write_text(text)
    return str(path)


def test_artifact_limits_are_refused_before_anything_is_uploaded(repo: Repo) -> None:
    repo.write([model("m", [version("v1", "many")], regions=["us-central1"])])
    many = repo.root / "export" / "many" / "assets"
    many.mkdir(exist_ok=True)
    for i in range(catalog.MAX_ARTIFACT_FILES):
        (many / f"f{i}").write_bytes(b"")
    result = repo.run("plan", "manifests")
    assert_one_line_error(result, "export/many", "files; the service allows at most 1000")
    repo.write([_global()])
    big = repo.root / "export" / "a" / "variables" / "big.bin"
    with big.open("wb") as handle:  # sparse: 501 MB apparent size, nothing written
        handle.truncate(catalog.MAX_ARTIFACT_BYTES["mls1"] + 1)
    result = repo.run("apply", "manifests", "--auto-approve")
    assert_one_line_error(result, "machine type mls1-c1-m2 allows at most 500.0 MB")


class _Reader:
    url = "http://gcs"

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes

    def list(self, bucket: str, prefix: str) -> Any:
        return ((f"{prefix}/f{i}", size) for i, size in enumerate(self.sizes))


@pytest.mark.parametrize(
    ("sizes", "machine", "needle"),
    [
        ([1] * (catalog.MAX_ARTIFACT_FILES + 1), "n1-standard-2", "at most 1000"),
        ([catalog.MAX_ARTIFACT_BYTES["mls1"] + 1], "mls1-c1-m2", "at most 524288000 bytes"),
        ([catalog.MAX_ARTIFACT_BYTES["n1"] + 1], "n1-standard-2", "at most 10737418240"),
    ],
)
def test_the_twin_refuses_oversized_artifacts_in_create(
    sizes: list[int], machine: str, needle: str
) -> None:
    from deployer.emulator.artifacts import ArtifactError, check_limits

    with pytest.raises(ArtifactError, match=needle):
        check_limits(_Reader(sizes), "gs://b/m", machine)  # type: ignore[arg-type]
    check_limits(_Reader([1, 2, 3]), "gs://b/m", machine)  # type: ignore[arg-type]


def test_destroy_honours_protect_false_as_declared_where_labels_are_fixed(
    repo: Repo, live: Live
) -> None:
    """Issue 19, item 13: created protected on the global endpoint (its label cannot be lifted),
    then declared `protect: false`: the plan says where the protection now lives, and destroy,
    which reads the manifests, deletes it."""
    guarded = {**_global(), "protect": True}
    repo.write([guarded, model("other", [version("v1")], regions=["us-central1"])])
    assert repo.apply().returncode == 0
    repo.write([{**guarded, "protect": False}, model("other", [version("v1")])])
    result, plan = repo.plan_json()
    assert result.returncode == 0 and plan["actions"] == [], plan
    (note,) = [w for w in plan["warnings"] if "protect" in w]
    assert note.startswith("global/g: protect: false holds while it is declared (destroy deletes")
    result = repo.run("destroy", "manifests", "--auto-approve")
    assert result.returncode == 0, str(result)
    assert live.snapshot() == {}


def test_destroy_honours_protect_true_as_declared_where_labels_are_fixed(
    repo: Repo, live: Live
) -> None:
    repo.write([_global()])
    assert repo.apply().returncode == 0
    repo.write([{**_global(), "protect": True}])
    result, plan = repo.plan_json()
    assert result.returncode == 0 and plan["actions"] == [], plan
    (note,) = [w for w in plan["warnings"] if "protect" in w]
    assert "protect: true holds while it is declared" in note
    assert "removed from the manifests it would not be protected" in note
    result = repo.run("destroy", "manifests", "--auto-approve")
    assert result.returncode == 1, str(result)
    assert "global/g is protected (protect: true in the manifests)" in result.stdout
    assert "global/g" in live.snapshot()


def test_a_replaced_model_gets_its_labels_and_no_warning_says_otherwise(
    repo: Repo, live: Live
) -> None:
    first = {**_global(), "labels": {"owner": "x"}}
    repo.write([first])
    assert repo.apply().returncode == 0
    repo.write([{**first, "labels": {"owner": "y"}, "online_prediction_logging": True}])
    result, plan = repo.plan_json("--allow-downtime")
    assert result.returncode == 0, str(result)
    assert [a["kind"] for a in plan["actions"] if a["address"] == "global/g"] == [
        "delete-then-create"
    ]
    assert not [w for w in plan["warnings"] if "cannot change after creation" in w], plan
    assert repo.apply("--allow-downtime").returncode == 0
    assert live.snapshot()["global/g"]["labels"]["owner"] == "y"
    repo.assert_no_changes()
