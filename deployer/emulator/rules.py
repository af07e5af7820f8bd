"""The service's validation rules for models and versions (facts in the mlengine catalog).

Every function raises `ApiError` with the code and status the real service answers with.
"""

from __future__ import annotations

from typing import Any

from deployer.core import manifest
from deployer.emulator.apierrors import invalid
from deployer.providers.mlengine import catalog

MODEL_PATCHABLE = ("description", "labels", "defaultVersion.name")
MODEL_FIXED = (
    "name",
    "regions",
    "onlinePredictionLogging",
    "onlinePredictionConsoleLogging",
)
VERSION_PATCHABLE = (
    "description",
    "labels",
    "requestLoggingConfig",
    "requestLoggingConfig.bigqueryTableName",
    "requestLoggingConfig.samplingPercentage",
    "autoScaling.minNodes",
    "autoScaling.maxNodes",
    "manualScaling.nodes",
)
VERSION_OUTPUT_ONLY = (
    "createTime",
    "lastUseTime",
    "state",
    "errorMessage",
    "isDefault",
    "etag",
    "lastMigrationModelId",
    "lastMigrationTime",
)
MODEL_OUTPUT_ONLY = ("defaultVersion", "etag")
BUSY_STATES = ("CREATING", "UPDATING", "DELETING")
FILES_LIMIT = catalog.MAX_ARTIFACT_FILES
SIZE_LIMIT = catalog.MAX_ARTIFACT_BYTES


def prune_defaults(message: dict[str, Any]) -> dict[str, Any]:
    """Drop zero, false and empty scalar fields, as proto3 JSON output does (maps stay whole)."""
    out: dict[str, Any] = {}
    for key, value in message.items():
        if key in ("labels", "routes"):
            out[key] = value
        elif isinstance(value, dict):
            out[key] = prune_defaults(value)
        elif isinstance(value, list):
            if value:
                out[key] = [prune_defaults(v) if isinstance(v, dict) else v for v in value]
        elif value not in (0, "", None):
            out[key] = value
    return out


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise invalid(f"Field: {what}.name Error: A name should be provided.")
    if not manifest.NAME_RE.match(name):
        raise invalid(
            f"Field: {what}.name Error: A name should start with a letter and contain only "
            f"letters, numbers and underscores, at most 128 characters; got {name!r}."
        )
    return name


def check_labels(labels: Any, what: str) -> dict[str, str]:
    if labels is None:
        return {}
    if len(labels) > manifest.MAX_LABELS:
        raise invalid(f"Field: {what}.labels Error: At most {manifest.MAX_LABELS} labels allowed.")
    for key, value in labels.items():
        if not manifest.LABEL_KEY_RE.match(key):
            raise invalid(
                f"Field: {what}.labels Error: Invalid label key {key!r}: keys must start with a "
                "lowercase letter and contain only lowercase letters, digits, '-' and '_', at "
                "most 63 characters."
            )
        if not isinstance(value, str) or not manifest.LABEL_VALUE_RE.match(value):
            raise invalid(
                f"Field: {what}.labels Error: Invalid label value {value!r} for key {key!r}: "
                "values contain only lowercase letters, digits, '-' and '_', at most 63 "
                "characters."
            )
    return dict(labels)


def _drop_output_only(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names and v is not None}


