"""Online prediction runs the deployed SavedModel with TensorFlow."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from emulator.helpers import api_error, predict_error

TF = {"runtimeVersion": "2.11", "pythonVersion": "3.7", "framework": "TENSORFLOW"}
IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def _deploy(ml: Any, wait: Any, parent: str, model: str, versions: dict[str, str]) -> str:
    ml.projects().models().create(parent=parent, body={"name": model}).execute()
    name = f"{parent}/models/{model}"
    for version, uri in versions.items():
        body = {"name": version, "deploymentUri": uri, **TF}
        op = ml.projects().models().versions().create(parent=name, body=body).execute()
        done = wait(ml, op)
        assert "error" not in done, done
    return name


@pytest.fixture(scope="module")
def iris_dir(tmp_path_factory: pytest.TempPathFactory, example_artifacts: Any) -> Path:
    """The iris example SavedModel from `manifests/`, built by the project's own script."""
    (name, version, inputs, classes, seed) = next(
        e for e in example_artifacts.EXAMPLES if e[0] == "iris"
    )
    target = tmp_path_factory.mktemp("examples") / name / version
    return Path(example_artifacts.build_savedmodel(target, inputs, classes, seed))


@pytest.fixture(scope="module")
def text_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SavedModel with two inputs (bytes and int) and two outputs (one `_bytes`)."""
    import tensorflow as tf

    class Text(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="text"),
                tf.TensorSpec([None], tf.int32, name="times"),
            ]
        )
        def serve(self, text: tf.Tensor, times: tf.Tensor) -> dict[str, tf.Tensor]:
            return {
                "upper_bytes": tf.strings.upper(text),
                "length": tf.strings.length(text) * times,
            }

    module = Text()
    path = tmp_path_factory.mktemp("text") / "text"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="module")
def deployed(
    ml_client: Any,
    storage_client: Any,
    upload_dir: Any,
    wait_operation: Any,
    iris_dir: Path,
    text_model_dir: Path,
) -> dict[str, str]:
    """iris (v1 default, v2 a second copy) and text models, deployed once for the module."""
    ml = ml_client()
    bucket = storage_client.create_bucket("predict-artifacts")
    iris_uri = upload_dir(iris_dir, bucket.name, "iris/1")
    text_uri = upload_dir(text_model_dir, bucket.name, "text/1")
    parent = "projects/predict-project"
    return {
        "iris": _deploy(ml, wait_operation, parent, "iris", {"v1": iris_uri, "v2": iris_uri}),
        "text": _deploy(ml, wait_operation, parent, "text", {"v1": text_uri}),
        "parent": parent,
        "iris_uri": iris_uri,
    }


def _direct(iris_dir: Path) -> list[list[float]]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(iris_dir))
    out = loaded.signatures["serving_default"](x=tf.constant(IRIS, tf.float32))
    return list(out["probabilities"].numpy().tolist())


def test_predictions_match_tensorflow(ml_client: Any, deployed: Any, iris_dir: Path) -> None:
    ml = ml_client()
    name = f"{deployed['iris']}/versions/v1"
    answer = ml.projects().predict(name=name, body={"instances": IRIS}).execute()
    assert answer["predictions"] == _direct(iris_dir)
    assert all(abs(sum(p) - 1.0) < 1e-5 for p in answer["predictions"])


def test_instances_as_objects_of_input_aliases(ml_client: Any, deployed: Any) -> None:
    ml = ml_client()
    name = f"{deployed['iris']}/versions/v1"
    raw = ml.projects().predict(name=name, body={"instances": IRIS}).execute()
    objects = [{"x": row} for row in IRIS]
    named = ml.projects().predict(name=name, body={"instances": objects}).execute()
    assert named == raw


def test_predict_on_model_uses_default_version(
    ml_client: Any, deployed: Any, iris_dir: Path
) -> None:
    ml = ml_client()
    answer = ml.projects().predict(name=deployed["iris"], body={"instances": IRIS}).execute()
    assert answer["predictions"] == _direct(iris_dir)
    version = ml.projects().models().versions().get(name=f"{deployed['iris']}/versions/v1")
    assert version.execute()["lastUseTime"]


def test_signature_name(ml_client: Any, deployed: Any) -> None:
    ml = ml_client()
    name = f"{deployed['iris']}/versions/v2"
    body = {"instances": IRIS[:1], "signature_name": "serving_default"}
    assert len(ml.projects().predict(name=name, body=body).execute()["predictions"]) == 1
    body = {"instances": IRIS[:1], "signature_name": "nope"}
    message = predict_error(lambda: ml.projects().predict(name=name, body=body).execute())
    assert "nope" in message


@pytest.mark.parametrize(
    ("instances", "fragment"),
    [
        ([[1.0, 2.0]], "shape"),
        ([["a", "b", "c", "d"]], "cannot be converted"),
        ([], "non-empty"),
    ],
)
def test_bad_instances_are_400_with_plain_error(
    ml_client: Any, deployed: Any, instances: Any, fragment: str
) -> None:
    ml = ml_client()
    name = f"{deployed['iris']}/versions/v1"
    message = predict_error(
        lambda: ml.projects().predict(name=name, body={"instances": instances}).execute()
    )
    assert fragment in message


def test_b64_inputs_several_inputs_and_outputs(ml_client: Any, deployed: Any) -> None:
    ml = ml_client()
    raw = "héllo".encode()
    instances = [
        {"text": {"b64": base64.b64encode(raw).decode()}, "times": 2},
        {"text": "abc", "times": 1},
    ]
    answer = ml.projects().predict(name=deployed["text"], body={"instances": instances}).execute()
    first, second = answer["predictions"]
    assert base64.b64decode(first["upper_bytes"]["b64"]) == "HéLLO".encode()
    assert first["length"] == len(raw) * 2
    assert second == {"upper_bytes": {"b64": base64.b64encode(b"ABC").decode()}, "length": 3}
    message = predict_error(
        lambda: ml.projects().predict(name=deployed["text"], body={"instances": ["abc"]}).execute()
    )
    assert "several inputs" in message


def test_predict_on_missing_or_unready_versions(
    ml_client: Any, deployed: Any, twin_knobs: Any
) -> None:
    ml = ml_client()
    parent = deployed["parent"]
    api_error(
        lambda: (
            ml.projects().predict(name=f"{parent}/models/ghost", body={"instances": IRIS}).execute()
        ),
        404,
    )
    twin_knobs(op_seconds=30)
    body = {"name": "slow", "deploymentUri": deployed["iris_uri"], **TF}
    op = ml.projects().models().versions().create(parent=deployed["iris"], body=body).execute()
    try:
        error = api_error(
            lambda: (
                ml.projects()
                .predict(name=f"{deployed['iris']}/versions/slow", body={"instances": IRIS})
                .execute()
            ),
            400,
            "FAILED_PRECONDITION",
        )
        assert "CREATING" in error["message"]
    finally:
        ml.projects().operations().cancel(name=op["name"]).execute()
