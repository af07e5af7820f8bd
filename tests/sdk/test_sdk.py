"""Issue 20: Google's own SDK (`google-cloud-aiplatform`, REST transport, anonymous
credentials, `api_endpoint` at the twin) runs a team's script unchanged against the twin.

Each test is one script a user would write; it asserts what the script sees. The SDK is the
`sdk` extra of pyproject.toml (scripts/bootstrap.sh installs it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform
from google.cloud.aiplatform_v1.types import DedicatedResources, DeployedModel, MachineSpec
from google.protobuf import field_mask_pb2

LOCATION = "us-central1"
IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
ROW = [0.1, 0.2, 0.3, 0.4]


@pytest.fixture
def sdk(twin: Any, project: str) -> Iterator[str]:
    """`aiplatform.init` exactly as docs/emulator.md shows it; the project id."""
    aiplatform.init(
        project=project,
        location=LOCATION,
        api_endpoint=twin.url,
        api_transport="rest",
        credentials=AnonymousCredentials(),
    )
    yield project


@pytest.fixture
def artifact(
    bucket: Any, upload_dir: Callable[[Path, str, str], str], tiny_savedmodel: Path
) -> str:
    return upload_dir(tiny_savedmodel, bucket.name, "iris")


def _upload(artifact: str, **kwargs: Any) -> aiplatform.Model:
    return aiplatform.Model.upload(
        display_name="iris", artifact_uri=artifact, serving_container_image_uri=IMAGE, **kwargs
    )


def test_registry_script_uploads_versions_lists_and_deletes(sdk: str, artifact: str) -> None:
    model = _upload(artifact, model_id="iris", labels={"team": "vision"})
    assert model.resource_name == f"projects/{sdk}/locations/{LOCATION}/models/iris"
    assert (model.version_id, model.version_aliases) == ("1", ["default"])
    second = _upload(
        artifact,
        parent_model=model.resource_name,
        is_default_version=False,
        version_aliases=["canary"],
        labels={"team": "vision"},
    )
    assert (second.version_id, second.version_aliases) == ("2", ["canary"])
    third = _upload(artifact, parent_model=model.resource_name, version_aliases=["blue"])
    assert third.version_id == "3" and set(third.version_aliases) == {"blue", "default"}
    _upload(artifact, model_id="other", labels={"team": "speech"})

    listed = aiplatform.Model.list(filter='labels.team="vision"')
    assert [m.resource_name for m in listed] == [model.resource_name]
    assert {m.name for m in aiplatform.Model.list()} == {"iris", "other"}

    registry = model.versioning_registry
    versions = {v.version_id: set(v.version_aliases) for v in registry.list_versions()}
    assert versions == {"1": set(), "2": {"canary"}, "3": {"blue", "default"}}
    registry.add_version_aliases(["golden"], version="2")
    registry.add_version_aliases(["canary"], version="1")  # moves: the service never refuses
    assert registry.get_version_info("canary").version_id == "1"
    assert registry.get_version_info("golden").version_id == "2"
    registry.remove_version_aliases(["golden"], version="2")
    assert set(registry.get_version_info("2").version_aliases) == set()
    registry.delete_version("2")
    assert [v.version_id for v in registry.list_versions()] == ["1", "3"]
    with pytest.raises(gexc.NotFound):
        aiplatform.Model(model.resource_name, version="2")

    model.delete()
    assert [m.name for m in aiplatform.Model.list()] == ["other"]


def test_endpoint_script_deploys_canaries_shifts_traffic_and_tears_down(
    sdk: str, artifact: str
) -> None:
    model = _upload(artifact, model_id="iris")
    canary_version = _upload(artifact, parent_model=model.resource_name, is_default_version=False)
    endpoint = aiplatform.Endpoint.create(display_name="iris", labels={"team": "vision"})
    aiplatform.Endpoint.create(display_name="other", labels={"team": "speech"})
    found = aiplatform.Endpoint.list(filter='labels.team="vision"')
    assert [e.resource_name for e in found] == [endpoint.resource_name]

    endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_percentage=100)
    (first,) = endpoint.list_models()
    endpoint.deploy(model=canary_version, machine_type="n1-standard-2", traffic_percentage=10)
    second = next(d for d in endpoint.list_models() if d.id != first.id)
    assert second.model_version_id == "2"
    assert endpoint.traffic_split == {first.id: 90, second.id: 10}  # computed by the SDK

    answer = endpoint.predict(instances=[ROW])
    assert len(answer.predictions) == 1 and len(answer.predictions[0]) == 3
    assert answer.deployed_model_id in (first.id, second.id)

    endpoint.update(traffic_split={first.id: 50, second.id: 50})
    assert endpoint.traffic_split == {first.id: 50, second.id: 50}

    scaled = DeployedModel(
        id=first.id,
        dedicated_resources=DedicatedResources(
            machine_spec=MachineSpec(machine_type="n1-standard-2"),
            min_replica_count=2,
            max_replica_count=3,
        ),
    )
    paths = ["dedicated_resources.min_replica_count", "dedicated_resources.max_replica_count"]
    lro = endpoint.api_client.mutate_deployed_model(
        endpoint=endpoint.resource_name,
        deployed_model=scaled,
        update_mask=field_mask_pb2.FieldMask(paths=paths),
    )
    mutated = lro.result(timeout=60).deployed_model.dedicated_resources
    assert (mutated.min_replica_count, mutated.max_replica_count) == (2, 3)

    endpoint.undeploy(second.id)  # the SDK rescales the rest to 100 and sends that split
    assert endpoint.traffic_split == {first.id: 100}
    endpoint.deploy(model=canary_version, machine_type="n1-standard-2", traffic_percentage=20)
    assert len(endpoint.list_models()) == 2
    endpoint.undeploy_all()  # the last one goes while it holds 100%
    assert endpoint.list_models() == [] and endpoint.traffic_split == {}

    endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_percentage=100)
    endpoint.delete(force=True)
    assert [e.display_name for e in aiplatform.Endpoint.list()] == ["other"]
    model.delete()
    assert aiplatform.Model.list() == []


def test_script_errors_are_the_sdk_exceptions_a_team_catches(sdk: str, artifact: str) -> None:
    model = _upload(artifact, model_id="iris")
    with pytest.raises(gexc.Conflict):
        _upload(artifact, model_id="iris")
    endpoint = aiplatform.Endpoint.create(display_name="iris")
    endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_percentage=100)
    # FAILED_PRECONDITION and INVALID_ARGUMENT are HTTP 400: over REST the SDK raises BadRequest
    with pytest.raises(gexc.BadRequest, match="undeploy"):
        endpoint.delete()  # models are deployed and force is off
    with pytest.raises(gexc.BadRequest, match="DeployedModel"):
        model.delete()
    with pytest.raises(gexc.BadRequest, match="n1-standard-3"):
        endpoint.deploy(model=model, machine_type="n1-standard-3")
    assert len(endpoint.list_models()) == 1


def test_the_prebuilt_image_list_is_the_sdks() -> None:
    """The twin and the validator accept exactly the prebuilt images Google's SDK lists."""
    from google.cloud.aiplatform.constants import prediction

    from deployer.providers.vertex import catalog as catalog_vertex

    listed = {
        uri
        for name in dir(prediction)
        if name.endswith("_CONTAINER_URIS")
        for uri in getattr(prediction, name)
    }
    assert listed == catalog_vertex.PREBUILT_IMAGES


def test_script_runs_on_service_shaped_names(sdk: str, artifact: str, twin_knobs: Any) -> None:
    """With the realism knobs for names and labels on, resource names carry the project
    number (as the real service answers) and the same script still works."""
    from deployer.emulator.vertex.routes import project_number

    twin_knobs(vertex_service_names=True, vertex_label_precedence="model")
    number = project_number(sdk)
    model = _upload(artifact, model_id="iris", labels={"team": "vision"})
    assert model.resource_name == f"projects/{number}/locations/{LOCATION}/models/iris"
    again = aiplatform.Model(model.resource_name)
    assert again.version_id == "1" and again.labels == {"team": "vision"}
    assert [m.resource_name for m in aiplatform.Model.list(filter='labels.team="vision"')] == [
        model.resource_name
    ]
    endpoint = aiplatform.Endpoint.create(display_name="iris")
    endpoint.deploy(model=model, machine_type="n1-standard-2", traffic_percentage=100)
    (deployed,) = endpoint.list_models()
    assert len(deployed.id) == 19
    assert endpoint.predict(instances=[ROW]).deployed_model_id == deployed.id
    endpoint.undeploy_all()
    assert endpoint.traffic_split == {}
