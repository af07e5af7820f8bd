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
    "dedicatedEndpointEnabled",
    "privateServiceConnectConfig",
)
"""[SDK Endpoint.update] display_name, description, labels, traffic_split; [MM Endpoint.yaml]
patches the logging config, the Private Service Connect config (whose
enablePrivateServiceConnect is `immutable: true`) and dedicatedEndpointEnabled."""
ENDPOINT_FIXED = {
    "network": "network is fixed at the endpoint's creation (Endpoint.yaml: immutable); create "
    "a new endpoint",
    "encryptionSpec": "encryption_spec is fixed at the endpoint's creation",
    "clientConnectionConfig": "client_connection_config is changed by endpoints.update "
    "(UpdateEndpointLongRunning), not endpoints.patch",
}
"""What endpoints.patch refuses: [MM] marks network and encryptionSpec immutable; the inference
timeout has its own long-running update ([DD] UpdateEndpointLongRunningRequest) [INF: patch
refuses it]."""
MUTATE_MASKS = (
    "dedicatedResources.minReplicaCount",
    "dedicatedResources.maxReplicaCount",
    "dedicatedResources.autoscalingMetricSpecs",
    "dedicatedResources.requiredReplicaCount",
    "disableContainerLogging",
)
MUTATE_MASKS_V1BETA1 = (
    *MUTATE_MASKS,
    "dedicatedResources.scaleToZeroSpec",
    "dedicatedResources.initialReplicaCount",
)
"""MutateDeployedModelRequest.deployedModel [DD]: "scale_to_zero_spec in DedicatedResources
(v1beta1 only)", "initial_replica_count in DedicatedResources (v1beta1 only)"."""
INFERENCE_TIMEOUT_MAX = cv.INFERENCE_TIMEOUT_MAX
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
    for path in parse_mask(mask):
        if path in ENDPOINT_FIXED:
            raise invalid(f"Field: update_mask Error: {ENDPOINT_FIXED[path]}.")
    return split_mask(mask, ENDPOINT_MASKS, ())


def mutate_mask(mask: str | None, beta: bool = False) -> list[str]:
    return split_mask(mask, MUTATE_MASKS_V1BETA1 if beta else MUTATE_MASKS, ())


def endpoint_access(fields: Json) -> None:
    """One kind of access per endpoint: Private Service Connect and a VPC network exclude each
    other ([DD] Endpoint.privateServiceConnectConfig: "network and private_service_connect_config
    are mutually exclusive"), and a PSC endpoint takes no dedicatedEndpointEnabled ([MM]
    Endpoint.yaml: conflicts); the network is named by project number ([DD] Endpoint.network)."""
    psc = fields.get("privateServiceConnectConfig")
    network = fields.get("network")
    if psc is not None:
        if not psc.get("enablePrivateServiceConnect"):
            raise invalid(
                "Field: endpoint.private_service_connect_config.enable_private_service_connect "
                "Error: must be true when private_service_connect_config is set."
            )
        if network:
            raise invalid(
                "Field: endpoint.network Error: network and private_service_connect_config are "
                "mutually exclusive."
            )
        if fields.get("dedicatedEndpointEnabled"):
            raise invalid(
                "Field: endpoint.dedicated_endpoint_enabled Error: a Private Service Connect "
                "endpoint cannot also be a dedicated public endpoint."
            )
        for project in psc.get("projectAllowlist") or []:
            if not cv.PROJECT_ID_RE.match(str(project)):
                raise invalid(
                    "Field: endpoint.private_service_connect_config.project_allowlist Error: "
                    f"{project!r} is not a project ID."
                )
    if network is not None:
        if not cv.NETWORK_RE.match(str(network)):
            raise invalid(
                f"Field: endpoint.network Error: {network!r} must be "
                "projects/{project_number}/global/networks/{network}."
            )
        if fields.get("dedicatedEndpointEnabled"):  # [INF] public and peered at once
            raise invalid(
                "Field: endpoint.dedicated_endpoint_enabled Error: a VPC-peered endpoint "
                "cannot also be a dedicated public endpoint."
            )
    connection(fields.get("clientConnectionConfig"), fields)


