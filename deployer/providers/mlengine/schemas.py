"""Field behaviors of `ml` v1 models and versions (DESIGN.md section 5).

Field paths are the diff's flattened names. Most equal the API's JSON paths; two are synthetic:
`scalingMode` ("auto" | "manual": switching forces a replacement) and `artifactDigest` (content
digest of the artifact, kept in the `deployer-artifact` label, so changed bytes behind an
unchanged URI are seen).
"""

from __future__ import annotations

from deployer.providers.schema import Behavior, FieldSpec, ResourceSchema

P, R, OUT = Behavior.PATCH, Behavior.REPLACE, Behavior.OUTPUT

MODEL = ResourceSchema(
    "model",
    (
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("onlinePredictionLogging", R),
        FieldSpec("onlinePredictionConsoleLogging", R),
        FieldSpec("defaultVersion", OUT),
        FieldSpec("etag", OUT),
    ),
)

VERSION = ResourceSchema(
    "version",
    (
        FieldSpec("description", P, "description"),
        FieldSpec("labels", P, "labels"),
        FieldSpec("autoScaling.minNodes", P, "autoScaling.minNodes"),
        FieldSpec("autoScaling.maxNodes", P, "autoScaling.maxNodes"),
        FieldSpec("manualScaling.nodes", P, "manualScaling.nodes"),
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
)

SCHEMAS = {"model": MODEL, "version": VERSION}
