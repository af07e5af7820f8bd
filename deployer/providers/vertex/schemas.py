"""Field behaviors of the four Vertex AI kinds the plan handles (DESIGN.md section 10).

A registry version is immutable but for its description and labels, so any other change uploads
a new version first and retires the old one after traffic left it (create-before-destroy). The
same holds for a deployment's machine; replica counts and metrics change in place through
`mutateDeployedModel`. Deployments and the endpoint's traffic are written one at a time per
endpoint (`serial`), because the service refuses a second mutating operation on an endpoint.
"""

from __future__ import annotations

from deployer.core.model import (
    Behavior,
    FieldSpec,
    Reference,
    ResourceKind,
    ResourceModel,
    Routing,
    Strategy,
    Vocabulary,
)

P, R, OUT = Behavior.PATCH, Behavior.REPLACE, Behavior.OUTPUT
CTD = Strategy.CREATE_THEN_DELETE

MODEL = ResourceKind(
    "model",
    (
        FieldSpec("displayName", P, "displayName"),
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
    ),
    cascade=True,
    founded_by="version",
    deleted_after=("endpoint",),
)
"""The registry model: `models.upload` of its first version creates it ([DD] UploadModelRequest),
deleting it deletes its versions, and it cannot be deleted while an endpoint deploys one of them
([DD] models.delete): it goes after its endpoint."""

VERSION = ResourceKind(
    "version",
    (
        FieldSpec("versionDescription", P, "versionDescription"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("alias", P, "versionAliases", at_creation=False),
        FieldSpec("artifactUri", R),
        FieldSpec("artifactDigest", R),
        FieldSpec("containerSpec", R),
    ),
    replace=CTD,
    parent="model",
)

ENDPOINT = ResourceKind(
    "endpoint",
    (
        FieldSpec("displayName", P, "displayName"),
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("predictRequestResponseLoggingConfig", P, "predictRequestResponseLoggingConfig"),
        FieldSpec("traffic", OUT),
        FieldSpec("etag", OUT),
    ),
    part="endpoint",
    serial=True,
)

DEPLOYMENT = ResourceKind(
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
    replace=CTD,
    part="deployed",
    parent="endpoint",
    references=(Reference("version", "registryVersion", "(new upload)"),),
    serial=True,
)
"""A deployed model: it lives on the endpoint and serves one registry version, so a new upload
of its version is deployed anew ([DD] DeployedModel.model, modelVersionId)."""

TRAFFIC = Routing(
    "traffic",
    "traffic",
    router="endpoint",
    target="deployment",
    split=True,
    by_instance=True,
    gated=True,
)
"""The endpoint's split names deployed-model ids ([DD] Endpoint.trafficSplit): a new deployment
is routed to anew; it moves after replicas are scaled up."""
DEFAULT_ALIAS = Routing(
    "defaultVersion",
    "registry default alias",
    router="model",
    target="version",
    flagged=True,
    required=True,
    automatic=True,
    serves=False,
)
"""The registry's `default` alias: set on a model's first version, exactly one version holds
it ([DD] Model.get), and it routes no request (the endpoint's split does)."""

VOCABULARY = Vocabulary(
    {
        "model": {"displayName": None, "description": "description", "labels": "labels"},
        "version": {
            "versionDescription": "description",
            "labels": "labels",
            "artifactUri": None,
            "artifactDigest": "artifact",
            "containerSpec": "container",
            "alias": "alias",
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
    },
    nouns={"version": "registry version"},
    verbs={"version": {"create": "upload"}, "deployment": {"delete": "undeploy"}},
    unserved={"deployment": "its version is declared with deployed: false"},
)
"""Field paths in the manifest's vocabulary (DESIGN.md section 10), for rendered plans.

`containerSpec` follows from framework, runtime_version, framework_version and accelerator (a
prebuilt image) or `container:`; `machineSpec` from machine_type and accelerator.
"""

RESOURCES = ResourceModel(
    kinds=(ENDPOINT, VERSION, MODEL, DEPLOYMENT),
    routings=(TRAFFIC, DEFAULT_ALIAS),
    vocabulary=VOCABULARY,
)
"""Kinds in the order their creates are listed: the endpoint, the uploads (the first creates
the model), the model's own fields, then the deployments."""
