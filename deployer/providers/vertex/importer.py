"""Live Vertex AI resources as manifest entries, for `deployer import` (pure: no I/O).

A registry model's versions become manifest versions, named after a version alias when one is a
valid name (else `v<versionId>`); the endpoint that deploys them gives machine, scaling and
traffic. Each version keeps its serving image as `container:` (exactly what it runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deployer.core import manifest, ownership
from deployer.core.errors import AdoptionError
from deployer.core.provider import Imported
from deployer.core.resources import ObservedResource
from deployer.providers.vertex import catalog as catalog_vertex

INTERNAL = ownership.RESERVED_LABELS | {
    catalog_vertex.LABEL_MODEL,
    catalog_vertex.LABEL_VERSION,
    ownership.LABEL_ARTIFACT,
}
METRIC_NAMES = {v: k for k, v in catalog_vertex.METRICS.items()}


def _user(labels: Any) -> dict[str, str]:
    return {k: v for k, v in dict(labels or {}).items() if k not in INTERNAL}


def version_name(body: dict[str, Any]) -> str:
    for alias in body.get("versionAliases") or ():
        if (
            alias != catalog_vertex.DEFAULT_ALIAS
            and manifest.NAME_RE.match(alias)
            and catalog_vertex.alias(alias) == alias
        ):
            return alias
    return f"v{body.get('versionId', '')}"


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"image_uri": spec.get("imageUri", "")}
    if spec.get("predictRoute"):
        out["predict_route"] = spec["predictRoute"]
    if spec.get("healthRoute"):
        out["health_route"] = spec["healthRoute"]
    if spec.get("env"):
        out["env"] = {e["name"]: e["value"] for e in spec["env"]}
    if spec.get("ports"):
        out["ports"] = [p["containerPort"] for p in spec["ports"]]
    if spec.get("command"):
        out["command"] = list(spec["command"])
    if spec.get("args"):
        out["args"] = list(spec["args"])
    return out


def _scaling(fields: dict[str, Any]) -> dict[str, Any]:
    low, high = fields.get("minReplicaCount") or 1, fields.get("maxReplicaCount") or 0
    metrics = fields.get("autoscalingMetricSpecs") or []
    if low == high and not metrics:
        return {"mode": "manual", "nodes": low}
    out: dict[str, Any] = {"mode": "auto", "min_nodes": low, "max_nodes": max(low, high)}
    if metrics:
        out["metrics"] = [
            {"name": METRIC_NAMES.get(m["metricName"], m["metricName"]), "target": m["target"]}
            for m in metrics
        ]
    return out


def manifest_entry(
    model: ObservedResource,
    children: Sequence[ObservedResource],
    default_region: str,
    only: str | None = None,
) -> Imported:
    notes: list[str] = []
    versions = [r for r in children if r.key.version is not None and not r.key.part]
    endpoints = [r for r in children if r.key.part == "endpoint"]
    deployments = [r for r in children if r.key.part == "deployed"]
    if len(endpoints) > 1:
        raise AdoptionError(
            f"{model.key.address} is deployed on {len(endpoints)} endpoints; deployer manages "
            "one endpoint per model: undeploy it from all but one first"
        )
    names = {str(v.private.get("versionId")): version_name(dict(v.private)) for v in versions}
    if len(set(names.values())) != len(names):
        raise AdoptionError(f"{model.key.address}: two versions map to the same name")
    by_vid: dict[str, ObservedResource] = {}
    for dm in deployments:
        vid = str(dm.private.get("modelVersionId", ""))
        if vid in by_vid:
            raise AdoptionError(
                f"{model.key.address}: version {names.get(vid, vid)} is deployed twice on its "
                "endpoint; undeploy one first"
            )
        by_vid[vid] = dm
    if only is not None:
        versions = [v for v in versions if names[str(v.private.get("versionId"))] == only]
        if not versions:
            raise AdoptionError(f"version {only!r} of {model.key.address} not found")
    endpoint = endpoints[0] if endpoints else None
    split: dict[str, int] = {}
    if endpoint is not None:
        for dm_id, pct in (endpoint.private.get("trafficSplit") or {}).items():
            served = next((d for d in deployments if str(d.private.get("id")) == dm_id), None)
            vid = str(served.private.get("modelVersionId")) if served else ""
            if vid in names and int(pct):
                split[names[vid]] = int(pct)

    entry: dict[str, Any] = {"name": model.key.model}
    description = model.fields.get("description") or ""
    if description:
        entry["description"] = description
    if model.key.endpoint != default_region:
        entry["regions"] = [model.key.endpoint]
    user = _user(endpoint.labels) if endpoint is not None else {}
    if user:
        entry["labels"] = user
    first = next(iter(by_vid.values()), None)
    if first is not None:
        entry["online_prediction_logging"] = bool(first.fields.get("enableAccessLogging"))
        if not first.fields.get("disableContainerLogging"):
            entry["console_logging"] = True
    holders = [v for v in versions if v.is_default]
    default = (
        names[str(holders[0].private.get("versionId"))]
        if holders
        else (max(split, key=lambda n: split[n]) if split else None)
    )
    if len(versions) > 1 and default:
        entry["default_version"] = default
    if split and split != {default: 100}:
        entry["traffic"] = split
    out_versions = []
    origin: dict[str, str] = {}
    for v in sorted(versions, key=lambda v: int(v.private.get("versionId") or 0)):
        vid = str(v.private.get("versionId"))
        name = names[vid]
        origin[catalog_vertex.alias(name)] = vid
        item: dict[str, Any] = {"name": name}
        if v.fields.get("artifactUri"):
            item["artifact"] = v.fields["artifactUri"]
        item["container"] = _container(dict(v.fields.get("containerSpec") or {}))
        if v.fields.get("versionDescription"):
            item["description"] = v.fields["versionDescription"]
        if _user(v.labels):
            item["labels"] = {k: x for k, x in _user(v.labels).items() if user.get(k) != x}
            if not item["labels"]:
                del item["labels"]
        deployed_model = by_vid.get(vid)
        if deployed_model is None:
            item["deployed"] = False
        else:
            spec = deployed_model.fields.get("machineSpec") or {}
            item["machine_type"] = spec.get("machineType")
            if spec.get("acceleratorType"):
                item["accelerator"] = {
                    "type": spec["acceleratorType"],
                    "count": spec.get("acceleratorCount", 1),
                }
            item["scaling"] = _scaling(dict(deployed_model.fields))
            if deployed_model.fields.get("serviceAccount"):
                item["service_account"] = deployed_model.fields["serviceAccount"]
        out_versions.append(item)
    logging = endpoint.fields.get("predictRequestResponseLoggingConfig") if endpoint else None
    if logging and logging.get("enabled") and out_versions:
        table = (logging.get("bigqueryDestination") or {}).get("outputUri", "")
        out_versions[0]["request_logging"] = {
            "bigquery_table": table.removeprefix("bq://"),
            "sampling_percentage": logging.get("samplingRate", 0.0),
        }
    entry["versions"] = out_versions
    return Imported(entry, notes, origin)