def connection(config: Any, fields: Json) -> None:
    """The inference timeout: "Configurable up to 1 hour" on dedicated public and Private Service
    Connect endpoints, 60 seconds on the others [DOCS choose-endpoint-type]."""
    if not config:
        return
    timeout = config.get("inferenceTimeout")
    seconds = _seconds(timeout)
    if seconds is None or not 0 < seconds <= INFERENCE_TIMEOUT_MAX:
        raise invalid(
            "Field: endpoint.client_connection_config.inference_timeout Error: must be a "
            f"duration up to {INFERENCE_TIMEOUT_MAX}s; got {timeout!r}."
        )
    if not (fields.get("dedicatedEndpointEnabled") or fields.get("privateServiceConnectConfig")):
        raise invalid(
            "Field: endpoint.client_connection_config Error: the inference timeout is "
            "configurable on dedicated and Private Service Connect endpoints only."
        )


def _seconds(value: Any) -> float | None:
    try:
        return float(str(value).removesuffix("s"))
    except ValueError:
        return None


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


def dedicated_resources(
    resources: Any, image_uri: str | None, beta: bool = False, where: str = ""
) -> Json:
    """Check DedicatedResources against the machine and accelerator tables; fill defaults.
    Through v1beta1 a deployment may scale to zero (`beta`)."""
    if not isinstance(resources, dict) or not resources:
        raise invalid(
            "Field: deployed_model.dedicated_resources Error: dedicated_resources is required "
            "(the model supports only DEDICATED_RESOURCES)."
        )
    where = where or "deployed_model.dedicated_resources"
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
    if not isinstance(low, int) or low < (0 if beta else 1):
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
    _scale_to_zero(resources, where, low, high)
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
        problem = cv.metric_target_error(str(name), target) if isinstance(target, int) else "x"
        if problem:
            raise invalid(
                f"Field: {where}.autoscaling_metric_specs Error: target of {name}: "
                f"{problem if isinstance(target, int) else f'expected an integer, got {target!r}'}."
            )
    return {**resources, "machineSpec": spec, "minReplicaCount": low, "maxReplicaCount": high}


def _scale_to_zero(resources: Json, where: str, low: int, high: int) -> None:
    """[DD v1beta1] DedicatedResources.initialReplicaCount: "When min_replica_count > 0 ...
    initial_replica_count should not be set. When min_replica_count = 0 ... should be larger
    than zero, but no greater than max_replica_count" (the twin takes "should" as must [INF]);
    ScaleToZeroSpec periods "[MinValue=300] ... [MaxValue=28800]"."""
    initial = resources.get("initialReplicaCount")
    spec = resources.get("scaleToZeroSpec")
    if low > 0:
        if initial:
            raise invalid(
                f"Field: {where}.initial_replica_count Error: set only with "
                "min_replica_count 0 (scale to zero)."
            )
        if spec:
            raise invalid(
                f"Field: {where}.scale_to_zero_spec Error: set only with min_replica_count 0."
            )
        return
    if not isinstance(initial, int) or not 0 < initial <= high:
        raise invalid(
            f"Field: {where}.initial_replica_count Error: with min_replica_count 0 it must be "
            f"from 1 to max_replica_count ({high}); got {initial!r}."
        )
    low_s, high_s = cv.SCALE_TO_ZERO_PERIOD
    for key, value in (spec or {}).items():
        seconds = _seconds(value)
        if seconds is None or not low_s <= seconds <= high_s:
            raise invalid(
                f"Field: {where}.scale_to_zero_spec.{key} Error: must be {low_s}s to "
                f"{high_s}s; got {value!r}."
            )
