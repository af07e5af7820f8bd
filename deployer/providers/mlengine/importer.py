"""Live `ml` v1 resources as manifest entries, for `deployer import`: the entry (pure), the
resources as they will read once `MLEngineProvider.adopt` labelled them (pure: the check made
before anything is written), and `restore`, which undoes `adopt`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deployer.core import ownership
from deployer.core.errors import AdoptionError
from deployer.core.provider import Imported
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.providers.mlengine import catalog

API_FRAMEWORKS = {v: k for k, v in catalog.FRAMEWORKS.items()}


def user_labels(labels: dict[str, str] | Any) -> dict[str, str]:
    return {k: v for k, v in dict(labels).items() if not ownership.own_label(k)}


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


# ---- adopting: what it leaves, and undoing it -------------------------------------------------


def _labels_written(resource: ObservedResource) -> bool:
    """Whether `adopt` writes this resource's labels: the service fixes them at creation on
    the global endpoint's models and on versions of machines other than n1-* (see
    MLEngineWriter.patch_model and patch_version)."""
    if resource.key.version is None:
        return resource.key.endpoint != catalog.GLOBAL
    return catalog.is_n1(str(resource.fields.get("machineType") or ""))


def adopted(
    model: ObservedResource,
    children: Sequence[ObservedResource],
    desired: Sequence[DesiredResource],
    origin: Mapping[str, str],
    specs: Mapping[ResourceKey, str],
    stack: str,
) -> list[ObservedResource]:
    """`model` and its versions as a read will show them once `adopt` has labelled them."""
    from deployer.providers.mlengine import state
    from deployer.providers.mlengine.writer import written_labels

    wanted = {d.key: d for d in desired}
    fixed = [
        r.key.address for r in [model, *children] if r.key in wanted and not _labels_written(r)
    ]
    if fixed:
        raise AdoptionError(
            f"the ml v1 service fixes labels at creation on {', '.join(fixed)} (models on the "
            "global endpoint, versions on mls1-* machines), so deployer cannot label it as the "
            "stack's; declare a new model or version on a regional endpoint instead; nothing was "
            "changed"
        )
    out: list[ObservedResource] = []
    for live in [model, *children]:
        d = wanted.get(live.key)
        body = dict(live.private)
        if d is not None and _labels_written(live):
            labels = written_labels(d.labels, specs[d.key])
            if d.fields.get("artifactDigest"):
                labels[state.LABEL_ARTIFACT] = str(d.fields["artifactDigest"])
            body["labels"] = labels
        if live.key.version is None:
            out.append(state.observe_model(live.key.endpoint, body))
        else:
            out.append(state.observe_version(live.key.endpoint, live.key.model, body))
    return out


def restore(
    provider: Any, model: ObservedResource, children: Sequence[ObservedResource]
) -> list[str]:
    """Put back the labels `adopt` replaced, the model's first (it decides ownership); returns
    what could not be put back, one line each."""
    from deployer.providers.errors import ProviderError

    left: list[str] = []
    for live in [model, *children]:
        if live.key.part or not _labels_written(live):
            continue
        try:
            _put_labels(provider, live.key, dict(live.private.get("labels") or {}))
        except ProviderError as exc:
            if not exc.not_found:
                left.append(f"{live.key.address}: {exc}")
    return left


def _put_labels(provider: Any, key: ResourceKey, labels: dict[str, str]) -> None:
    client, body = provider.client, {"labels": labels}
    what = f"restore the labels of {key.address}"

    def build(r: Any) -> Any:
        if key.version is None:
            request = r.projects().models()
            return request.patch(name=client.model_name(key), updateMask="labels", body=body)
        request = r.projects().models().versions()
        return request.patch(name=client.version_name(key), updateMask="labels", body=body)

    operation = client.execute(key.endpoint, what, build)
    provider.writer.wait_operation(key.endpoint, operation, what)
