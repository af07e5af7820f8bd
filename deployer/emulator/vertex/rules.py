"""Validation rules of the Vertex half (docs/emulator.md), facts from `catalog_vertex`.

Every function raises `ApiError` with the code and status the contract names. Where the real
service is undocumented ([INF] in VERTEX-API.md) these are the strictest plausible rules.
"""

from __future__ import annotations

from typing import Any

from deployer.emulator.apierrors import invalid, not_found, precondition
from deployer.emulator.rules import check_labels, parse_mask
from deployer.providers.vertex import catalog as cv

Json = dict[str, Any]

MODEL_MASKS = ("displayName", "description", "labels")
VERSION_MASKS = ("versionDescription", "labels")
ENDPOINT_MASKS = (
    "displayName",
    "description",
    "labels",
    "trafficSplit",
    "predictRequestResponseLoggingConfig",
)
MUTATE_MASKS = (
    "dedicatedResources.minReplicaCount",
    "dedicatedResources.maxReplicaCount",
    "dedicatedResources.autoscalingMetricSpecs",
    "dedicatedResources.requiredReplicaCount",
    "disableContainerLogging",
)
MODEL_OUTPUT_ONLY = (
    "name",
    "versionId",
    "versionCreateTime",
    "versionUpdateTime",
    "createTime",
    "updateTime",
    "etag",
    "deployedModels",
    "supportedDeploymentResourcesTypes",
    "supportedExportFormats",
    "supportedInputStorageFormats",
    "supportedOutputStorageFormats",
    "trainingPipeline",
    "modelSourceInfo",
    "originalModelInfo",
    "metadataArtifact",
    "satisfiesPzs",
    "satisfiesPzi",
)
MODEL_LEVEL = ("displayName", "description", "labels", "versionAliases")
"""Fields of an upload body that are not stored on the version as they are."""


def check_prediction_location(location: str, what: str) -> None:
    """Endpoints and deployments exist only where online prediction is offered [INF]."""
    if location not in cv.PREDICTION_REGIONS:
        raise invalid(
            f"{what}: Vertex AI online prediction is not offered in {location!r} (offered in "
            f"{', '.join(cv.PREDICTION_REGIONS[:4])}, ...)."
        )


def service_account(value: object) -> None:
    if value is not None and not (isinstance(value, str) and cv.SERVICE_ACCOUNT_RE.match(value)):
        raise invalid(
            f"Field: deployed_model.service_account Error: {value!r} is not a service account "
            "e-mail address (NAME@PROJECT.iam.gserviceaccount.com)."
        )


def check_location(location: str) -> None:
    if location not in cv.REGIONS:
        raise not_found(
            f"Location {location!r} is not supported by Vertex AI (known: "
            f"{', '.join(cv.REGIONS[:5])}, ...)."
        )


def display_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"Field: {what}.display_name Error: A display name must be provided.")
    if len(value) > cv.DISPLAY_NAME_MAX:
        raise invalid(
            f"Field: {what}.display_name Error: at most {cv.DISPLAY_NAME_MAX} characters."
        )
    return value


def labels(value: Any, what: str) -> dict[str, str]:
    return check_labels(value, what)


def model_id(value: Any) -> str:
    if not isinstance(value, str) or not cv.MODEL_ID_RE.match(value):
        raise invalid(
            f"Field: model_id Error: {value!r} is not a valid model ID: up to 63 characters "
            "from [a-z0-9_-], not starting with a digit or a hyphen."
        )
    return value


def aliases(values: Any, *, removals: bool = False) -> list[str]:
    """Check alias syntax (a `-` prefix marks a removal where `removals` allows it)."""
    out: list[str] = []
    for raw in values or []:
        text = raw[1:] if removals and isinstance(raw, str) and raw.startswith("-") else raw
        if not isinstance(text, str) or not cv.ALIAS_RE.match(text):
            raise invalid(
                f"Field: version_aliases Error: {raw!r} is not a valid alias: "
                "[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]."
            )
        out.append(raw)
    return out


def version_fields(model: Json) -> Json:
    """The stored version fields of an upload body (checked): artifact, container, ..."""
    container = model.get("containerSpec") or {}
    image = container.get("imageUri")
    if not isinstance(image, str) or not image:
        raise invalid("Field: model.container_spec.image_uri Error: An image URI is required.")
    problem = cv.image_error(image)
    if problem:
        raise invalid(f"Field: model.container_spec.image_uri Error: {problem}.")
    for i, env in enumerate(container.get("env") or []):
        name = env.get("name") if isinstance(env, dict) else None
        if not isinstance(name, str) or not cv.ENV_NAME_RE.match(name):
            raise invalid(
                f"Field: model.container_spec.env[{i}].name Error: {name!r} is not a valid C "
                "identifier (EnvVar.name must be one)."
            )
    framework = cv.image_framework(image)
    uri = model.get("artifactUri")
    if framework is not None and not (isinstance(uri, str) and uri.startswith("gs://")):
        raise invalid(
            f"Field: model.artifact_uri Error: The prebuilt image {image} needs artifact_uri, "
            "a gs:// directory holding the model files."
        )
    if uri is not None and not (isinstance(uri, str) and uri.startswith("gs://")):
        raise invalid(f"Field: model.artifact_uri Error: {uri!r} must be a gs:// URI.")
    return {
        k: v
        for k, v in model.items()
        if k not in MODEL_OUTPUT_ONLY and k not in MODEL_LEVEL and v is not None
    }


