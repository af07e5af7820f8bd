"""Field behaviors of the four Vertex AI kinds the plan handles (DESIGN.md section 10).

A registry version is immutable but for its description and labels, so any other change uploads
a new version first and retires the old one after traffic left it (create-before-destroy). The
same holds for a deployment's machine; replica counts and metrics change in place through
`mutateDeployedModel`. Deployments and the endpoint's traffic are written one at a time per
endpoint (`serial`), because the service refuses a second mutating operation on an endpoint.
"""

from __future__ import annotations

from deployer.providers.schema import Behavior, FieldSpec, ResourceSchema, Strategy, Vocabulary

P, R, OUT = Behavior.PATCH, Behavior.REPLACE, Behavior.OUTPUT
CBD = Strategy.CREATE_BEFORE_DESTROY

MODEL = ResourceSchema(
    "model",
    (
        FieldSpec("displayName", P, "displayName"),
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
    ),
)

VERSION = ResourceSchema(
    "version",
    (
        FieldSpec("versionDescription", P, "versionDescription"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("artifactUri", R),
        FieldSpec("artifactDigest", R),
        FieldSpec("containerSpec", R),
    ),
    replace=CBD,
)

ENDPOINT = ResourceSchema(
    "endpoint",
    (
        FieldSpec("displayName", P, "displayName"),
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("predictRequestResponseLoggingConfig", P, "predictRequestResponseLoggingConfig"),
        FieldSpec("traffic", OUT),
        FieldSpec("etag", OUT),
    ),
    serial=True,
)

DEPLOYMENT = ResourceSchema(
    "deployment",
    (
        FieldSpec("minReplicaCount", P, "dedicatedResources.minReplicaCount"),
        FieldSpec("maxReplicaCount", P, "dedicatedResources.maxReplicaCount"),
        FieldSpec("autoscalingMetricSpecs", P, "dedicatedResources.autoscalingMetricSpecs"),
        FieldSpec("disableContainerLogging", P, "disableContainerLogging"),
        FieldSpec("machineSpec", R),
        FieldSpec("serviceAccount", R),
        FieldSpec("enableAccessLogging", R),
        FieldSpec("displayName", OUT),
    ),
    replace=CBD,
    serial=True,
)

SCHEMAS = {"model": MODEL, "version": VERSION, "endpoint": ENDPOINT, "deployment": DEPLOYMENT}

VOCABULARY = Vocabulary(
    {
        "model": {"displayName": None, "description": "description", "labels": "labels"},
        "version": {
            "versionDescription": "description",
            "labels": "labels",
            "artifactUri": None,
            "artifactDigest": "artifact",
            "containerSpec": "container",
            "defaultVersion": "default_version",
        },
        "endpoint": {
            "displayName": None,
            "description": "description",
            "labels": "labels",
            "predictRequestResponseLoggingConfig": "request_logging",
            "traffic": "traffic",
            "etag": None,
        },
        "deployment": {
            "minReplicaCount": "scaling.min_nodes",
            "maxReplicaCount": "scaling.max_nodes",
            "autoscalingMetricSpecs": "scaling.metrics",
            "machineSpec": "machine",
            "serviceAccount": "service_account",
            "enableAccessLogging": "online_prediction_logging",
            "displayName": None,
        },
    }
)
"""Field paths in the manifest's vocabulary (DESIGN.md section 10), for rendered plans.

`containerSpec` follows from framework, runtime_version, framework_version and accelerator (a
prebuilt image) or `container:`; `machineSpec` from machine_type and accelerator.
"""
