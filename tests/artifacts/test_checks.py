"""Artifact checks (`validate --artifacts`, `plan`): each problem at its version's line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deployer.artifacts import savedmodel

SETTINGS = "project: demo-project\nartifacts: gs://demo-models/deployer\n"


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_GCE_CHECK": "true", **(env or {})},
    )


@pytest.fixture
def repo(tmp_path: Path, savedmodel_variant: Any, tiny_savedmodel: Path) -> Path:
    export = tmp_path / "export"
    shutil.copytree(tiny_savedmodel, export / "ok")
    for kind in ("fixed_batch", "no_default", "multi_input", "b64_image"):
        shutil.copytree(savedmodel_variant(kind), export / kind)
    shutil.copytree(tiny_savedmodel, export / "big")
    with (export / "big" / "variables" / "padding.bin").open("wb") as handle:
        handle.truncate(600 * 1024**2)  # sparse: 600 MB of size, no bytes written
    (export / "sk").mkdir()
    (export / "sk" / "model.txt").write_text("not a model")
    (export / "xgb").mkdir()
    (export / "xgb" / "model.bst").write_bytes(b"\0")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "deployer.yaml").write_text(SETTINGS)
    return tmp_path


MODEL = """\
models:
  - name: checks
    regions: [global]
    default_version: v1
    versions:
      - {name: v1, artifact: ../export/ok, runtime_version: "2.11"}
      - {name: v2, artifact: ../export/fixed_batch, runtime_version: "2.11"}
      - {name: v3, artifact: ../export/no_default, runtime_version: "2.11"}
      - {name: v4, artifact: ../export/multi_input, runtime_version: "2.11"}
      - {name: v5, artifact: ../export/b64_image, runtime_version: "2.11"}
      - {name: v6, artifact: ../export/big, runtime_version: "2.11"}
      - {name: v7, artifact: ../export/sk, runtime_version: "2.11", framework: scikit-learn}
      - {name: v8, artifact: ../export/xgb, runtime_version: "2.11", framework: xgboost}
"""

EXPECTED = [
    "manifests/m.yaml:7:30: version 'v2': export/fixed_batch/saved_model.pb: input 'x' of "
    "signature 'serving_default' has shape (1, 2); the service needs a leading batch dimension "
    "of -1: export it with a shape starting with None, e.g. tf.TensorSpec([None, ...])",
    "manifests/m.yaml:7:30: version 'v2': export/fixed_batch/saved_model.pb: output 'y' of "
    "signature 'serving_default' has shape (1, 1); the service needs a leading batch dimension "
    "of -1: export it with a shape starting with None, e.g. tf.TensorSpec([None, ...])",
    "manifests/m.yaml:8:30: version 'v3': export/no_default/saved_model.pb has no signature "
    "the service would pick (it takes the only one, else 'serving_default'; found: double, "
    "score): export with signatures={'serving_default': ...}",
    "manifests/m.yaml:11:30: version 'v6': export/big is 600.0 MB; machine type mls1-c1-m2 "
    "allows at most 500.0 MB: use an n1-* machine type on a regional endpoint (up to 10 GB) or "
    "shrink the model",
    "manifests/m.yaml:12:30: version 'v7': export/sk has no model.joblib or model.pkl: the "
    "scikit-learn server loads the model from one of these names at the top of the directory; "
    "save it as model.joblib",
    "5 errors in manifests",
]


def test_validate_artifacts_reports_each_problem_at_its_version(repo: Path) -> None:
    (repo / "manifests" / "m.yaml").write_text(MODEL)
    plain = _run("validate", "manifests", cwd=repo)
    assert plain.returncode == 0, plain.stderr
    checked = _run("validate", "manifests", "--artifacts", cwd=repo)
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == EXPECTED


def test_plan_checks_artifacts_before_any_call(repo: Path) -> None:
    (repo / "manifests" / "m.yaml").write_text(MODEL)
    # No emulator and no credentials: the plan stops at the artifacts, before any API call.
    env = {"AIPLATFORM_EMULATOR_HOST": "http://127.0.0.1:9", "STORAGE_EMULATOR_HOST": ""}
    result = _run("plan", "manifests", cwd=repo, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == EXPECTED


def test_big_artifact_fits_n1(repo: Path) -> None:
    (repo / "manifests" / "m.yaml").write_text(
        "models:\n"
        "  - name: big\n"
        "    regions: [us-central1]\n"
        "    versions:\n"
        '      - {name: v1, artifact: ../export/big, runtime_version: "2.11"}\n'
    )
    result = _run("validate", "manifests", "--artifacts", cwd=repo)
    assert result.returncode == 0, result.stderr


def test_gs_artifacts_are_read_from_storage(
    tmp_path: Path, savedmodel_variant: Any, bucket: Any, upload_dir: Any, twin_env: Any
) -> None:
    uri = upload_dir(savedmodel_variant("no_default"), bucket.name, "models/nd")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "deployer.yaml").write_text(SETTINGS)
    (tmp_path / "manifests" / "m.yaml").write_text(
        "models:\n"
        "  - name: remote\n"
        "    versions:\n"
        f'      - {{name: v1, runtime_version: "2.11", artifact: {uri}}}\n'
    )
    result = _run("validate", "manifests", "--artifacts", cwd=tmp_path, env=twin_env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"manifests/m.yaml:4:55: version 'v1': {uri}/saved_model.pb has no signature the "
        "service would pick (it takes the only one, else 'serving_default'; found: double, "
        "score): export with signatures={'serving_default': ...}"
    )


def test_parser_agrees_with_tensorflow(savedmodel_variant: Any, tiny_savedmodel: Path) -> None:
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import dtypes

    for path in (tiny_savedmodel, *(savedmodel_variant(k) for k in ("multi_input", "b64_image"))):
        data = (path / "saved_model.pb").read_bytes()
        proto = saved_model_pb2.SavedModel.FromString(data)
        (ours,) = savedmodel.parse(data)
        (theirs,) = proto.meta_graphs
        assert ours.tags == tuple(theirs.meta_info_def.tags)
        assert set(ours.signatures) == set(theirs.signature_def)
        for name, sig in ours.signatures.items():
            other = theirs.signature_def[name]
            for mine, tensors in ((sig.inputs, other.inputs), (sig.outputs, other.outputs)):
                assert {t.alias for t in mine} == set(tensors)
                for t in mine:
                    info = tensors[t.alias]
                    if info.tensor_shape.unknown_rank:
                        assert t.shape is None
                    else:
                        assert t.shape == tuple(d.size for d in info.tensor_shape.dim)
                    if info.dtype:
                        assert t.dtype == dtypes.as_dtype(info.dtype).name


def test_parser_refuses_garbage() -> None:
    with pytest.raises(savedmodel.SavedModelError):
        savedmodel.parse(b"\x00garbage, not a protobuf")
