"""Field behaviors of `ml` v1 models and versions (DESIGN.md section 5).

Field paths are the diff's flattened names. Most equal the API's JSON paths; two are synthetic:
`scalingMode` ("auto" | "manual": switching forces a replacement) and `artifactDigest` (content
digest of the artifact, kept in the `deployer-artifact` label, so changed bytes behind an
unchanged URI are seen).

What `versions.patch` and `models.patch` accept, per the shipped discovery document
(googleapiclient/discovery_cache/documents/ml.v1.json) and MLENGINE-API.md:

| field                 | patchable on        | source                                       |
|-----------------------|---------------------|----------------------------------------------|
| version description   | every machine type  | versions.patch, documented mask              |
| requestLoggingConfig  | every machine type  | versions.patch, documented mask              |
| autoScaling.minNodes  | every machine type  | versions.patch mask; AutoScaling.minNodes    |
| autoScaling.maxNodes  | every machine type  | not a documented mask; gcloud sends it       |
| manualScaling.nodes   | n1-* only           | versions.patch: "only ... N1 machine type"   |
| version labels        | n1-* only           | MLENGINE-API.md: fixed on mls1-* (issue 13)  |
| model description     | every model         | models.patch, documented mask                |
| model labels          | regional endpoints  | fixed on the global (mls1-*) endpoint        |

Labels fixed at creation: on an mls1-* version a declared label change is a replacement; on a
model of the global endpoint (replacing it would mean recreating every version) it is left as
it is with a plan warning, and `protect` is taken from the manifest while the model is declared.
deployer never sends `labels` in a patch there: its `deployer-spec`
label then keeps the spec of the creation, so after an in-place update of such a resource a
later live change is still found and repaired, but reported as a change, not as drift.

A field patchable only on n1-* says so with `patch_only_if=N1`: elsewhere a change of it is a
replacement (the diff then applies the usual downtime rule to a default version).
"""

from __future__ import annotations

from deployer.core.model import (
    Behavior,
    Condition,
    FieldSpec,
    ResourceKind,
    ResourceModel,
    Routing,
    Vocabulary,
)
from deployer.providers.mlengine import catalog

P, R, OUT = Behavior.PATCH, Behavior.REPLACE, Behavior.OUTPUT

N1 = Condition("machineType", ("n1-",))
"""Compute Engine (N1) machine types: the only ones whose manual node count can be patched."""

REGIONAL = Condition("endpointKind", ("regional",))
"""Models on a regional endpoint (n1-*): the only ones whose labels can be patched. The
synthetic, output-only `endpointKind` ("global" | "regional") is set on observed models."""

MODEL = ResourceKind(
    "model",
    (
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels", patch_only_if=REGIONAL, otherwise=OUT),
        FieldSpec("endpointKind", OUT),
        FieldSpec("onlinePredictionLogging", R),
        FieldSpec("onlinePredictionConsoleLogging", R),
        FieldSpec("defaultVersion", OUT),
        FieldSpec("etag", OUT),
    ),
)

VERSION = ResourceKind(
    "version",
    (
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels", patch_only_if=N1),
        FieldSpec("autoScaling.minNodes", P, "autoScaling.minNodes"),
        FieldSpec("autoScaling.maxNodes", P, "autoScaling.maxNodes"),
        FieldSpec("manualScaling.nodes", P, "manualScaling.nodes", patch_only_if=N1),
        FieldSpec("requestLoggingConfig", P, "requestLoggingConfig"),
        FieldSpec("scalingMode", R),
        FieldSpec("autoScaling.metrics", R),
        FieldSpec("deploymentUri", R),
        FieldSpec("artifactDigest", R),
        FieldSpec("runtimeVersion", R),
        FieldSpec("pythonVersion", R),
        FieldSpec("framework", R),
        FieldSpec("machineType", R),
        FieldSpec("acceleratorConfig", R),
        FieldSpec("predictionClass", R),
        FieldSpec("packageUris", R),
        FieldSpec("serviceAccount", R),
        FieldSpec("state", OUT),
        FieldSpec("createTime", OUT),
        FieldSpec("etag", OUT),
    ),
    parent="model",
    concurrent=catalog.MAX_CONCURRENT_VERSION_OPS,
)

DEFAULT_VERSION = Routing(
    "defaultVersion",
    "default version",
    router="model",
    target="version",
    flagged=True,
    required=True,
    automatic=True,
)
"""The model's default version serves `models:predict`. The service makes a model's first
version its default, keeps one while any version exists, and refuses to delete it while others
exist (MLENGINE-API.md, Rules)."""

FRAMEWORK_NAMES = {api: name for name, api in catalog.FRAMEWORKS.items()}
"""`TENSORFLOW` -> `tensorflow`: frameworks as the manifest writes them."""

VOCABULARY = Vocabulary(
    {
        "model": {
            "description": "description",
            "labels": "labels",
            "onlinePredictionLogging": "online_prediction_logging",
            "onlinePredictionConsoleLogging": "console_logging",
            "defaultVersion": "default_version",
            "etag": None,
        },
        "version": {
            "description": "description",
            "labels": "labels",
            "autoScaling.minNodes": "scaling.min_nodes",
            "autoScaling.maxNodes": "scaling.max_nodes",
            "manualScaling.nodes": "scaling.nodes",
            "requestLoggingConfig": "request_logging",
            "scalingMode": "scaling.mode",
            "autoScaling.metrics": "scaling.metrics",
            "deploymentUri": None,
            "artifactDigest": "artifact",
            "runtimeVersion": "runtime_version",
            "pythonVersion": "python_version",
            "framework": "framework",
            "machineType": "machine_type",
            "acceleratorConfig": "accelerator",
            "predictionClass": "prediction_class",
            "packageUris": "package_uris",
            "serviceAccount": "service_account",
            "defaultVersion": "default_version",
            "createTime": None,
            "etag": None,
        },
    },
    unprotect="delete it by hand if it must go",
    words={
        "version": {
            "framework": lambda api: {"framework": FRAMEWORK_NAMES.get(api, api)},
            "requestLoggingConfig": lambda config: {
                "request_logging.bigquery_table": config.get("bigqueryTableName"),
                "request_logging.sampling_percentage": config.get("samplingPercentage"),
            },
        }
    },
)
"""Field paths in the manifest's vocabulary (DESIGN.md section 3), for rendered plans."""

RESOURCES = ResourceModel(
    kinds=(MODEL, VERSION),
    routings=(DEFAULT_VERSION,),
    vocabulary=VOCABULARY,
)