def model_for_create(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Check a models.create body; return the model's stored fields (without name prefix)."""
    body = _drop_output_only(body, MODEL_OUTPUT_ONLY)
    check_name(body.get("name"), "model")
    body["labels"] = check_labels(body.get("labels"), "model")
    if not body["labels"]:
        del body["labels"]
    regions = body.get("regions") or []
    if len(regions) > 1:
        raise invalid(
            "Field: model.regions Error: Currently only one region per model is supported; "
            f"got {len(regions)}."
        )
    if catalog.is_regional(endpoint):
        if regions and regions[0] != endpoint:
            raise invalid(
                f"Field: model.regions Error: A model on the {endpoint} regional endpoint must "
                f"be in region {endpoint}; got {regions[0]!r}."
            )
        regions = [endpoint]
        if body.get("onlinePredictionConsoleLogging"):
            raise invalid(
                "Field: model.online_prediction_console_logging Error: Console logging is not "
                "supported on regional endpoints."
            )
    else:
        if regions and regions[0] not in catalog.REGIONAL_ENDPOINTS:
            raise invalid(f"Field: model.regions Error: Unknown region {regions[0]!r}.")
        regions = regions or ["us-central1"]
    body["regions"] = regions
    for flag in ("onlinePredictionLogging", "onlinePredictionConsoleLogging"):
        if body.get(flag) is False:
            del body[flag]
    return body


def _check_scaling(version: dict[str, Any], machine_type: str) -> None:
    auto = version.get("autoScaling")
    manual = version.get("manualScaling")
    n1 = catalog.is_n1(machine_type)
    if auto is not None and manual is not None:
        raise invalid(
            "Field: version.scaling Error: Only one of auto_scaling and manual_scaling may be set."
        )
    if manual is not None:
        nodes = manual.get("nodes", 0)
        if nodes < 1:
            raise invalid(
                f"Field: version.manual_scaling.nodes Error: nodes must be at least 1; got {nodes}."
            )
    if auto is not None:
        min_nodes = auto.get("minNodes", 0)
        max_nodes = auto.get("maxNodes", 0)
        if min_nodes < 0:
            raise invalid("Field: version.auto_scaling.min_nodes Error: must not be negative.")
        if n1 and min_nodes < 1:
            raise invalid(
                "Field: version.auto_scaling.min_nodes Error: Machine type "
                f"{machine_type} requires min_nodes >= 1 (it cannot scale to zero)."
            )
        if max_nodes < 0 or (max_nodes and max_nodes < min_nodes):
            raise invalid(
                "Field: version.auto_scaling.max_nodes Error: max_nodes must be at least "
                f"min_nodes ({min_nodes}); got {max_nodes}."
            )
        for metric in auto.get("metrics", []) or []:
            name = metric.get("name")
            if name not in catalog.SCALING_METRICS:
                raise invalid(
                    f"Field: version.auto_scaling.metrics.name Error: Unknown metric {name!r}."
                )
            if name == "GPU_DUTY_CYCLE" and not version.get("acceleratorConfig"):
                raise invalid(
                    "Field: version.auto_scaling.metrics Error: GPU_DUTY_CYCLE needs GPUs."
                )
            target = metric.get("target", 0)
            if not 0 < target <= 100:
                raise invalid(
                    "Field: version.auto_scaling.metrics.target Error: target must be in "
                    f"(0, 100]; got {target}."
                )


def version_for_create(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Check a versions.create body; return the version's stored input fields with defaults."""
    version = _drop_output_only(body, VERSION_OUTPUT_ONLY)
    check_name(version.get("name"), "version")
    version["labels"] = check_labels(version.get("labels"), "version")
    if not version["labels"]:
        del version["labels"]
    if "requestLoggingConfig" in version:
        raise invalid(
            "Field: version.request_logging_config Error: Request logging can only be "
            "configured by updating an existing version."
        )
    regional = catalog.is_regional(endpoint)
    machine_type = (
        version.get("machineType")
        or catalog.DEFAULT_MACHINE_TYPE["regional" if regional else catalog.GLOBAL]
    )
    allowed = catalog.machine_types_for(endpoint)
    if machine_type not in allowed:
        where = f"the {endpoint} regional endpoint" if regional else "the global endpoint"
        raise invalid(
            f"Field: version.machine_type Error: Machine type {machine_type!r} is not "
            f"supported on {where}; supported: {', '.join(allowed)}."
        )
    version["machineType"] = machine_type
    container = version.get("container")
    if container is not None:
        if not regional or not catalog.is_n1(machine_type):
            raise invalid(
                "Field: version.container Error: Custom containers need a regional endpoint "
                "and an n1-* machine type."
            )
        for field in ("runtimeVersion", "framework", "pythonVersion", "packageUris"):
            if version.get(field):
                raise invalid(
                    f"Field: version.{field} Error: must be unset for a custom container."
                )
        if version.get("predictionClass"):
            raise invalid(
                "Field: version.prediction_class Error: must be unset for a custom container."
            )
        if not container.get("image"):
            raise invalid("Field: version.container.image Error: An image must be provided.")
    else:
        uri = version.get("deploymentUri")
        if not uri:
            raise invalid("Field: version.deployment_uri Error: A deployment URI must be given.")
        if not uri.startswith("gs://") or len(uri) <= len("gs://"):
            raise invalid(
                f"Field: version.deployment_uri Error: The URI {uri!r} must be a gs:// URI."
            )
        runtime = version.get("runtimeVersion")
        if not runtime:
            raise invalid("Field: version.runtime_version Error: A runtime version is required.")
        if runtime not in catalog.RUNTIME_VERSIONS:
            raise invalid(
                f"Field: version.runtime_version Error: Runtime version {runtime!r} is not "
                f"supported; supported: {', '.join(catalog.RUNTIME_VERSIONS)}."
            )
        python = version.get("pythonVersion")
        if python and python not in catalog.python_versions_for(runtime):
            raise invalid(
                f"Field: version.python_version Error: Python {python!r} is not supported with "
                f"runtime version {runtime}."
            )
        framework = version.get("framework") or "FRAMEWORK_UNSPECIFIED"
        version["framework"] = "TENSORFLOW" if framework == "FRAMEWORK_UNSPECIFIED" else framework
    if version.get("predictionClass") and catalog.is_n1(machine_type):
        raise invalid(
            "Field: version.prediction_class Error: Custom prediction routines are only "
            "supported on mls1-* machine types."
        )
    if version.get("serviceAccount") and not (
        version.get("predictionClass") or version.get("container")
    ):
        raise invalid(
            "Field: version.service_account Error: A service account can only be set for a "
            "custom prediction routine or a custom container."
        )
    accel = version.get("acceleratorConfig")
    if accel is not None:
        if not catalog.is_n1(machine_type):
            raise invalid(
                f"Field: version.accelerator_config Error: Machine type {machine_type} does "
                "not support accelerators."
            )
        if accel.get("type") not in catalog.ACCELERATOR_TYPES:
            raise invalid(
                f"Field: version.accelerator_config.type Error: Unknown accelerator type "
                f"{accel.get('type')!r}."
            )
        if accel.get("count", 0) < 1:
            raise invalid("Field: version.accelerator_config.count Error: must be at least 1.")
    if "autoScaling" not in version and "manualScaling" not in version:
        version["autoScaling"] = {"minNodes": 1} if catalog.is_n1(machine_type) else {}
    _check_scaling(version, machine_type)
    if accel is not None:
        version["acceleratorConfig"] = {**accel, "count": str(accel["count"])}  # int64 as text
    return prune_defaults(version)


def parse_mask(mask: str | None) -> list[str]:
    """Split an update mask, accepting snake_case and camelCase paths."""
    from deployer.emulator.discovery import camel

    if not mask:
        return []
    return [".".join(camel(p) for p in path.strip().split(".")) for path in mask.split(",") if path]


def check_model_mask(paths: list[str], endpoint: str = "") -> None:
    if not paths:
        raise invalid("Field: update_mask Error: An update mask must be provided.")
    if "labels" in paths and endpoint == catalog.GLOBAL:
        raise invalid(
            "Field: update_mask Error: Labels of a model on the global endpoint (mls1-* "
            "machine types) are fixed at creation and cannot be updated."
        )
    for path in paths:
        if path in MODEL_PATCHABLE:
            continue
        if path.split(".")[0] in MODEL_FIXED:
            raise invalid(
                f"Field: update_mask Error: Field {path!r} is fixed at creation and cannot be "
                "updated."
            )
        raise invalid(
            f"Field: update_mask Error: Invalid update mask path {path!r}; updatable: "
            f"{', '.join(MODEL_PATCHABLE)}."
        )


def patched_version(
    current: dict[str, Any], patch: dict[str, Any], paths: list[str]
) -> dict[str, Any]:
    """Apply `patch` at `paths` to a copy of `current`, enforcing the mask whitelist."""
    import copy

    if not paths:
        raise invalid("Field: update_mask Error: An update mask must be provided.")
    result = copy.deepcopy(current)
    machine_type = current.get("machineType", "")
    for path in paths:
        if path not in VERSION_PATCHABLE:
            raise invalid(
                f"Field: update_mask Error: Field {path!r} cannot be updated; it is fixed at "
                f"creation. Updatable: {', '.join(VERSION_PATCHABLE)}."
            )
        head, _, leaf = path.partition(".")
        if head == "labels" and not catalog.is_n1(machine_type):
            raise invalid(
                "Field: update_mask Error: Labels of a version on an mls1-* machine type are "
                "fixed at creation and cannot be updated."
            )
        if head == "manualScaling":
            if not catalog.is_n1(machine_type):
                raise invalid(
                    "Field: update_mask Error: manual_scaling.nodes can only be updated on "
                    "n1-* machine types."
                )
            if "manualScaling" not in current:
                raise invalid(
                    "Field: update_mask Error: The version uses auto scaling; switching to "
                    "manual scaling requires a new version."
                )
        if head == "autoScaling" and "autoScaling" not in current:
            raise invalid(
                "Field: update_mask Error: The version uses manual scaling; switching to auto "
                "scaling requires a new version."
            )
        source = patch.get(head)
        if leaf:
            value = source.get(leaf) if isinstance(source, dict) else None
            target = dict(result.get(head) or {})
            if value is None:
                target.pop(leaf, None)
            else:
                target[leaf] = value
            result[head] = target
        elif source is None or source == {}:
            result.pop(head, None)
        else:
            result[head] = copy.deepcopy(source)
    if "labels" in result:
        result["labels"] = check_labels(result["labels"], "version")
        if not result["labels"]:
            del result["labels"]
    logging = result.get("requestLoggingConfig")
    if logging:
        rate = logging.get("samplingPercentage", 0.0)
        if not 0.0 <= rate <= 1.0:
            raise invalid(
                "Field: version.request_logging_config.sampling_percentage Error: must be in "
                f"[0, 1]; got {rate}."
            )
        if not logging.get("bigqueryTableName"):
            raise invalid(
                "Field: version.request_logging_config.bigquery_table_name Error: A BigQuery "
                "table must be given."
            )
    _check_scaling(result, machine_type)
    return prune_defaults(result)
