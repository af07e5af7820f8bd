"""Translate manifests into the Vertex AI resources the plan compares (desired state).

Per (model, region): a registry model, one registry version per manifest version (keyed by its
alias), one endpoint, one deployment per deployed version, and the endpoint's traffic as
{alias: percent}. Field paths and normalization match what the reader produces from the API,
so a resource that matches its manifest produces no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.core import ownership
from deployer.core.layout import artifact_uri
from deployer.core.manifest import AutoScaling, ModelSpec, VersionSpec
from deployer.core.resources import DesiredResource, ResourceKey
from deployer.core.stack import DeclaredModel, Stack
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import manifest as vertex

ENDPOINT, DEPLOYED, DEPLOYMENT = "endpoint", "deployed", "deployment"
OWNERSHIP_KEYS = frozenset(
    {
        ownership.LABEL_MANAGED_BY,
        ownership.LABEL_STACK,
        catalog_vertex.LABEL_MODEL,
        ownership.LABEL_PROTECT,
    }
)
"""Model-level labels: a registry read merges them into every version's, so deployer keeps them
to ownership and puts user labels on versions and the endpoint."""


def ownership_labels(stack: str, model: ModelSpec) -> dict[str, str]:
    labels = {
        ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
        ownership.LABEL_STACK: stack,
        catalog_vertex.LABEL_MODEL: model.name,
    }
    if model.protect:
        labels[ownership.LABEL_PROTECT] = "true"
    return labels


def desired_resources(stack: Stack, digests: Mapping[str, str]) -> list[DesiredResource]:
    """Every resource the manifests declare, per region."""
    resources: list[DesiredResource] = []
    for model in stack.models:
        for region in model.regions:
            resources.extend(_model_resources(stack, model, region, digests))
    return resources


def default_alias(spec: ModelSpec) -> str | None:
    name = vertex.default_version(spec)
    return None if name is None else catalog_vertex.alias(name)


def traffic(spec: ModelSpec) -> dict[str, int]:
    """The endpoint's split by alias: `traffic:` when given, else all to the default version."""
    return {catalog_vertex.alias(n): p for n, p in sorted(vertex.traffic_split(spec).items())}


def _model_resources(
    stack: Stack, model: DeclaredModel, region: str, digests: Mapping[str, str]
) -> list[DesiredResource]:
    spec = model.spec
    owned = ownership_labels(stack.name, spec)
    user = {**stack.settings.labels, **spec.labels}
    default = default_alias(spec)
    out = [
        DesiredResource(
            ResourceKey(region, spec.name),
            {"displayName": spec.name, "description": spec.description},
            owned,
            protect=spec.protect,
        ),
        DesiredResource(
            ResourceKey(region, spec.name, part=ENDPOINT),
            {
                "displayName": spec.name,
                "description": spec.description,
                "predictRequestResponseLoggingConfig": _logging(spec),
                "traffic": traffic(spec),
            },
            {**user, **owned},
            protect=spec.protect,
        ),
    ]
    for version in spec.versions:
        name = catalog_vertex.alias(version.name)
        labels = {**user, **version.labels, **owned, catalog_vertex.LABEL_VERSION: name}
        source, digest = None, None
        if version.artifact:
            source = model.artifact_source(version)
            digest = digests[source]
        out.append(
            DesiredResource(
                ResourceKey(region, spec.name, name),
                {
                    "artifactUri": (
                        artifact_uri(stack, model, version, digest) if digest is not None else None
                    ),
                    "artifactDigest": digest,
                    "containerSpec": container_spec(version, region),
                    "versionDescription": version.description,
                    "alias": name,
                },
                labels,
                is_default=name == default,
                artifact_source=source,
            )
        )
        if version.deployed:
            out.append(
                DesiredResource(
                    ResourceKey(region, spec.name, name, part=DEPLOYED, kind=DEPLOYMENT),
                    deployment_fields(spec, version),
                    {**user, **owned},
                )
            )
    return out


def _logging(spec: ModelSpec) -> dict[str, Any] | None:
    logging = next((v.request_logging for v in spec.versions if v.request_logging), None)
    if logging is None:
        return None
    return {
        "enabled": True,
        "samplingRate": logging.sampling_percentage,
        "bigqueryDestination": {"outputUri": f"bq://{logging.bigquery_table}"},
    }


def container_spec(version: VersionSpec, region: str) -> dict[str, Any]:
    """The serving container: the manifest's `container:` or the framework's prebuilt image."""
    custom = version.container
    if custom is None:
        return {"imageUri": vertex.vertex_image(version, region)}
    spec: dict[str, Any] = {
        "imageUri": custom.image_uri,
        "predictRoute": custom.predict_route,
        "healthRoute": custom.health_route,
        # `v` itself, not str(v): a Sensitive value must stay marked (deployer.core.sensitive)
        "env": [{"name": k, "value": v} for k, v in sorted((custom.env or {}).items())],
        "ports": [{"containerPort": p} for p in custom.ports or ()],
        "command": list(custom.command or ()),
        "args": list(custom.args or ()),
    }
    return {k: v for k, v in spec.items() if v not in (None, "", [], {})}


def deployment_fields(spec: ModelSpec, version: VersionSpec) -> dict[str, Any]:
    machine = vertex.machine_type(version)
    machine_spec: dict[str, Any] = {"machineType": machine}
    fixed = catalog_vertex.FIXED_GPU_MACHINES.get(machine)
    if version.accelerator is not None:
        machine_spec["acceleratorType"] = version.accelerator.type
        machine_spec["acceleratorCount"] = version.accelerator.count
    elif fixed is not None:
        machine_spec["acceleratorType"], machine_spec["acceleratorCount"] = fixed
    low, high = vertex.replica_counts(version)
    scaling = version.scaling
    metrics = (
        [
            {"metricName": catalog_vertex.METRICS[m.name], "target": m.target}
            for m in scaling.metrics
        ]
        if isinstance(scaling, AutoScaling)
        else []
    )
    return {
        "displayName": f"{spec.name}/{version.name}",
        "machineSpec": machine_spec,
        "minReplicaCount": low,
        "maxReplicaCount": high,
        "autoscalingMetricSpecs": sorted(metrics, key=lambda m: m["metricName"]),
        "serviceAccount": version.service_account,
        "enableAccessLogging": spec.online_prediction_logging,
        "disableContainerLogging": not spec.console_logging,
    }
