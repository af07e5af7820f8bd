"""Each write operation against the twin: what it leaves live, and how it fails."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from deployer.core.resources import ResourceKey, State
from deployer.providers.mlengine.client import MLClient
from deployer.providers.mlengine.errors import OperationFailed, OperationTimeout, ProviderError
from deployer.providers.mlengine.provider import MLEngineProvider
from deployer.providers.mlengine.writer import MLEngineWriter, patch_body
from deployer.providers.retry import RetryPolicy

LABELS = {"managed-by": "deployer", "deployer-stack": "vision", "team": "vision"}
MODEL = ResourceKey("us-central1", "fraud")
MODEL_FIELDS = {"description": "fraud model", "onlinePredictionLogging": False}


def version_fields(uri: str, **changes: Any) -> dict[str, Any]:
    return {
        "description": None,
        "deploymentUri": uri,
        "artifactDigest": "sha256-1",
        "runtimeVersion": "2.11",
        "pythonVersion": "3.7",
        "framework": "TENSORFLOW",
        "machineType": "n1-standard-2",
        "acceleratorConfig": None,
        "predictionClass": None,
        "packageUris": None,
        "serviceAccount": None,
        "requestLoggingConfig": None,
        "scalingMode": "auto",
        "manualScaling.nodes": None,
        "autoScaling.minNodes": 1,
        "autoScaling.maxNodes": 3,
        "autoScaling.metrics": None,
        **changes,
    }


def v(name: str) -> ResourceKey:
    return ResourceKey(MODEL.endpoint, MODEL.model, name)


@pytest.fixture
def writer(provider: MLEngineProvider) -> MLEngineWriter:
    return provider.writer


@pytest.fixture
def model(writer: MLEngineWriter) -> ResourceKey:
    writer.create_model(MODEL, MODEL_FIELDS, LABELS, "spec-m")
    return MODEL


def test_create_model_writes_fields_and_spec_label(writer: MLEngineWriter) -> None:
    created = writer.create_model(MODEL, MODEL_FIELDS, LABELS, "spec-m")
    assert created.fields["description"] == "fraud model"
    assert created.labels == {**LABELS, "deployer-spec": "spec-m"}
    assert writer.get_model(MODEL) == created


def test_create_model_again_after_an_interrupted_run_is_fine(writer: MLEngineWriter) -> None:
    first = writer.create_model(MODEL, MODEL_FIELDS, LABELS, "spec-m")
    assert writer.create_model(MODEL, MODEL_FIELDS, LABELS, "spec-m").key == first.key


def test_create_model_over_someone_elses_model_fails(writer: MLEngineWriter) -> None:
    writer.create_model(MODEL, MODEL_FIELDS, {"owner": "alice"}, "spec-x")
    with pytest.raises(ProviderError, match=r"create model us-central1/fraud: .*already exists"):
        writer.create_model(MODEL, MODEL_FIELDS, LABELS, "spec-m")


def test_patch_model_description_and_labels(writer: MLEngineWriter, model: ResourceKey) -> None:
    patched = writer.patch_model(
        model, ["description"], {"description": "v2 of fraud"}, {**LABELS, "tier": "a"}, "spec-2"
    )
    assert patched.fields["description"] == "v2 of fraud"
    assert patched.labels == {**LABELS, "tier": "a", "deployer-spec": "spec-2"}
    cleared = writer.patch_model(model, ["description"], {"description": None}, LABELS, "s3")
    assert cleared.fields["description"] is None


def test_delete_model_and_again(writer: MLEngineWriter, model: ResourceKey) -> None:
    writer.delete_model(model)
    assert writer.get_model(model) is None
    writer.delete_model(model)  # already gone: success


def test_create_version_waits_until_ready(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    created = writer.create_version(v("v1"), version_fields(artifact), LABELS, "spec-v1")
    assert created.state is State.READY and created.is_default
    assert created.labels == {**LABELS, "deployer-spec": "spec-v1"}
    assert created.fields["artifactDigest"] == "sha256-1"
    assert created.fields["autoScaling.maxNodes"] == 3


def test_create_version_again_after_an_interrupted_run_is_fine(
    writer: MLEngineWriter, client: MLClient, model: ResourceKey, artifact: str
) -> None:
    # an earlier run sent the create and died before the operation finished
    from deployer.providers.mlengine import state

    body = state.version_body(
        v("v1"), version_fields(artifact), {**LABELS, "deployer-spec": "spec-v1"}
    )
    client.execute(
        "us-central1",
        "raw create",
        lambda r: (
            r.projects().models().versions().create(parent=client.model_name(model), body=body)
        ),
    )
    again = writer.create_version(v("v1"), version_fields(artifact), LABELS, "spec-v1")
    assert again.state is State.READY


def test_create_version_over_a_different_existing_version_fails(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    writer.create_version(v("v1"), version_fields(artifact), LABELS, "spec-old")
    with pytest.raises(ProviderError, match=r"create version us-central1/fraud/v1: .*exists"):
        writer.create_version(v("v1"), version_fields(artifact), LABELS, "spec-new")


def test_a_version_that_ends_failed_raises_the_services_reason(
    writer: MLEngineWriter, model: ResourceKey, bucket: Any
) -> None:
    missing = f"gs://{bucket.name}/no/such/model"
    with pytest.raises(OperationFailed) as info:
        writer.create_version(v("bad"), version_fields(missing), LABELS, "s")
    text = str(info.value)
    assert text.startswith("create version us-central1/fraud/bad failed: version is FAILED: ")
    live = writer.get_version(v("bad"))
    assert live is not None and live.state is State.FAILED
    assert live.error_message and live.error_message in text


def test_injected_operation_failure_is_reported(
    writer: MLEngineWriter, model: ResourceKey, artifact: str, twin_knobs: Any
) -> None:
    twin_knobs(op_failure_rate=1.0)
    with pytest.raises(OperationFailed, match=r"failed: .*Internal error"):
        writer.create_version(v("v1"), version_fields(artifact), LABELS, "s")


def test_request_logging_is_patched_in_after_create(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    logging = {"bigqueryTableName": "acme.logs.fraud", "samplingPercentage": 0.5}
    created = writer.create_version(
        v("v1"), version_fields(artifact, requestLoggingConfig=logging), LABELS, "s"
    )
    assert created.fields["requestLoggingConfig"] == logging
    assert created.labels["deployer-spec"] == "s"


def test_patch_version_scaling_description_logging_labels(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    writer.create_version(v("v1"), version_fields(artifact), LABELS, "s1")
    logging = {"bigqueryTableName": "acme.logs.fraud", "samplingPercentage": 0.25}
    fields = version_fields(
        artifact,
        description="tuned",
        requestLoggingConfig=logging,
        **{"autoScaling.minNodes": 2, "autoScaling.maxNodes": 5},
    )
    mask = ["autoScaling.minNodes", "autoScaling.maxNodes", "description", "requestLoggingConfig"]
    patched = writer.patch_version(v("v1"), mask, fields, {**LABELS, "x": "y"}, "s2")
    assert patched.state is State.READY
    assert patched.fields["autoScaling.minNodes"] == 2
    assert patched.fields["autoScaling.maxNodes"] == 5
    assert patched.fields["description"] == "tuned"
    assert patched.fields["requestLoggingConfig"] == logging
    assert patched.fields["artifactDigest"] == "sha256-1"
    assert patched.labels == {**LABELS, "x": "y", "deployer-spec": "s2"}


def test_patch_body_nests_flattened_paths() -> None:
    fields = {"autoScaling.minNodes": 2, "manualScaling.nodes": None, "description": "d"}
    paths = ["autoScaling.minNodes", "manualScaling.nodes", "description"]
    assert patch_body(paths, fields) == {"autoScaling": {"minNodes": 2}, "description": "d"}


def test_patch_version_of_a_fixed_field_is_refused_with_the_services_message(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    writer.create_version(v("v1"), version_fields(artifact), LABELS, "s1")
    with pytest.raises(ProviderError) as info:
        writer.patch_version(
            v("v1"), ["machineType"], version_fields(artifact, machineType="n1-standard-4"),
            LABELS, "s2",
        )  # fmt: skip
    assert info.value.status == 400 and not info.value.retryable
    assert str(info.value).startswith("update version us-central1/fraud/v1: rejected by")
    assert "cannot be updated" in str(info.value)


def test_set_default_and_delete_versions(
    writer: MLEngineWriter, model: ResourceKey, artifact: str
) -> None:
    writer.create_version(v("v1"), version_fields(artifact), LABELS, "s")
    second = writer.create_version(v("v2"), version_fields(artifact), LABELS, "s")
    assert not second.is_default
    with pytest.raises(ProviderError, match="Cannot delete the default version"):
        writer.delete_version(v("v1"))
    assert writer.set_default(v("v2")).is_default
    writer.delete_version(v("v1"))
    assert writer.get_version(v("v1")) is None
    writer.delete_version(v("v1"))  # already gone: success
    writer.delete_version(v("v2"))
    writer.delete_model(model)
    assert writer.get_model(model) is None


def test_delete_waits_for_a_version_still_being_created(
    writer: MLEngineWriter, client: MLClient, model: ResourceKey, artifact: str
) -> None:
    from deployer.providers.mlengine import state

    body = state.version_body(v("v1"), version_fields(artifact), LABELS)
    client.execute(
        "us-central1",
        "raw create",
        lambda r: (
            r.projects().models().versions().create(parent=client.model_name(model), body=body)
        ),
    )
    assert writer.get_version(v("v1")).state is State.CREATING  # type: ignore[union-attr]
    writer.delete_version(v("v1"))
    assert writer.get_version(v("v1")) is None


def test_wait_settled(
    writer: MLEngineWriter, client: MLClient, model: ResourceKey, artifact: str
) -> None:
    from deployer.providers.mlengine import state

    body = state.version_body(v("v1"), version_fields(artifact), LABELS)
    client.execute(
        "us-central1",
        "raw create",
        lambda r: (
            r.projects().models().versions().create(parent=client.model_name(model), body=body)
        ),
    )
    settled = writer.wait_settled(v("v1"))
    assert settled is not None and settled.state is State.READY
    assert writer.wait_settled(v("nope")) is None


def test_operation_timeout_says_it_may_still_finish(
    client: MLClient, model: ResourceKey, artifact: str, twin_knobs: Any
) -> None:
    twin_knobs(op_seconds=30.0)
    writer = MLEngineWriter(client, operation_timeout=0.3)
    with pytest.raises(OperationTimeout, match=r"still running after 0.3 s .*run apply again"):
        writer.create_version(v("v1"), version_fields(artifact), LABELS, "s")


def test_writes_survive_injected_429_and_503(
    writer: MLEngineWriter, artifact: str, twin_knobs: Any
) -> None:
    twin_knobs(fault_rate=0.3, seed=3)
    writer.create_model(MODEL, MODEL_FIELDS, LABELS, "s")
    writer.create_version(v("v1"), version_fields(artifact), LABELS, "s")
    writer.create_version(v("v2"), version_fields(artifact), LABELS, "s")
    writer.set_default(v("v2"))
    writer.patch_version(v("v2"), ["autoScaling.maxNodes"], version_fields(artifact), LABELS, "t")
    writer.delete_version(v("v1"))
    writer.delete_version(v("v2"))
    writer.delete_model(MODEL)
    assert writer.get_model(MODEL) is None


def test_version_operations_quota_is_waited_out(
    client: MLClient, model: ResourceKey, artifact: str, twin_knobs: Any
) -> None:
    """With room for one version operation at a time, parallel creates queue up on 429s."""
    twin_knobs(max_version_ops=1)
    patient = MLClient(
        client.project,
        emulator=client.emulator,
        retry=RetryPolicy(attempts=200, initial_delay=0.02, max_delay=0.1, deadline=60.0),
    )
    writer = MLEngineWriter(patient, operation_timeout=60.0)
    errors: list[BaseException] = []

    def create(name: str) -> None:
        try:
            writer.create_version(v(name), version_fields(artifact), LABELS, "s")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(f"v{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert all(writer.get_version(v(f"v{i}")).state is State.READY for i in range(3))  # type: ignore[union-attr]
