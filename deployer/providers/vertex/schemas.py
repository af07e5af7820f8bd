"""Field behaviors of the five Vertex AI kinds the plan handles (DESIGN.md section 10).

A registry version is immutable but for its description and labels, so any other change uploads
a new version first and retires the old one after traffic left it (create-before-destroy). The
same holds for a deployment's machine; replica counts and metrics change in place through
`mutateDeployedModel`. Deployments and the endpoint's traffic are written one at a time per
endpoint (`serial`), because the service refuses a second mutating operation on an endpoint.

An endpoint's access (Private Service Connect or a VPC network) is fixed at its creation: a
change sets up a new endpoint beside the old one, with every deployment, and moves the traffic
there before the old one goes; the new endpoint has a new URL. A deployment declared `rollout:
rolling` follows a new upload of its version in place (the service's rolling update) instead of
being deployed a second time. A deployment resource pool is a root of its own that deployments
of several models use; it cannot change in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.core.model import (
    SENTENCE,
    Behavior,
    Condition,
    FieldSpec,
    Reference,
    ResourceKind,
    ResourceModel,
    Routing,
    Strategy,
    Vocabulary,
)
from deployer.providers.vertex import catalog as catalog_vertex

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

POOL = ResourceKind(
    "pool",
    (
        FieldSpec("machineSpec", R),
        FieldSpec("minReplicaCount", R),
        FieldSpec("maxReplicaCount", R),
        FieldSpec("autoscalingMetricSpecs", R),
    ),
    part="pool",
)
"""A deployment resource pool, in its region: Terraform's resource is `immutable: true` as a
whole ([MM] DeploymentResourcePool.yaml), so a change replaces it, which the plan refuses while
deployments use it."""

ENDPOINT = ResourceKind(
    "endpoint",
    (
        FieldSpec("displayName", P, "displayName"),
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("predictRequestResponseLoggingConfig", P, "predictRequestResponseLoggingConfig"),
        FieldSpec(
            "dedicatedEndpointEnabled",
            P,
            "dedicatedEndpointEnabled",
            caveat="its URL changes: a dedicated endpoint answers at its own DNS name only, "
            "the regional host no longer does (Endpoint.dedicatedEndpointEnabled); tell its "
            "clients",
        ),
        FieldSpec("clientConnectionConfig", P, "clientConnectionConfig"),
        FieldSpec("privateServiceConnectConfig.projectAllowlist", P, "privateServiceConnectConfig"),
        FieldSpec("privateServiceConnect", R),
        FieldSpec("network", R),
        FieldSpec("traffic", OUT),
        FieldSpec("etag", OUT),
    ),
    replace=CTD,
    part="endpoint",
    serial=True,
    replace_note="a new endpoint comes first; every deployment is set up there and takes the "
    "traffic before the old endpoint goes",
    replace_caveat="a new endpoint has a new ID and URL: tell its clients; the old URL stops "
    "answering once the new endpoint serves",
)
"""[MM] Endpoint.yaml: `network` and `privateServiceConnectConfig.enablePrivateServiceConnect`
are `immutable: true` (a new endpoint); the project allow-list, `dedicatedEndpointEnabled`,
logging, names and labels are patched (`endpoints.patch`); `clientConnectionConfig` is the one
field `endpoints.update` changes ([DD] UpdateEndpointLongRunningRequest)."""

DEPLOYMENT = ResourceKind(
    "deployment",
    (
        FieldSpec("minReplicaCount", P, "dedicatedResources.minReplicaCount"),
        FieldSpec("maxReplicaCount", P, "dedicatedResources.maxReplicaCount"),
        FieldSpec("autoscalingMetricSpecs", P, "dedicatedResources.autoscalingMetricSpecs"),
        FieldSpec("disableContainerLogging", P, "disableContainerLogging"),
        FieldSpec("scaleToZeroSpec", P, "dedicatedResources.scaleToZeroSpec"),
        FieldSpec("initialReplicaCount", P, "dedicatedResources.initialReplicaCount"),
        FieldSpec("machineSpec", R),
        FieldSpec("spot", R),
        FieldSpec("sharedResources", R),
        FieldSpec("serviceAccount", R),
        FieldSpec("enableAccessLogging", R),
        FieldSpec("displayName", OUT),
        FieldSpec("rolloutStrategy", OUT, at_creation=False),
        FieldSpec("rolloutOptions", OUT, at_creation=False),
    ),
    replace=CTD,
    part="deployed",
    parent="endpoint",
    references=(
        Reference(
            "version",
            "registryVersion",
            "(new upload)",
            follows=Condition("rolloutStrategy", ("rolling",)),
            mask="rolloutOptions",
            followed="onto the new upload in place (rollout: rolling)",
        ),
        Reference("pool", "sharedResources", shared=True),
    ),
    serial=True,
)
"""A deployed model: it lives on the endpoint and serves one registry version, so a new upload
of its version is deployed anew ([DD] DeployedModel.model, modelVersionId), or, declared
`rollout: rolling`, rolled onto the new upload by the service (v1beta1 RolloutOptions: a new
DeployedModel replaces the previous one's replicas and takes its traffic [DOCS
rolling-deployment]). `mutateDeployedModel` changes replica counts, metrics, container logging
and, in v1beta1, the scale-to-zero settings ([DD] MutateDeployedModelRequest.deployedModel);
`spot` and `sharedResources` are not among them: a new deployment. The rollout's strategy and
options say how to change it, not what runs: never compared."""

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


def _container(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A prebuilt image as the manifest keys that pick it; a custom one as `container.*`."""
    image = str(spec.get("imageUri") or "")
    match = catalog_vertex.IMAGE_RE.match(image)
    framework = catalog_vertex.image_framework(image)
    if match is not None and framework is not None and set(spec) == {"imageUri"}:
        version = match["version"].replace("-", ".")
        key = "runtime_version" if framework == "tensorflow" else "framework_version"
        gpu = {"image": "prebuilt, for GPUs"} if match["device"] == "gpu" else {}
        return {"framework": framework, key: version, **gpu}
    out: dict[str, Any] = {
        "container.image_uri": image,
        "container.predict_route": spec.get("predictRoute"),
        "container.health_route": spec.get("healthRoute"),
        "container.env": {e.get("name"): e.get("value") for e in spec.get("env") or ()} or None,
        "container.ports": [p.get("containerPort") for p in spec.get("ports") or ()] or None,
        "container.command": list(spec.get("command") or ()) or None,
        "container.args": list(spec.get("args") or ()) or None,
    }
    return {k: v for k, v in out.items() if v is not None}


