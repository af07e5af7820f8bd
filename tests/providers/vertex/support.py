"""Keys, labels and fields shared by the vertex provider tests."""

from __future__ import annotations

from typing import Any

from deployer.core.resources import ResourceKey

REGION = "us-central1"
MODEL = "fraud"
IMAGE = "us-docker.pkg.dev/my-project/serving/custom:1"
LABELS = {"managed-by": "deployer", "deployer-stack": "vision", "team": "vision"}

MODEL_KEY = ResourceKey(REGION, MODEL)
ENDPOINT_KEY = ResourceKey(REGION, MODEL, part="endpoint")


def version_key(alias: str, instance: str = "") -> ResourceKey:
    return ResourceKey(REGION, MODEL, alias, instance=instance)


def deployment_key(alias: str, instance: str = "") -> ResourceKey:
    return ResourceKey(REGION, MODEL, alias, part="deployed", instance=instance, kind="deployment")


def version_labels(alias: str) -> dict[str, str]:
    return {**LABELS, "deployer-model": MODEL, "deployer-version": alias}


def version_fields(**changes: Any) -> dict[str, Any]:
    return {
        "artifactUri": None,
        "artifactDigest": "sha256-1",
        "containerSpec": {"imageUri": IMAGE, "predictRoute": "/predict"},
        "versionDescription": "",
        "modelDescription": "fraud model",
        **changes,
    }


def deployment_fields(**changes: Any) -> dict[str, Any]:
    return {
        "machineSpec": {"machineType": "n1-standard-2"},
        "minReplicaCount": 1,
        "maxReplicaCount": 2,
        "autoscalingMetricSpecs": [],
        "serviceAccount": None,
        "enableAccessLogging": False,
        "disableContainerLogging": False,
        "spot": None,
        "sharedResources": None,
        "scaleToZeroSpec": None,
        "initialReplicaCount": None,
        **changes,
    }


ENDPOINT_FIELDS = {
    "displayName": MODEL,
    "description": "fraud endpoint",
    "predictRequestResponseLoggingConfig": None,
}
