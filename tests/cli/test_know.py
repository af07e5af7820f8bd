"""Issue 10 through the CLI: `inspect`, `predict --local` against the same model online."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from cli.helpers import Repo, model, version


def test_inspect_shows_signatures_and_an_example_request(repo: Repo, savedmodel_variant: Any):
    repo.root.mkdir(parents=True)
    multi = savedmodel_variant("multi_input")
    text = repo.run("inspect", str(multi))
    assert text.returncode == 0, text
    lines = text.stdout.splitlines()
    assert "signature serving_default  (used by the service)   method: " in text.stdout
    assert "  input   a      float32  (-1, 2)" in lines
    assert "  input   b      int64    (-1,)" in lines
    assert "  output  label  string   (-1,)" in lines
    assert lines[-1] == '{"instances": [{"a": [0.0, 0.0], "b": 0}]}'
    doc = repo.run("inspect", str(savedmodel_variant("b64_image")), "--format", "json").json()
    assert doc["serving_signature"] == "serving_default"
    (image,) = doc["signatures"]["serving_default"]["inputs"]
    assert image == {"alias": "image_bytes", "dtype": "string", "shape": [-1], "b64": True}
    (instance,) = doc["example_request"]["instances"]
    assert set(instance) == {"b64"} and doc["problems"] == []
    # The example request is one the model answers, with the service's conventions.
    (repo.root / "req.json").write_text(json.dumps(doc["example_request"]))
    out = repo.run(
        "predict", "--local", str(savedmodel_variant("b64_image")), "--instances", "@req.json"
    )
    assert out.returncode == 0, out
    assert out.json() == {"predictions": [128.0]}
    nd = repo.run("inspect", str(savedmodel_variant("no_default")), "--format", "json").json()
    assert nd["serving_signature"] is None and nd["example_request"] is None
    assert "no signature the service would pick" in nd["problems"][0]


def test_local_and_online_predictions_agree(repo: Repo, savedmodel_variant: Any) -> None:
    repo.write([model("m", [version("v1", "a")], regions=["us-central1"])])
    assert repo.apply().returncode == 0
    rows = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0], [0, 0, 0, 0]]
    (repo.root / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    online = repo.run("predict", "m/v1", "--instances", "in.jsonl", "--format", "json")
    assert online.returncode == 0, online
    local = repo.run(
        "predict", "--local", "export/a", "--instances", "in.jsonl", "--format", "json"
    )
    assert local.returncode == 0, local
    assert local.json() == online.json() and len(local.json()["predictions"]) == 3
    table = repo.run(
        "predict", "--local", "export/a", "--instances", "in.jsonl", "--format", "table"
    )
    assert table.stdout.splitlines()[0].split() == ["#", "prediction"]
    assert len(table.stdout.splitlines()) == 4
    # Several inputs: objects of aliases; the output is one object per instance.
    multi = repo.root / "multi"
    shutil.copytree(savedmodel_variant("multi_input"), multi)
    (repo.root / "multi.jsonl").write_text('{"a": [1, 2], "b": 3}\n{"a": [0.5, 0.5], "b": -1}\n')
    answer = repo.run("predict", "--local", str(multi), "--instances", "multi.jsonl")
    assert answer.json() == {
        "predictions": [{"label": "3", "total": 6.0}, {"label": "-1", "total": 0.0}]
    }
    wrong = repo.run("predict", "--local", str(multi), "--instances", "[[1, 2]]")
    assert wrong.returncode == 1
    assert "instance 0 must be an object with the inputs a, b" in wrong.stderr


def test_predict_local_refuses_what_the_service_refuses(repo: Repo, savedmodel_variant: Any):
    repo.root.mkdir(parents=True)
    fixed = repo.run(
        "predict", "--local", str(savedmodel_variant("fixed_batch")), "--instances", "[[1, 2]]"
    )
    assert fixed.returncode == 1
    assert "input 'x' must have a leading batch dimension of -1 (None)" in fixed.stderr
    nd = str(savedmodel_variant("no_default"))
    refused = repo.run("predict", "--local", nd, "--instances", "[[1, 2]]")
    assert refused.returncode == 1 and "none is serving_default" in refused.stderr
    chosen = repo.run("predict", "--local", nd, "--instances", "[[1, 2]]", "--signature", "double")
    assert chosen.returncode == 1  # the service refuses such a model at create time too
    assert Path(nd).is_dir()


def _predictions(path: Path, instances: list) -> list:
    from deployer.artifacts import serving

    return serving.predict(path, {"instances": instances})["predictions"]


def _jsonl(path: Path, values: list) -> str:
    path.write_text("".join(json.dumps(v) + "\n" for v in values))
    return path.name


def test_smoke_test_gates_the_default_version(repo: Repo, live: Any, pristine: Any) -> None:
    rows = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]]
    models_dir = repo.root / "manifests" / "models"
    repo.write([model("m", [version("v1", "a")], regions=["us-central1"])])
    assert repo.apply().returncode == 0
    smoke = {"instances": _jsonl(models_dir / "smoke.jsonl", rows), "tolerance": 1e-4}
    right = _jsonl(models_dir / "expect_b.jsonl", _predictions(pristine["b"], rows))
    v1, v2 = version("v1", "a"), version("v2", "b", smoke_test={**smoke, "expect": right})
    repo.write([model("m", [v1, v2], regions=["us-central1"], default_version="v2")])
    _jsonl(models_dir / "smoke.jsonl", rows)  # write() recreates the directory
    _jsonl(models_dir / "expect_b.jsonl", _predictions(pristine["b"], rows))
    promoted = repo.apply()
    assert promoted.returncode == 0, promoted
    assert "Smoke test of us-central1/m/v2 passed (2 instances)" in promoted.stdout
    state = live.snapshot()
    assert state["us-central1/m"]["defaultVersion"]["name"].endswith("/versions/v2")

    # v3 serves model "c" but expects "b"'s answers: created, never made the default.
    v3 = version("v3", "c", smoke_test={**smoke, "expect": right})
    repo.write([model("m", [v1, v2, v3], regions=["us-central1"], default_version="v3")])
    _jsonl(models_dir / "smoke.jsonl", rows)
    _jsonl(models_dir / "expect_b.jsonl", _predictions(pristine["b"], rows))
    refused = repo.apply()
    assert refused.returncode == 1, refused
    out = refused.stdout + refused.stderr
    assert "default of us-central1/m not moved to v3: failed: smoke test " in out
    assert "failed on instance 1: prediction[0] is " in out and "; the default stays v2" in out
    state = live.snapshot()
    assert state["us-central1/m"]["defaultVersion"]["name"].endswith("/versions/v2")
    assert "us-central1/m/v3" in state
    _, plan = repo.plan_json()
    kinds = [(a["kind"], a["address"]) for a in plan["actions"]]
    assert kinds == [("reroute", "us-central1/m/v3")]


def test_smoke_test_files_are_validated_at_their_line(repo: Repo) -> None:
    smoke = {"instances": "missing.jsonl", "expect": "bad.jsonl"}
    repo.write([model("m", [version("v1", "a", smoke_test=smoke)], regions=["us-central1"])])
    (repo.manifests / "models" / "bad.jsonl").write_text("[1]\n{oops\n")
    result = repo.run("validate", "manifests")
    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        "manifests/models/m.yaml:10:18: smoke_test instances file not found: "
        "manifests/models/missing.jsonl",
        "manifests/models/m.yaml:11:15: smoke_test expect file manifests/models/bad.jsonl: "
        "line 2: not valid JSON (Expecting property name enclosed in double quotes at char 1)",
    ]
