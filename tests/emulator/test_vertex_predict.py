"""Vertex predict: TensorFlow exactly as run directly, routing by the traffic split (seeded),
the service's errors; and Vertex state surviving SIGKILL."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.helpers import api_error
from emulator.test_persistence import Command
from emulator.vertex_support import (
    SK_IMAGE,
    TF_IMAGE,
    create_endpoint,
    deploy,
    endpoints,
    models,
    parent,
    upload,
)

IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


@pytest.fixture
def tf_uri(bucket: Any, upload_dir: Any, tiny_savedmodel: Path) -> str:
    return str(upload_dir(tiny_savedmodel, bucket.name, "tiny"))


def test_predict_equals_tensorflow_and_follows_a_90_10_split(
    vertex_client: Any, wait_vertex: Any, project: str, tf_uri: str, tiny_savedmodel: Path,
    twin_knobs: Any,
) -> None:  # fmt: skip
    import tensorflow as tf

    done = upload(vertex_client, wait_vertex, project, image=TF_IMAGE, uri=tf_uri)
    assert "error" not in done, done
    model = f"{parent(project)}/models/m"
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    api = endpoints(vertex_client)
    empty = api_error(lambda: api.predict(endpoint=ep, body={"instances": IRIS}).execute(), 400)
    assert empty["status"] == "FAILED_PRECONDITION"
    gpu = {
        "machineSpec": {
            "machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4",
            "acceleratorCount": 1,
        },
        "minReplicaCount": 1,
    }  # fmt: skip
    body = {"deployedModel": {"model": model, "dedicatedResources": gpu}}
    api_error(lambda: api.deployModel(endpoint=ep, body=body).execute(), 400, "INVALID_ARGUMENT")
    a = deploy(vertex_client, wait_vertex, ep, model, {"0": 100})["response"]["deployedModel"]
    b = deploy(vertex_client, wait_vertex, ep, f"{model}@1", {a["id"]: 90, "0": 10})
    b_id = b["response"]["deployedModel"]["id"]
    answer = api.predict(endpoint=ep, body={"instances": IRIS}).execute()
    loaded = tf.saved_model.load(str(tiny_savedmodel))
    direct = loaded.signatures["serving_default"](x=tf.constant(IRIS, tf.float32))
    expected = next(iter(direct.values())).numpy().tolist()
    assert answer["predictions"] == expected
    assert answer["model"] == model and answer["modelVersionId"] == "1"
    assert answer["modelDisplayName"] == "m" and answer["deployedModelId"] in (a["id"], b_id)
    twin_knobs(seed=1234)
    counts = {a["id"]: 0, b_id: 0}
    one = {"instances": IRIS[:1]}
    for _ in range(1000):
        counts[api.predict(endpoint=ep, body=one).execute()["deployedModelId"]] += 1
    assert abs(counts[a["id"]] / 1000 - 0.9) <= 0.03, counts
    bad = api_error(lambda: api.predict(endpoint=ep, body={"instances": [[1, 2]]}).execute(), 400)
    assert "Prediction failed" in bad["message"]


def test_artifact_problems_end_the_upload_in_error(
    vertex_client: Any, wait_vertex: Any, project: str, bucket: Any
) -> None:
    missing = upload(vertex_client, wait_vertex, project, image=TF_IMAGE, uri="gs://nope/x")
    assert missing["error"]["code"] == 3
    bucket.blob("empty/readme.txt").upload_from_string(b"hi")
    wrong = upload(
        vertex_client, wait_vertex, project, image=TF_IMAGE, uri=f"gs://{bucket.name}/empty"
    )
    assert wrong["error"]["code"] == 3 and "saved_model.pb" in wrong["error"]["message"]
    api_error(lambda: models(vertex_client).get(name=f"{parent(project)}/models/m").execute(), 404)


def test_sklearn_artifact_serves_or_says_why_not(
    vertex_client: Any, wait_vertex: Any, project: str, bucket: Any
) -> None:
    bucket.blob("sk/model.joblib").upload_from_string(b"not really joblib")
    done = upload(vertex_client, wait_vertex, project, image=SK_IMAGE, uri=f"gs://{bucket.name}/sk")
    assert "error" not in done, done
    ep = create_endpoint(vertex_client, wait_vertex, project)["name"]
    deploy(vertex_client, wait_vertex, ep, f"{parent(project)}/models/m", {"0": 100})
    call = endpoints(vertex_client).predict(endpoint=ep, body={"instances": [[1.0, 2.0]]})
    error = api_error(call.execute, 400, "FAILED_PRECONDITION")
    assert "Prediction failed" in error["message"]


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for command in started:
        if command.proc.poll() is None:
            command.finish(signal.SIGKILL)


def test_vertex_state_survives_sigkill_mid_deploy(
    tmp_path: Path, twin: Any, project: str, commands: list[Command]
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from googleapiclient import discovery

    def client(url: str) -> Any:
        return discovery.build(
            "aiplatform", "v1", static_discovery=True, credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"{url}/"},
        )  # fmt: skip

    def wait(c: Any, op: Any) -> Any:
        import time

        from conftest import OP_TIMEOUT  # noqa: F401

        name = op["name"] if isinstance(op, dict) else op
        scope = c.projects().locations().endpoints() if "/endpoints/" in name else None
        ops = (scope or c.projects().locations().models()).operations()
        deadline = time.monotonic() + 60
        while not (current := ops.get(name=name).execute()).get("done"):
            assert time.monotonic() < deadline, current
            time.sleep(0.05)
        return current

    data, env = tmp_path / "data", {"STORAGE_EMULATOR_HOST": twin.gcs_url}
    args = ("--port", "0", "--no-gcs", "--op-seconds", "0.1")
    first = Command(data, tmp_path / "first.log", *args, env=env)
    commands.append(first)
    c = client(first.url)
    assert "error" not in upload(c, wait, project, labels={"a": "b"})
    ep = create_endpoint(c, wait, project)["name"]
    urllib_knobs(first.url, {"op_seconds": 3.0})
    resources = {"machineSpec": {"machineType": "e2-standard-2"}, "minReplicaCount": 1}
    body = {
        "deployedModel": {"model": f"{parent(project)}/models/m", "dedicatedResources": resources},
        "trafficSplit": {"0": 100},
    }
    op = endpoints(c).deployModel(endpoint=ep, body=body).execute()
    assert first.finish(signal.SIGKILL) == -signal.SIGKILL

    second = Command(data, tmp_path / "second.log", *args, env=env)
    commands.append(second)
    c = client(second.url)
    assert models(c).get(name=f"{parent(project)}/models/m").execute()["labels"] == {"a": "b"}
    done = wait(c, op)
    assert done["metadata"]["deploymentStage"] == "SUCCESSFULLY_DEPLOYED", done
    dm_id = done["response"]["deployedModel"]["id"]
    assert endpoints(c).get(name=ep).execute()["trafficSplit"] == {dm_id: 100}
    assert second.finish(signal.SIGTERM) == 0


def urllib_knobs(url: str, changes: dict[str, Any]) -> None:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{url}/_emulator/config", data=json.dumps(changes).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
