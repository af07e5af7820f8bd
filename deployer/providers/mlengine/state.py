"""Translate manifests and `ml` v1 API bodies into the diff's normalized resources, and back.

Both sides go through the same normalization (defaults filled, empties as None, scaling
flattened), so a resource that matches its manifest produces no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.core import ownership
from deployer.core.layout import artifact_uri
from deployer.core.manifest import AutoScaling, ManualScaling, VersionSpec
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey, State
from deployer.core.stack import Stack
from deployer.providers.mlengine import catalog

LABEL_ARTIFACT = ownership.LABEL_ARTIFACT


def managed_labels(stack: str, extra: Mapping[str, str]) -> dict[str, str]:
    return {
        **extra,
        ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
        ownership.LABEL_STACK: stack,
    }


def desired_resources(stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
    """Every model and version the manifests declare, one per endpoint.

    `digests` maps each artifact source (see `DeclaredModel.artifact_source`) to its content digest.
    """
    resources: list[DesiredResource] = []
    for model in stack.models:
        spec = model.spec
        model_labels = managed_labels(stack.name, {**stack.settings.labels, **spec.labels})
        if spec.protect:
            model_labels[ownership.LABEL_PROTECT] = "true"
        default = spec.default_version or (spec.versions[0].name if spec.versions else None)
        for endpoint in model.regions:
            resources.append(
                DesiredResource(
                    ResourceKey(endpoint, spec.name),
                    {
                        "description": spec.description or None,
                        "onlinePredictionLogging": spec.online_prediction_logging,
                        "onlinePredictionConsoleLogging": spec.console_logging,
                    },
                    model_labels,
                    protect=spec.protect,
                )
            )
            for version in spec.versions:
                source = model.artifact_source(version)
                digest = digests[source]
                labels = managed_labels(stack.name, {**stack.settings.labels, **version.labels})
                resources.append(
                    DesiredResource(
                        ResourceKey(endpoint, spec.name, version.name),
                        _version_fields(
                            endpoint, version, artifact_uri(stack, model, version, digest), digest
                        ),
                        labels,
                        is_default=version.name == default,
                        artifact_source=source,
                    )
                )
    return resources


def _version_fields(endpoint: str, v: VersionSpec, uri: str, digest: str) -> dict[str, Any]:
    machine = (
        v.machine_type
        or catalog.DEFAULT_MACHINE_TYPE["global" if endpoint == catalog.GLOBAL else "regional"]
    )
    fields: dict[str, Any] = {
        "description": v.description or None,
        "deploymentUri": uri,
        "artifactDigest": digest,
        "runtimeVersion": v.runtime_version,
        "pythonVersion": v.python_version or catalog.DEFAULT_PYTHON_VERSION,
        "framework": catalog.FRAMEWORKS[v.framework],
        "machineType": machine,
        "acceleratorConfig": (
            {"count": v.accelerator.count, "type": v.accelerator.type} if v.accelerator else None
        ),
        "predictionClass": v.prediction_class,
        "packageUris": list(v.package_uris) or None,
        "serviceAccount": v.service_account,
        "requestLoggingConfig": (
            {
                "bigqueryTableName": v.request_logging.bigquery_table,
                "samplingPercentage": v.request_logging.sampling_percentage,
            }
            if v.request_logging
            else None
        ),
    }
    scaling = v.scaling
    if isinstance(scaling, ManualScaling):
        fields.update(_scaling("manual", nodes=scaling.nodes))
    else:
        auto = scaling if isinstance(scaling, AutoScaling) else None
        min_nodes = auto.min_nodes if auto and auto.min_nodes is not None else None
        if min_nodes is None:
            min_nodes = 1 if catalog.is_n1(machine) else 0
        metrics = [{"name": m.name, "target": m.target} for m in auto.metrics] if auto else []
        fields.update(
            _scaling(
                "auto",
                min_nodes=min_nodes,
                max_nodes=auto.max_nodes if auto else None,
                metrics=metrics,
            )
        )
    return fields


def _scaling(
    mode: str,
    nodes: int | None = None,
    min_nodes: int | None = None,
    max_nodes: int | None = None,
    metrics: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "scalingMode": mode,
        "manualScaling.nodes": nodes,
        "autoScaling.minNodes": min_nodes,
        "autoScaling.maxNodes": max_nodes or None,
        "autoScaling.metrics": sorted(metrics, key=lambda m: m["name"]) if metrics else None,
    }


def observe_model(endpoint: str, body: Mapping[str, Any]) -> ObservedResource:
    name = str(body["name"]).rsplit("/", 1)[-1]
    return ObservedResource(
        ResourceKey(endpoint, name),
        {
            "description": body.get("description") or None,
            "onlinePredictionLogging": bool(body.get("onlinePredictionLogging", False)),
            "onlinePredictionConsoleLogging": bool(
                body.get("onlinePredictionConsoleLogging", False)
            ),
            "endpointKind": "global" if endpoint == catalog.GLOBAL else "regional",
        },
        dict(body.get("labels") or {}),
        etag=body.get("etag", ""),
        private=dict(body),
    )


def observe_version(endpoint: str, model: str, body: Mapping[str, Any]) -> ObservedResource:
    name = str(body["name"]).rsplit("/", 1)[-1]
    labels = dict(body.get("labels") or {})
    auto = body.get("autoScaling")
    manual = body.get("manualScaling")
    if manual is not None:
        scaling = _scaling("manual", nodes=int(manual.get("nodes", 0)))
    else:
        auto = auto or {}
        metrics = [
            {"name": m.get("name"), "target": int(m.get("target", 0))}
            for m in auto.get("metrics", [])
        ]
        scaling = _scaling(
            "auto",
            min_nodes=int(auto.get("minNodes", 0)),
            max_nodes=int(auto.get("maxNodes", 0)),
            metrics=metrics,
        )
    logging = body.get("requestLoggingConfig")
    accel = body.get("acceleratorConfig")
    fields: dict[str, Any] = {
        "description": body.get("description") or None,
        "deploymentUri": str(body.get("deploymentUri", "")).rstrip("/") or None,
        "artifactDigest": labels.get(LABEL_ARTIFACT),
        "runtimeVersion": body.get("runtimeVersion"),
        "pythonVersion": body.get("pythonVersion"),
        "framework": body.get("framework"),
        "machineType": body.get("machineType"),
        "acceleratorConfig": (
            {"count": int(accel.get("count", 1)), "type": accel.get("type")} if accel else None
        ),
        "predictionClass": body.get("predictionClass") or None,
        "packageUris": list(body.get("packageUris") or []) or None,
        "serviceAccount": body.get("serviceAccount") or None,
        "requestLoggingConfig": (
            {
                "bigqueryTableName": logging.get("bigqueryTableName"),
                "samplingPercentage": float(logging.get("samplingPercentage", 0)),
            }
            if logging
            else None
        ),
        **scaling,
    }
    try:
        state = State(body.get("state", "UNKNOWN"))
    except ValueError:
        state = State.UNKNOWN
    return ObservedResource(
        ResourceKey(endpoint, model, name),
        fields,
        {k: v for k, v in labels.items() if k != LABEL_ARTIFACT},
        state=state,
        is_default=bool(body.get("isDefault", False)),
        error_message=body.get("errorMessage", ""),
        etag=body.get("etag", ""),
        private=dict(body),
    )


def version_body(key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str]) -> dict:
    """The versions.create request body for a desired version."""
    body: dict[str, Any] = {"name": key.version, "labels": dict(labels)}
    if fields.get("artifactDigest"):
        body["labels"][LABEL_ARTIFACT] = fields["artifactDigest"]
    for path in (
        "description",
        "deploymentUri",
        "runtimeVersion",
        "pythonVersion",
        "framework",
        "machineType",
        "acceleratorConfig",
        "predictionClass",
        "packageUris",
        "serviceAccount",
    ):
        if fields.get(path) is not None:
            body[path] = fields[path]
    if fields.get("scalingMode") == "manual":
        body["manualScaling"] = {"nodes": fields["manualScaling.nodes"]}
    else:
        auto: dict[str, Any] = {"minNodes": fields.get("autoScaling.minNodes") or 0}
        if fields.get("autoScaling.maxNodes"):
            auto["maxNodes"] = fields["autoScaling.maxNodes"]
        if fields.get("autoScaling.metrics"):
            auto["metrics"] = fields["autoScaling.metrics"]
        body["autoScaling"] = auto
    return body


def model_body(key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str]) -> dict:
    """The models.create request body for a desired model."""
    body: dict[str, Any] = {
        "name": key.model,
        "regions": [key.endpoint if key.endpoint != catalog.GLOBAL else "us-central1"],
        "labels": dict(labels),
        "onlinePredictionLogging": bool(fields.get("onlinePredictionLogging")),
    }
    if fields.get("onlinePredictionConsoleLogging"):
        body["onlinePredictionConsoleLogging"] = True
    if fields.get("description"):
        body["description"] = fields["description"]
    return body
