"""Shared fixtures: a running twin of AI Platform Prediction with its Cloud Storage emulator,
clients for both, and tiny TensorFlow SavedModels.

Every fixture is safe under pytest-xdist: each worker starts its own twin on free ports in its
own temporary data directory. Tests isolate themselves with the `project` (a fresh project id)
and `bucket` (a fresh bucket) fixtures instead of resetting the shared twin.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["NO_GCE_CHECK"] = "true"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
OP_SECONDS = 0.2
OP_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The twin with a GCS emulator, in-process, on free ports; operations take 0.2 s."""
    from deployer.emulator import Knobs, start

    handle = start(
        tmp_path_factory.mktemp("twin"), port=0, gcs_port=0, knobs=Knobs(op_seconds=OP_SECONDS)
    )
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def twin_env(twin: Any) -> dict[str, str]:
    """AIPLATFORM_EMULATOR_HOST and STORAGE_EMULATOR_HOST for the session twin."""
    return dict(twin.env)


@pytest.fixture(scope="session")
def ml_client(twin: Any) -> Callable[..., Any]:
    """`ml_client(region="global", validate=True)`: an `ml` v1 discovery client pointed at the
    twin's endpoint for `region`; with `validate`, every response body is checked against the
    schemas of the shipped discovery document (a mismatch raises SchemaError)."""
    from emulator.discovery_schema import ValidatingHttp
    from googleapiclient import discovery

    def build(region: str = "global", validate: bool = True) -> Any:
        options = {"api_endpoint": twin.api_endpoint(region)}
        if validate:
            return discovery.build(
                "ml", "v1", static_discovery=True, http=ValidatingHttp(), client_options=options
            )
        from google.auth.credentials import AnonymousCredentials

        return discovery.build(
            "ml",
            "v1",
            static_discovery=True,
            credentials=AnonymousCredentials(),
            client_options=options,
        )

    return build


@pytest.fixture(scope="session")
def vertex_client(twin: Any) -> Any:
    """An `aiplatform` v1 discovery client on the twin (same port as ml v1) whose every response
    is checked against the schemas of the shipped `aiplatform.v1.json`."""
    from emulator.discovery_schema import ValidatingHttp
    from googleapiclient import discovery

    return discovery.build(
        "aiplatform",
        "v1",
        static_discovery=True,
        http=ValidatingHttp(),
        client_options={"api_endpoint": twin.api_endpoint()},
    )


@pytest.fixture(scope="session")
def wait_vertex() -> Callable[..., dict[str, Any]]:
    """`wait_vertex(client, op_or_name, timeout=60) -> finished operation` (polls `get`)."""

    def wait(client: Any, op: Any, timeout: float = OP_TIMEOUT) -> dict[str, Any]:
        name = op["name"] if isinstance(op, dict) else op
        scope = name.split("/")[4] if name.count("/") > 5 else ""
        where = client.projects().locations()
        ops = {"models": where.models, "endpoints": where.endpoints}.get(scope, lambda: where)()
        ops = ops.operations()
        deadline = time.monotonic() + timeout
        while True:
            current = ops.get(name=name).execute()
            if current.get("done"):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"operation {name} not done after {timeout} s: {current}")
            time.sleep(0.02)

    return wait


@pytest.fixture(scope="session")
def storage_client(twin: Any) -> Any:
    """A google-cloud-storage client on the twin's GCS emulator (anonymous credentials)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="test-project",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": twin.gcs_url},
    )


@pytest.fixture
def project() -> str:
    """A fresh project id, so tests sharing the session twin never see each other's resources."""
    return f"p-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def bucket(storage_client: Any) -> Any:
    """A fresh, empty bucket in the GCS emulator."""
    return storage_client.create_bucket(f"b-{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="session")
def upload_dir(storage_client: Any) -> Callable[[Path, str, str], str]:
    """`upload_dir(local_dir, bucket_name, prefix) -> "gs://bucket/prefix"`."""

    def upload(local: Path, bucket_name: str, prefix: str) -> str:
        target = storage_client.bucket(bucket_name)
        for path in sorted(Path(local).rglob("*")):
            if path.is_file():
                relative = path.relative_to(local).as_posix()
                target.blob(f"{prefix}/{relative}").upload_from_filename(str(path))
        return f"gs://{bucket_name}/{prefix}"

    return upload


@pytest.fixture(scope="session")
def wait_operation() -> Callable[..., dict[str, Any]]:
    """`wait_operation(client, op_or_name, timeout=60) -> finished operation` (polls)."""

    def wait(client: Any, op: Any, timeout: float = OP_TIMEOUT) -> dict[str, Any]:
        name = op["name"] if isinstance(op, dict) else op
        deadline = time.monotonic() + timeout
        while True:
            current = client.projects().operations().get(name=name).execute()
            if current.get("done"):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"operation {name} not done after {timeout} s: {current}")
            time.sleep(0.05)

    return wait