def _machine(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"machine_type": spec.get("machineType")}
    if spec.get("acceleratorType"):
        out["accelerator"] = {
            "type": spec.get("acceleratorType"),
            "count": spec.get("acceleratorCount"),
        }
    return out


METRIC_NAMES = {api: name for name, api in catalog_vertex.METRICS.items()}


def _metrics(specs: Any) -> dict[str, Any]:
    return {
        "scaling.metrics": [
            {
                "name": METRIC_NAMES.get(m.get("metricName"), m.get("metricName")),
                "target": m.get("target"),
            }
            for m in specs or ()
        ]
        or None
    }


def _request_logging(config: Mapping[str, Any]) -> dict[str, Any]:
    uri = str((config.get("bigqueryDestination") or {}).get("outputUri") or "")
    return {
        "request_logging.bigquery_table": uri.removeprefix("bq://") or None,
        "request_logging.sampling_percentage": config.get("samplingRate"),
    }


def _scale_to_zero(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "scaling.scale_to_zero.idle_scaledown": spec.get("idleScaledownPeriod"),
        "scaling.scale_to_zero.min_scaleup": spec.get("minScaleupPeriod"),
    }


def _reupload(value: Any) -> dict[str, Any]:
    upload = DEPLOYMENT.references[0]
    if value == upload.renewed:
        return {
            SENTENCE: "its version is uploaded again (artifact or container changed): the "
            "new upload is deployed in place of the current one"
        }
    if value == upload.followed:
        return {
            SENTENCE: "its version is uploaded again (artifact or container changed): the "
            "new upload is rolled onto this deployment's running nodes in place, a few at a "
            "time as declared under rollout (max_surge extra nodes up, max_unavailable down at "
            "once); no second full copy, the traffic stays on it"
        }
    return {SENTENCE: "the current upload"}


