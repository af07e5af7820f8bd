"""Translate manifests into the Vertex AI resources the plan compares (desired state).

Per (model, region): a registry model, one registry version per manifest version (keyed by its
alias), one endpoint, one deployment per deployed version, and the endpoint's traffic as
{alias: percent}; per declared resource pool, one deployment resource pool in its region.
Field paths and normalization match what the reader produces from the API, so a resource that
matches its manifest produces no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.core import ownership
from deployer.core.layout import artifact_uri
from deployer.core.manifest import AutoScaling, ModelSpec, ResourcePool, VersionSpec
from deployer.core.resources import DesiredResource, ResourceKey
from deployer.core.stack import DeclaredModel, Stack
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import manifest as vertex

ENDPOINT, DEPLOYED, DEPLOYMENT, POOL = "endpoint", "deployed", "deployment", "pool"
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
    owned = {
        ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
        ownership.LABEL_STACK: stack.name,
    }
    for (region, name), pool in sorted(vertex.pools(stack.settings).items()):
        key = ResourceKey(region, name, part=POOL, kind=POOL)
        resources.append(DesiredResource(key, pool_fields(pool), owned))
    for model in stack.models:
        for region in model.regions:
            resources.extend(_model_resources(stack, model, region, digests))
    return resources


def pool_fields(pool: ResourcePool) -> dict[str, Any]:
    """A pool's dedicated resources, as the reader normalizes them."""
    machine_spec: dict[str, Any] = {"machineType": vertex.pool_machine(pool)}
    fixed = catalog_vertex.FIXED_GPU_MACHINES.get(machine_spec["machineType"])
    if pool.accelerator is not None:
        machine_spec["acceleratorType"] = pool.accelerator.type
        machine_spec["acceleratorCount"] = pool.accelerator.count
    elif fixed is not None:
        machine_spec["acceleratorType"], machine_spec["acceleratorCount"] = fixed
    scaling = pool.scaling
    low = scaling.min_nodes if scaling else 1
    high = scaling.max_nodes if scaling and scaling.max_nodes is not None else low
    metrics = [
        {"metricName": catalog_vertex.METRICS[m.name], "target": m.target}
        for m in (scaling.metrics if scaling else ())
    ]
    return {
        "machineSpec": machine_spec,
        "minReplicaCount": low,
        "maxReplicaCount": max(low, high),
        "autoscalingMetricSpecs": sorted(metrics, key=lambda m: m["metricName"]),
    }


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
    pools = vertex.pools(stack.settings)
    endpoint_labels = {**user, **(spec.endpoint.labels if spec.endpoint else {}), **owned}
    out = [
        DesiredResource(
            ResourceKey(region, spec.name),
            {"displayName": spec.name, "description": spec.description},
            owned,
            protect=spec.protect,
        ),
        DesiredResource(
            ResourceKey(region, spec.name, part=ENDPOINT),
            {**endpoint_fields(spec), "traffic": traffic(spec)},
            endpoint_labels,
            protect=spec.protect,
        ),
    ]
    for version in spec.versions:
        pool = pools.get((region, version.resource_pool or ""))
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
                    "containerSpec": container_spec(version, region, pool),
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
                    deployment_fields(spec, version, pool is not None),
                    owned,
                )
            )
    return out


def _logging(spec: ModelSpec) -> dict[str, Any] | None:
    logging = vertex.request_logging(spec)
    if logging is None:
        return None
    return {
        "enabled": True,
        "samplingRate": logging.sampling_percentage,
        "bigqueryDestination": {"outputUri": f"bq://{logging.bigquery_table}"},
    }


def endpoint_fields(spec: ModelSpec) -> dict[str, Any]:
    """The endpoint's settings, as `observe.endpoint_fields` reads them back."""
    ep = spec.endpoint
    psc = ep.private_service_connect if ep is not None else None
    timeout = vertex.seconds(ep.inference_timeout) if ep is not None else None
    return {
        "displayName": (ep.display_name if ep is not None else None) or spec.name,
        "description": spec.description,
        "predictRequestResponseLoggingConfig": _logging(spec),
        "dedicatedEndpointEnabled": True if ep is not None and ep.dedicated else None,
        "clientConnectionConfig": {"inferenceTimeout": f"{timeout}s"} if timeout else None,
        "privateServiceConnect": True if psc is not None else None,
        "privateServiceConnectConfig.projectAllowlist": (
            sorted(psc.project_allowlist) if psc is not None else None
        ),
        "network": ep.network if ep is not None else None,
    }


def container_spec(
    version: VersionSpec, region: str, pool: ResourcePool | None = None
) -> dict[str, Any]:
    """The serving container: the manifest's `container:` or the framework's prebuilt image
    (for the GPUs of the version's machine, or of its pool)."""
    custom = version.container
    if custom is None:
        return {"imageUri": vertex.vertex_image(version, region, pool)}
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


def deployment_fields(
    spec: ModelSpec, version: VersionSpec, pooled: bool = False
) -> dict[str, Any]:
    """A deployment as `observe.deployment_fields` reads it back: its own dedicated resources,
    or (on a pool) the pool's name and none of its own."""
    common = {
        "displayName": f"{spec.name}/{version.name}",
        "serviceAccount": version.service_account,
        "enableAccessLogging": spec.online_prediction_logging,
        "disableContainerLogging": not spec.console_logging,
        "rolloutStrategy": version.rollout.strategy if version.rollout else "blue-green",
        "rolloutOptions": vertex.rollout_options(version) or None,
    }
    if pooled:
        return {
            **common,
            "machineSpec": None,
            "minReplicaCount": None,
            "maxReplicaCount": None,
            "autoscalingMetricSpecs": [],
            "spot": None,
            "sharedResources": version.resource_pool,
            "scaleToZeroSpec": None,
            "initialReplicaCount": None,
        }
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
    auto = scaling if isinstance(scaling, AutoScaling) else None
    metrics = [
        {"metricName": catalog_vertex.METRICS[m.name], "target": m.target}
        for m in (auto.metrics if auto else ())
    ]
    zero = auto.scale_to_zero if auto is not None and low == 0 else None
    return {
        **common,
        "machineSpec": machine_spec,
        "minReplicaCount": low,
        "maxReplicaCount": high,
        "autoscalingMetricSpecs": sorted(metrics, key=lambda m: m["metricName"]),
        "spot": True if version.spot else None,
        "sharedResources": None,
        "scaleToZeroSpec": scale_to_zero_spec(zero) if low == 0 else None,
        "initialReplicaCount": (zero.initial_nodes if zero else 1) if low == 0 else None,
    }


def scale_to_zero_spec(zero: Any) -> dict[str, str] | None:
    """v1beta1 DedicatedResources.scaleToZeroSpec of a min_nodes: 0 version (None: defaults)."""
    if zero is None:
        return None
    spec = {
        key: f"{vertex.seconds(value)}s"
        for key, value in (
            ("idleScaledownPeriod", zero.idle_scaledown),
            ("minScaleupPeriod", zero.min_scaleup),
        )
        if value is not None
    }
    return spec or None
