"""Live `ml` v1 resources as manifest entries, for `deployer import` (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deployer.core import ownership
from deployer.core.errors import AdoptionError
from deployer.core.provider import Imported
from deployer.core.resources import ObservedResource
from deployer.providers.mlengine import catalog

API_FRAMEWORKS = {v: k for k, v in catalog.FRAMEWORKS.items()}


def user_labels(labels: dict[str, str] | Any) -> dict[str, str]:
    return {k: v for k, v in dict(labels).items() if k not in ownership.RESERVED_LABELS}


def manifest_entry(
    model: ObservedResource,
    children: Sequence[ObservedResource],
    default_region: str,
    only: str | None = None,
) -> Imported:
    """The model entry that declares exactly `model` and its versions (only `only`, if given).

    A version another stack owns is left out (and said so)."""
    notes: list[str] = []
    versions = []
    for v in children:
        if v.key.version is None or (only is not None and v.key.version != only):
            continue
        owner = v.labels.get(ownership.LABEL_STACK)
        if v.labels.get(ownership.LABEL_MANAGED_BY) == ownership.LABEL_MANAGED_BY_VALUE and owner:
            notes.append(f"{v.key.address}: left out, it belongs to stack {owner!r}")
            continue
        versions.append(v)
    if only is not None and not versions:
        raise AdoptionError(f"version {only!r} of {model.key.address} not found")
    f = model.fields
    entry: dict[str, Any] = {"name": model.key.model}
    if f.get("description"):
        entry["description"] = f["description"]
    if model.key.endpoint != default_region:
        entry["regions"] = [model.key.endpoint]
    if user_labels(model.labels):
        entry["labels"] = user_labels(model.labels)
    entry["online_prediction_logging"] = bool(f.get("onlinePredictionLogging"))
    if f.get("onlinePredictionConsoleLogging"):
        entry["console_logging"] = True
    if model.labels.get(ownership.LABEL_PROTECT) == "true":
        entry["protect"] = True
    defaults = [v.key.version for v in versions if v.is_default]
    if len(versions) > 1 and defaults:
        entry["default_version"] = defaults[0]
    entry["versions"] = [_version(v, notes) for v in versions]
    return Imported(entry, notes, {v.key.version or "": v.key.version or "" for v in versions})


def _version(v: ObservedResource, notes: list[str]) -> dict[str, Any]:
    f = v.fields
    out: dict[str, Any] = {"name": v.key.version, "artifact": f.get("deploymentUri")}
    framework = f.get("framework") or "TENSORFLOW"
    out["framework"] = API_FRAMEWORKS.get(framework, framework.lower())
    out["runtime_version"] = f.get("runtimeVersion")
    if f.get("pythonVersion"):
        out["python_version"] = f["pythonVersion"]
    out["machine_type"] = f.get("machineType")
    if f.get("acceleratorConfig"):
        accel = f["acceleratorConfig"]
        out["accelerator"] = {"type": accel["type"], "count": accel["count"]}
    if f.get("scalingMode") == "manual":
        out["scaling"] = {"mode": "manual", "nodes": f.get("manualScaling.nodes")}
    else:
        scaling: dict[str, Any] = {"mode": "auto", "min_nodes": f.get("autoScaling.minNodes") or 0}
        if f.get("autoScaling.maxNodes"):
            scaling["max_nodes"] = f["autoScaling.maxNodes"]
        if f.get("autoScaling.metrics"):
            scaling["metrics"] = [
                {"name": m["name"], "target": m["target"]} for m in f["autoScaling.metrics"]
            ]
        out["scaling"] = scaling
    if f.get("description"):
        out["description"] = f["description"]
    if user_labels(v.labels):
        out["labels"] = user_labels(v.labels)
    logging = f.get("requestLoggingConfig")
    if logging:
        out["request_logging"] = {
            "bigquery_table": logging["bigqueryTableName"],
            "sampling_percentage": logging["samplingPercentage"],
        }
    if f.get("predictionClass"):
        out["prediction_class"] = f["predictionClass"]
    if f.get("packageUris"):
        out["package_uris"] = list(f["packageUris"])
    if f.get("serviceAccount"):
        out["service_account"] = f["serviceAccount"]
    if str(f.get("machineType", "")).startswith("mls1-"):
        notes.append(
            f"{v.key.address}: the real ml v1 service documents labels as unsupported on mls1-* "
            "(legacy) machine types; if it refuses the ownership labels, this version cannot be "
            "adopted: declare a new version on an n1-* machine and let deployer create it"
        )
    return out
