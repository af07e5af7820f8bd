"""A Vertex deployment as accounting data, from the deployment fields the provider already
builds (`state.deployment_fields`, desired) and reads (`observe.deployment_fields`, live): both
hold `machineSpec`, `minReplicaCount` and `maxReplicaCount` (which defaults to the min); a
rolling version's `rolloutOptions` says how many nodes its updates add beside the running ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.accounting.footprint import Deployment
from deployer.core.resources import ResourceKey
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex.schemas import DEPLOYMENT


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def deployment(
    region: str, model: str, version: str, fields: Mapping[str, Any], pool: str = ""
) -> Deployment:
    """`fields` are a deployment's, or (with `pool`) those of the pool it shares."""
    spec = fields.get("machineSpec") or {}
    low = _int(fields.get("minReplicaCount"), 1)
    high = _int(fields.get("maxReplicaCount")) or low
    rollout = fields.get("rolloutOptions") or {}
    accelerator = spec.get("acceleratorType")
    if accelerator == "ACCELERATOR_TYPE_UNSPECIFIED":
        accelerator = None
    return Deployment(
        region=region,
        model=model,
        version=version,
        machine_type=str(spec.get("machineType") or catalog_vertex.DEFAULT_MACHINE_TYPE),
        min_replicas=low,
        max_replicas=high,
        accelerator_type=accelerator,
        accelerator_count=_int(spec.get("acceleratorCount")) if accelerator else 0,
        spot=bool(fields.get("spot")),
        pool=pool,
        surge=_int(rollout.get("maxSurgeReplicas")),
        surge_percent=_int(rollout.get("maxSurgePercentage")),
    )


Pools = Mapping[tuple[str, str], Mapping[str, Any]]
"""(region, pool name) -> the pool's fields (`state.pool_fields`, `observe.observe_pool`)."""


def of_resource(key: ResourceKey, fields: Mapping[str, Any], pools: Pools) -> Deployment | None:
    """A `deployment` resource (desired or live) as accounting data; other kinds run nothing. A
    deployment on a pool carries the pool's machine and replicas (accounting counts a pool once
    per region, `footprint.pooled_once`); on a pool it does not know, it is not counted."""
    if key.kind != DEPLOYMENT.name:
        return None
    shared = fields.get("sharedResources")
    if shared:
        pool = pools.get((key.endpoint, str(shared)))
        if pool is None:
            return None
        return deployment(key.endpoint, key.model, key.version or "", pool, pool=str(shared))
    return deployment(key.endpoint, key.model, key.version or "", fields)
