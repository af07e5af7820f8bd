"""The providers' deployments as accounting data: the same numbers from desired fields (built
from manifests) and from live fields (read from the API), and the doctor's helpers."""

from __future__ import annotations

from deployer.core.manifest import ModelSpec, VersionSpec
from deployer.doctor import agent_can_read, holds_region
from deployer.providers.mlengine import footprint as ml
from deployer.providers.mlengine.state import observe_version
from deployer.providers.vertex import footprint as vx
from deployer.providers.vertex.observe import deployment_fields as live_fields
from deployer.providers.vertex.state import deployment_fields as desired_fields


def test_vertex_desired_and_live_agree() -> None:
    version = VersionSpec(
        name="v2",
        machine_type="n1-standard-4",
        accelerator={"type": "NVIDIA_TESLA_T4", "count": 2},
        scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 3},
    )
    desired = vx.deployment(
        "us-central1", "fraud", "v2", desired_fields(ModelSpec(name="fraud"), version)
    )
    body = {
        "dedicatedResources": {
            "machineSpec": {
                "machineType": "n1-standard-4",
                "acceleratorType": "NVIDIA_TESLA_T4",
                "acceleratorCount": 2,
            },
            "minReplicaCount": 1,
            "maxReplicaCount": 3,
        }
    }
    live = vx.deployment("us-central1", "fraud", "v2", live_fields(body))
    assert desired == live
    assert live.at_max().gpus == {"NVIDIA_TESLA_T4": 6}


def test_vertex_defaults_max_to_min_and_fixed_gpus() -> None:
    body = {
        "dedicatedResources": {
            "machineSpec": {"machineType": "g2-standard-8"},
            "minReplicaCount": 2,
        }
    }
    found = vx.deployment("us-central1", "m", "v1", live_fields(body))
    assert (found.min_replicas, found.max_replicas) == (2, 2)
    assert found.at_min().gpus == {"NVIDIA_L4": 2}


def test_mlengine_versions_manual_auto_and_unbounded() -> None:
    manual = observe_version("us-central1", "m", {
        "name": "projects/p/models/m/versions/v1", "machineType": "n1-standard-2",
        "manualScaling": {"nodes": 3},
        "acceleratorConfig": {"count": 1, "type": "NVIDIA_TESLA_T4"},
    })  # fmt: skip
    found = ml.deployment("us-central1", "m", "v1", manual.fields)
    assert (found.min_replicas, found.max_replicas) == (3, 3)
    assert found.at_min().gpus == {"NVIDIA_TESLA_T4": 3}
    auto = observe_version("global", "m", {
        "name": "projects/p/models/m/versions/v2", "machineType": "mls1-c1-m2",
        "autoScaling": {"minNodes": 1},
    })  # fmt: skip
    found = ml.deployment("global", "m", "v2", auto.fields)
    assert (found.min_replicas, found.max_replicas) == (1, None)
    assert found.at_max().unbounded


def test_bucket_locations_hold_regions() -> None:
    assert holds_region({"location": "US-CENTRAL1"}, "us-central1")
    assert not holds_region({"location": "EUROPE-WEST4"}, "us-central1")
    assert holds_region({"location": "US"}, "us-east4")
    assert not holds_region({"location": "EU"}, "europe-west2")
    assert holds_region({"location": "NAM4"}, "us-east1")
    custom = {
        "location": "US",
        "customPlacementConfig": {"dataLocations": ["US-EAST1", "US-WEST1"]},
    }
    assert holds_region(custom, "us-west1")
    assert not holds_region(custom, "us-central1")


def test_reader_roles_for_the_serving_agent() -> None:
    agent = "service-1@gcp-sa-aiplatform.iam.gserviceaccount.com"
    grant = {"role": "roles/storage.objectViewer", "members": [f"serviceAccount:{agent}"]}
    assert agent_can_read({"bindings": [grant]}, agent)
    assert agent_can_read({"bindings": [{**grant, "members": ["allUsers"]}]}, agent)
    assert not agent_can_read({"bindings": [{**grant, "condition": {"expression": "x"}}]}, agent)
    assert not agent_can_read(
        {"bindings": [{**grant, "role": "roles/storage.legacyBucketReader"}]}, agent
    )
    assert not agent_can_read({}, agent)