def _reendpoint(value: Any) -> dict[str, Any]:
    """A deployment set up again because its endpoint is replaced (the value before is the
    old endpoint's id)."""
    if value == "(new endpoint)":
        return {SENTENCE: "deployed again on the new endpoint, beside the current one"}
    return {SENTENCE: "on the current endpoint"}


def _deployment(fields: Mapping[str, Any]) -> tuple[str, str]:
    """(display name, `model M, MACHINE`) of a live deployed model."""
    machine = str((fields.get("machineSpec") or {}).get("machineType") or "")
    model = fields.get("model")
    details = ", ".join(x for x in (f"model {model}" if model else "", machine) if x)
    return str(fields.get("displayName") or ""), details


def _version(fields: Mapping[str, Any]) -> tuple[str, str]:
    digest = str(fields.get("artifactDigest") or "")
    return "", f"artifact {digest[:6]}…" if digest else ""


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
            "displayName": "endpoint.display_name",
            "description": "description",
            "labels": "labels",
            "predictRequestResponseLoggingConfig": "request_logging",
            "etag": None,
            "dedicatedEndpointEnabled": "endpoint.dedicated",
            "clientConnectionConfig": "endpoint.inference_timeout",
            "privateServiceConnectConfig.projectAllowlist": (
                "endpoint.private_service_connect.project_allowlist"
            ),
            "privateServiceConnect": "endpoint.private_service_connect",
            "network": "endpoint.network",
        },
        "deployment": {
            "minReplicaCount": "scaling.min_nodes",
            "maxReplicaCount": "scaling.max_nodes",
            "autoscalingMetricSpecs": "scaling.metrics",
            "machineSpec": "machine_type",
            "serviceAccount": "service_account",
            "enableAccessLogging": "online_prediction_logging",
            "disableContainerLogging": "console_logging",
            "registryVersion": "version",
            "endpoint": "endpoint",
            "displayName": None,
            "model": None,
            "spot": "spot",
            "sharedResources": "resource_pool",
            "scaleToZeroSpec": "scaling.scale_to_zero",
            "initialReplicaCount": "scaling.scale_to_zero.initial_nodes",
            "rolloutStrategy": None,
            "rolloutOptions": None,
        },
        "pool": {
            "machineSpec": "machine_type",
            "minReplicaCount": "scaling.min_nodes",
            "maxReplicaCount": "scaling.max_nodes",
            "autoscalingMetricSpecs": "scaling.metrics",
        },
    },
    nouns={"version": "registry version", "pool": "resource pool"},
    groups={"pool": "Resource pool"},
    verbs={"version": {"create": "upload"}, "deployment": {"delete": "undeploy"}},
    unserved={"deployment": "its version is declared with deployed: false"},
    words={
        "version": {"containerSpec": _container},
        "endpoint": {"predictRequestResponseLoggingConfig": _request_logging},
        "deployment": {
            "machineSpec": _machine,
            "autoscalingMetricSpecs": _metrics,
            "disableContainerLogging": lambda off: {"console_logging": not off},
            "registryVersion": _reupload,
            "endpoint": _reendpoint,
            "scaleToZeroSpec": _scale_to_zero,
        },
        "pool": {"machineSpec": _machine, "autoscalingMetricSpecs": _metrics},
    },
    merged={"deployment": {"scaling.nodes": ("minReplicaCount", "maxReplicaCount")}},
    describe={"deployment": _deployment, "version": _version},
)
"""Field paths in the manifest's vocabulary (DESIGN.md section 10), for rendered plans.

`containerSpec` follows from framework and runtime_version or framework_version (a prebuilt
image, CPU or GPU after the accelerator) or `container:`; `machineSpec` from machine_type and
accelerator; `disableContainerLogging` is the opposite of `console_logging`; manual scaling
writes `nodes` as both replica counts.
"""

RESOURCES = ResourceModel(
    kinds=(POOL, ENDPOINT, VERSION, MODEL, DEPLOYMENT),
    routings=(TRAFFIC, DEFAULT_ALIAS),
    vocabulary=VOCABULARY,
)
"""Kinds in the order their creates are listed: the pools, the endpoint, the uploads (the first
creates the model), the model's own fields, then the deployments."""