def split_mask(mask: str | None, allowed: tuple[str, ...], other: tuple[str, ...]) -> list[str]:
    """Mask paths (camelCase); unknown -> INVALID_ARGUMENT, the other level's -> PRECONDITION."""
    paths = parse_mask(mask)
    if not paths:
        raise invalid("Field: update_mask Error: An update mask must be provided.")
    for path in paths:
        if path in allowed:
            continue
        if path in other:
            raise precondition(
                f"Field: update_mask Error: {path!r} cannot be updated through this resource "
                "name: model fields need the model name (M or M@-), version fields need a "
                "version (M@N or M@alias)."
            )
        raise invalid(
            f"Field: update_mask Error: {path!r} cannot be updated; updatable: "
            f"{', '.join(allowed)}."
        )
    return paths


def endpoint_mask(mask: str | None) -> list[str]:
    return split_mask(mask, ENDPOINT_MASKS, ())


def mutate_mask(mask: str | None) -> list[str]:
    return split_mask(mask, MUTATE_MASKS, ())


def traffic(split: Any, deployed: set[str], *, new_key: bool, undeploy: bool = False) -> Json:
    """A checked traffic split: keys name deployed models ("0" the one being deployed when
    `new_key`), integer values summing to 100, or the map empty."""
    if not split:
        return {}
    if not isinstance(split, dict):
        raise invalid("Field: traffic_split Error: expected a map of deployed model ID to percent.")
    unknown = [k for k in split if k not in deployed and not (new_key and k == "0")]
    if unknown:
        raise invalid(
            f"The following DeployedModel ID(s) [{', '.join(unknown)}] do not exist."
            if undeploy or unknown != ["0"]
            else "Field: traffic_split Error: key '0' is only valid in deployModel."
        )
    out: Json = {}
    for key, value in split.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise invalid(
                f"Field: traffic_split Error: the percentage of {key!r} must be an integer "
                f"from 0 to 100; got {value!r}."
            )
        out[key] = value
    if sum(out.values()) != 100:
        raise invalid(
            f"Field: traffic_split Error: percentages must add up to 100 (or the map be empty); "
            f"they add up to {sum(out.values())}."
        )
    return out


def dedicated_resources(resources: Any, image_uri: str | None) -> Json:
    """Check DedicatedResources against the machine and accelerator tables; fill defaults."""
    if not isinstance(resources, dict) or not resources:
        raise invalid(
            "Field: deployed_model.dedicated_resources Error: dedicated_resources is required "
            "(the model supports only DEDICATED_RESOURCES)."
        )
    where = "deployed_model.dedicated_resources"
    if not isinstance(resources.get("machineSpec"), dict):
        raise invalid(  # DedicatedResources.machineSpec [DD]: "Required. Immutable."
            f"Field: {where}.machine_spec Error: machine_spec is required."
        )
    spec = dict(resources["machineSpec"])
    machine = spec.get("machineType") or cv.DEFAULT_MACHINE_TYPE
    if machine not in cv.MACHINE_TYPES:
        raise invalid(
            f"Field: {where}.machine_spec.machine_type Error: Machine type {machine!r} is not "
            "supported for online prediction."
        )
    accelerator = spec.get("acceleratorType")
    if accelerator == "ACCELERATOR_TYPE_UNSPECIFIED":
        accelerator = None
    count = int(spec.get("acceleratorCount") or (1 if accelerator else 0))
    problem = cv.accelerator_error(machine, accelerator, count)
    if problem:
        raise invalid(f"Field: {where}.machine_spec Error: {problem}.")
    gpu = cv.has_gpu(machine, accelerator)
    if gpu and image_uri and "-gpu." not in image_uri and cv.image_framework(image_uri):
        raise invalid(
            f"Field: {where}.machine_spec Error: The image {image_uri} is a CPU image; "
            "GPUs need a GPU serving image."
        )
    spec["machineType"] = machine
    low = resources.get("minReplicaCount")
    if not isinstance(low, int) or low < 1:
        raise invalid(
            f"Field: {where}.min_replica_count Error: min_replica_count must be at least 1 "
            f"(v1 does not scale to zero); got {low!r}."
        )
    high = resources.get("maxReplicaCount") or low
    if high < low:
        raise invalid(
            f"Field: {where}.max_replica_count Error: max_replica_count ({high}) must be at "
            f"least min_replica_count ({low})."
        )
    required = resources.get("requiredReplicaCount")
    if required is not None and not 0 <= required <= low:
        raise invalid(
            f"Field: {where}.required_replica_count Error: must be between 0 and "
            f"min_replica_count ({low})."
        )
    seen: set[str] = set()
    metrics = resources.get("autoscalingMetricSpecs") or []
    names = [str(m.get("metricName")) for m in metrics if isinstance(m, dict)]
    gpus = count or (cv.FIXED_GPU_MACHINES[machine][1] if machine in cv.FIXED_GPU_MACHINES else 0)
    duty = cv.duty_cycle_error(names, gpus)
    if duty:
        raise invalid(f"Field: {where}.autoscaling_metric_specs Error: {duty}.")
    for metric in metrics:
        name = metric.get("metricName")
        if name not in cv.KNOWN_METRICS:
            raise invalid(
                f"Field: {where}.autoscaling_metric_specs Error: unknown metric {name!r}."
            )
        if name in seen:
            raise invalid(
                f"Field: {where}.autoscaling_metric_specs Error: {name} given more than once."
            )
        seen.add(name)
        target = metric.get("target", cv.DEFAULT_METRIC_TARGET)
        if not isinstance(target, int) or not 1 <= target <= 100:
            raise invalid(
                f"Field: {where}.autoscaling_metric_specs Error: target of {name} must be from "
                f"1 to 100; got {target!r}."
            )
    return {**resources, "machineSpec": spec, "minReplicaCount": low, "maxReplicaCount": high}