@pytest.fixture
def twin_knobs(twin: Any) -> Iterator[Callable[..., dict[str, Any]]]:
    """`twin_knobs(**changes)` changes the session twin's knobs for one test, then restores."""
    saved = twin.knobs.as_dict()

    def change(**changes: Any) -> dict[str, Any]:
        return twin.knobs.update(changes).__dict__

    yield change
    twin.knobs.update(saved)


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def example_artifacts() -> Any:
    """The `scripts/build_example_artifacts.py` module (build_savedmodel, EXAMPLES)."""
    return _load_script("build_example_artifacts")


@pytest.fixture(scope="session")
def savedmodel_builder(example_artifacts: Any) -> Callable[..., Path]:
    """`savedmodel_builder(path, inputs=4, classes=3, seed=0) -> path`: a tiny softmax
    classifier SavedModel (input `x`, output `probabilities`), as in the example manifests."""

    def build(path: Path, inputs: int = 4, classes: int = 3, seed: int = 0) -> Path:
        return example_artifacts.build_savedmodel(Path(path), inputs, classes, seed)

    return build


@pytest.fixture(scope="session")
def tiny_savedmodel(tmp_path_factory: pytest.TempPathFactory, savedmodel_builder: Any) -> Path:
    """One tiny SavedModel (4 inputs, 3 classes), built once per session."""
    return savedmodel_builder(tmp_path_factory.mktemp("savedmodel") / "tiny", 4, 3, 0)


def _build_variant(path: Path, kind: str) -> Path:
    """A tiny SavedModel with one of the shapes the artifact checks must catch or handle."""
    import tensorflow as tf

    class Module(tf.Module):
        pass

    module = Module()
    module.w = tf.Variable([[0.5], [-0.25]], name="w")

    if kind == "fixed_batch":  # batch dimension fixed to 1: the service refuses it

        @tf.function(input_signature=[tf.TensorSpec([1, 2], tf.float32, name="x")])
        def fixed(x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": tf.matmul(x, module.w)}

        signatures = {"serving_default": fixed}
    elif kind == "no_default":  # two signatures, none is serving_default

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def double(x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def score(x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": tf.matmul(x, module.w)}

        signatures = {"double": double, "score": score}
    elif kind == "multi_input":  # two inputs, two outputs: instances are objects

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, 2], tf.float32, name="a"),
                tf.TensorSpec([None], tf.int64, name="b"),
            ]
        )
        def serve(a: tf.Tensor, b: tf.Tensor) -> dict[str, tf.Tensor]:
            total = tf.reduce_sum(a, axis=1) + tf.cast(b, tf.float32)
            return {"total": total, "label": tf.strings.as_string(b)}

        signatures = {"serving_default": serve}
    elif kind == "b64_image":  # a string input of encoded images, as object detection exports

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
        def serve(image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
            def brightness(data: tf.Tensor) -> tf.Tensor:
                image = tf.io.decode_image(data, channels=1, expand_animations=False)
                return tf.reduce_mean(tf.cast(image, tf.float32))

            return {
                "brightness": tf.map_fn(brightness, image_bytes, fn_output_signature=tf.float32)
            }

        signatures = {"serving_default": serve}
    else:
        raise ValueError(kind)
    path.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


@pytest.fixture(scope="session")
def savedmodel_variant(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`savedmodel_variant(kind) -> path` (built once per session): "fixed_batch" (input
    [1, 2]), "no_default" (signatures double and score), "multi_input" (a: float [None, 2],
    b: int64 [None]; outputs total, label), "b64_image" (image_bytes: string [None] of PNG or
    JPEG bytes; output brightness)."""
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("variants")

    def get(kind: str) -> Path:
        if kind not in built:
            built[kind] = _build_variant(root / kind, kind)
        return built[kind]

    return get
