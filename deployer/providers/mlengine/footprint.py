"""An `ml` v1 version as accounting data, from the version fields the provider builds
(`state._version_fields`, desired) and reads (`state.observe_version`, live): `machineType`,
`acceleratorConfig`, and either `manualScaling.nodes` or `autoScaling.minNodes`/`maxNodes`
(no `maxNodes`: no upper bound, ml v1's "depends on quota and availability")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.accounting.footprint import Deployment
from deployer.core.resources import VERSION, ResourceKey
from deployer.providers.mlengine import catalog


def deployment(endpoint: str, model: str, version: str, fields: Mapping[str, Any]) -> Deployment:
    machine = (
        fields.get("machineType")
        or catalog.DEFAULT_MACHINE_TYPE[
            catalog.GLOBAL if endpoint == catalog.GLOBAL else "regional"
        ]
    )
    accelerator = fields.get("acceleratorConfig") or {}
    low: int
    high: int | None
    if fields.get("scalingMode") == "manual" or fields.get("manualScaling.nodes"):
        nodes = int(fields.get("manualScaling.nodes") or 1)
        low, high = nodes, nodes
    else:
        low = int(fields.get("autoScaling.minNodes") or 0)
        top = fields.get("autoScaling.maxNodes")
        high = max(int(top), low) if top else None
    return Deployment(
        region=endpoint,
        model=model,
        version=version,
        machine_type=str(machine),
        min_replicas=low,
        max_replicas=high,
        accelerator_type=accelerator.get("type"),
        accelerator_count=int(accelerator.get("count") or 0),
    )


def of_resource(key: ResourceKey, fields: Mapping[str, Any]) -> Deployment | None:
    """A version (desired or live) as accounting data; a model runs nothing itself."""
    if key.kind != VERSION or key.version is None:
        return None
    return deployment(key.endpoint, key.model, key.version, fields)
