"""Facts about Vertex AI (`aiplatform` v1) shared by validation, the provider and the local twin.

Sources are tagged in shared/VERTEX-API.md; where the real service is not documented, the
strictest plausible rule is kept here so the twin and the validator refuse the same things.
"""

from __future__ import annotations

import hashlib
import re

from deployer.core.backend import ProjectAccess

REGIONS: tuple[str, ...] = (
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "asia-southeast3",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "europe-west15",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-central2",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-east7",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
    "us-west8",
)

PREDICTION_REGIONS: tuple[str, ...] = tuple(
    r
    for r in REGIONS
    if r
    not in (
        "asia-south2",
        "asia-southeast3",
        "europe-north2",
        "europe-west10",
        "europe-west15",
        "us-central2",
        "us-east5",
        "us-east7",
        "us-west8",
    )
)
"""Regions where Vertex AI serves custom-model online prediction: the "Vertex AI regions" list
of cloud.google.com/vertex-ai/docs/general/locations (read from stored copies). The other API
hosts of the discovery document answer registry calls but are not listed there [INF: the
strictest reading: no endpoint, no deployment there]."""

MODEL_ID_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,62}$")
"""UploadModelRequest.modelId; deployer also requires a letter first (a valid manifest name)."""
ALIAS_RE = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$")
DEFAULT_ALIAS = "default"
ENDPOINT_ID_RE = re.compile(r"^[1-9][0-9]{0,9}$")
DEPLOYED_MODEL_ID_RE = re.compile(r"^[0-9]{1,10}$")
DISPLAY_NAME_MAX = 128

LABEL_MODEL = "deployer-model"
LABEL_VERSION = "deployer-version"

MAX_LRO_PER_MINUTE = 60
"""Long-running-operation submissions per project, region and minute."""
MAX_REQUESTS_PER_MINUTE = 600
"""Resource-management (CRUD) requests per project, region and minute."""
MAX_ARTIFACT_BYTES = 10 * 1024**3
SERVING_CPU_QUOTA = "aiplatform.googleapis.com/custom_model_serving_cpus"
"""The "Custom model serving CPUs per region" quota [DOCS quotas; metric name INF]."""

CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"
GPU_METRIC = "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
REQUEST_METRIC = "aiplatform.googleapis.com/prediction/online/request_count"
"""AutoscalingMetricSpec.metricName [DD]; its target is "target request count per minute per
instance" [SDK models.py autoscaling_target_request_count_per_minute], not a percentage."""
METRICS: dict[str, str] = {
    "CPU_USAGE": CPU_METRIC,
    "GPU_DUTY_CYCLE": GPU_METRIC,
    "REQUEST_COUNT": REQUEST_METRIC,
}
PERCENT_METRICS = frozenset({CPU_METRIC, GPU_METRIC})
"""AutoscalingMetricSpec.target [DD]: "The target resource utilization in percentage (1% -
100%)" for these; a request count is a rate [SDK], at least 1 [INF]."""
KNOWN_METRICS: frozenset[str] = frozenset(
    {
        CPU_METRIC,
        GPU_METRIC,
        REQUEST_METRIC,
        "pubsub.googleapis.com/subscription/num_undelivered_messages",
        "prometheus.googleapis.com/vertex_dcgm_fi_dev_gpu_util",
        "prometheus.googleapis.com/vertex_vllm_gpu_cache_usage_perc",
        "prometheus.googleapis.com/vertex_vllm_num_requests_waiting",
    }
)
DEFAULT_METRIC_TARGET = 60


def metric_target_error(metric: str, target: int) -> str | None:
    """Why the service refuses this autoscaling target (None: it takes it)."""
    if metric in PERCENT_METRICS and not 1 <= target <= 100:
        return f"target must be 1-100 (percent), got {target}"
    if metric == REQUEST_METRIC and target < 1:
        return f"target must be at least 1 (requests per minute per node), got {target}"
    return None


SCALE_TO_ZERO_PERIOD = (300, 28800)
"""DedicatedResourcesScaleToZeroSpec.idleScaledownPeriod / minScaleupPeriod [DD v1beta1]:
"[MinValue=300] (5 minutes) [MaxValue=28800] (8 hours)"."""
INFERENCE_TIMEOUT_MAX = 3600
"""ClientConnectionConfig.inferenceTimeout: "Configurable up to 1 hour" on dedicated public and
Private Service Connect endpoints; shared public and VPC-peered endpoints have 60 seconds
[DOCS choose-endpoint-type]."""
NETWORK_RE = re.compile(r"^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
"""Endpoint.network [DD]: `projects/{project}/global/networks/{network}`, "Where {project} is a
project number"."""
PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
POOL_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,51}[a-z0-9])?$")
"""A pool's name in deployer.yaml: its deploymentResourcePoolId is NAME--TAG (10 characters
more) and takes at most 63 of `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`
[DD CreateDeploymentResourcePoolRequest.deploymentResourcePoolId]; no `--` in NAME."""
POOL_TAG_LENGTH = 8


def pool_tag(stack: str) -> str:
    """The suffix of the stack's pool ids: deployment resource pools have no labels [DD
    DeploymentResourcePool], so the id carries whose pool it is."""
    return hashlib.sha256(stack.encode("utf-8")).hexdigest()[:POOL_TAG_LENGTH]


def pool_id(stack: str, name: str) -> str:
    return f"{name}--{pool_tag(stack)}"


def pool_name(stack: str, pool: str) -> str | None:
    """The declared name of a pool id of `stack` (None: not one of its pools)."""
    head, sep, tag = pool.rpartition("--")
    return head if sep and head and tag == pool_tag(stack) else None


DEPLOYMENT_STAGES: tuple[str, ...] = (
    "STARTING_DEPLOYMENT",
    "PREPARING_MODEL",
    "CREATING_SERVING_CLUSTER",
    "ADDING_NODES_TO_CLUSTER",
    "GETTING_CONTAINER_IMAGE",
    "STARTING_MODEL_SERVER",
    "FINISHING_UP",
    "DEPLOYMENT_TERMINATED",
    "SUCCESSFULLY_DEPLOYED",
    "FAILED_TO_DEPLOY",
)


def _series(family: str, sizes: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{family}-{n}" for n in sizes)


CPU_MACHINE_TYPES: tuple[str, ...] = (
    # [DOCS configure-compute] "machine types for serving predictions": E2, N1 (n1-standard-2 ..
    # n1-standard-32, n1-highmem-2 .. 32, n1-highcpu-4 .. 32: N1 stops at 32 vCPUs), then N2,
    # N2D, C2, C2D, C3 (their sizes [INF] from Compute Engine's tables)
    *_series("e2-standard", (2, 4, 8, 16, 32)),
    *_series("e2-highmem", (2, 4, 8, 16)),
    *_series("e2-highcpu", (2, 4, 8, 16, 32)),
    *_series("n1-standard", (2, 4, 8, 16, 32)),
    *_series("n1-highmem", (2, 4, 8, 16, 32)),
    *_series("n1-highcpu", (4, 8, 16, 32)),
    *_series("n2-standard", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
    *_series("n2-highmem", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
    *_series("n2-highcpu", (2, 4, 8, 16, 32, 48, 64, 80, 96)),
    *_series("n2d-standard", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    *_series("n2d-highmem", (2, 4, 8, 16, 32, 48, 64, 80, 96)),
    *_series("n2d-highcpu", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    *_series("c2-standard", (4, 8, 16, 30, 60)),
    *_series("c2d-standard", (2, 4, 8, 16, 32, 56, 112)),
    *_series("c2d-highmem", (2, 4, 8, 16, 32, 56, 112)),
    *_series("c2d-highcpu", (2, 4, 8, 16, 32, 56, 112)),
    *_series("c3-standard", (4, 8, 22, 44, 88, 176)),
    *_series("c3-highmem", (4, 8, 22, 44, 88, 176)),
    *_series("c3-highcpu", (4, 8, 22, 44, 88, 176)),
)

N1_GPU_VCPUS: dict[str, dict[int, int]] = {
    "NVIDIA_TESLA_T4": {1: 48, 2: 48, 4: 96},
    "NVIDIA_TESLA_P4": {1: 24, 2: 48, 4: 96},
    "NVIDIA_TESLA_P100": {1: 16, 2: 32, 4: 96},
    "NVIDIA_TESLA_V100": {1: 12, 2: 24, 4: 48, 8: 96},
}
"""GPUs that attach to N1: per GPU count, the most vCPUs the machine may have ([DOCS] Compute
Engine "GPU platforms" table, which configure-compute points at for prediction [INF]). K80 is
past end of support (the discovery document marks NVIDIA_TESLA_K80 deprecated)."""
N1_ACCELERATORS: tuple[str, ...] = tuple(N1_GPU_VCPUS)
N1_ACCELERATOR_COUNTS: tuple[int, ...] = (1, 2, 4, 8)

FIXED_GPU_MACHINES: dict[str, tuple[str, int]] = {
    "a2-highgpu-1g": ("NVIDIA_TESLA_A100", 1),
    "a2-highgpu-2g": ("NVIDIA_TESLA_A100", 2),
    "a2-highgpu-4g": ("NVIDIA_TESLA_A100", 4),
    "a2-highgpu-8g": ("NVIDIA_TESLA_A100", 8),
    "a2-megagpu-16g": ("NVIDIA_TESLA_A100", 16),
    "a2-ultragpu-1g": ("NVIDIA_A100_80GB", 1),
    "a2-ultragpu-2g": ("NVIDIA_A100_80GB", 2),
    "a2-ultragpu-4g": ("NVIDIA_A100_80GB", 4),
    "a2-ultragpu-8g": ("NVIDIA_A100_80GB", 8),
    "a3-highgpu-1g": ("NVIDIA_H100_80GB", 1),
    "a3-highgpu-2g": ("NVIDIA_H100_80GB", 2),
    "a3-highgpu-4g": ("NVIDIA_H100_80GB", 4),
    "a3-highgpu-8g": ("NVIDIA_H100_80GB", 8),
    "a3-megagpu-8g": ("NVIDIA_H100_MEGA_80GB", 8),
    "g2-standard-4": ("NVIDIA_L4", 1),
    "g2-standard-8": ("NVIDIA_L4", 1),
    "g2-standard-12": ("NVIDIA_L4", 1),
    "g2-standard-16": ("NVIDIA_L4", 1),
    "g2-standard-24": ("NVIDIA_L4", 2),
    "g2-standard-32": ("NVIDIA_L4", 1),
    "g2-standard-48": ("NVIDIA_L4", 4),
    "g2-standard-96": ("NVIDIA_L4", 8),
}
"""Machines whose GPUs come with the machine: the accelerator must be exactly this. A2 and A3
come in partial counts (a2-highgpu-1g .. 8g, a3-highgpu-1g .. 8g), each its own machine type
with its own count ([DOCS configure-compute]; Compute Engine accelerator-optimized tables)."""

MACHINE_TYPES: tuple[str, ...] = (*CPU_MACHINE_TYPES, *FIXED_GPU_MACHINES)
ACCELERATOR_TYPES: tuple[str, ...] = tuple(
    sorted({*N1_ACCELERATORS, *(t for t, _ in FIXED_GPU_MACHINES.values())})
)
DEFAULT_MACHINE_TYPE = "n1-standard-2"


def vcpus(machine_type: str) -> int:
    """vCPUs of a machine type: the trailing number of `FAMILY-KIND-N` (a2/a3: by GPU count)."""
    tail = machine_type.rsplit("-", 1)[-1]
    if tail.endswith("g") and machine_type[:2] in ("a2", "a3"):
        gpus = int(tail[:-1])
        per_gpu = {"a2-highgpu": 12, "a2-megagpu": 6, "a2-ultragpu": 12}
        return gpus * per_gpu.get(machine_type.rsplit("-", 1)[0], 26)
    return int(tail) if tail.isdigit() else 0


def accelerator_error(machine_type: str, accelerator: str | None, count: int) -> str | None:
    """Why this machine cannot take this accelerator (None: it can)."""
    fixed = FIXED_GPU_MACHINES.get(machine_type)
    if fixed is not None:
        want, want_count = fixed
        if accelerator != want or count != want_count:
            return f"{machine_type} comes with {want_count} x {want}: declare exactly that"
        return None
    if accelerator is None:
        return None
    if not machine_type.startswith("n1-"):
        return f"{machine_type} takes no accelerator (GPUs attach to n1-*, a2-*, a3-*, g2-*)"
    caps = N1_GPU_VCPUS.get(accelerator)
    if caps is None:
        return f"{accelerator} does not attach to n1-* (use one of {', '.join(N1_ACCELERATORS)})"
    if count not in caps:
        offered = ", ".join(str(n) for n in caps)
        return f"{count} x {accelerator} is not offered on n1-* (counts: {offered})"
    if vcpus(machine_type) > caps[count]:
        return (
            f"{machine_type} has {vcpus(machine_type)} vCPUs; with {count} x {accelerator} "
            f"an n1 machine has at most {caps[count]}"
        )
    return None


def duty_cycle_error(metric_names: list[str], accelerator_count: int) -> str | None:
    """DedicatedResources.autoscalingMetricSpecs [DD]: without accelerators "the autoscaling will
    be based on CPU utilization metric only"; a duty-cycle target there is refused [INF]."""
    if GPU_METRIC in metric_names and accelerator_count <= 0:
        return (
            "autoscaling on the accelerator duty cycle needs accelerators; this machine has none "
            "(scale on CPU usage instead)"
        )
    return None


def has_gpu(machine_type: str, accelerator: str | None) -> bool:
    return accelerator is not None or machine_type in FIXED_GPU_MACHINES


PREBUILT_VERSIONS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("1.15", *(f"2.{n}" for n in range(1, 16))),
    "scikit-learn": ("0.20", "0.22", "0.23", "0.24", "1.0", "1.2", "1.3", "1.4", "1.5", "1.6"),
    "xgboost": ("0.82", "0.90", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.0", "2.1"),
    "pytorch": ("1.11", "1.12", "1.13", "2.0", "2.1", "2.2", "2.3", "2.4"),
}
"""Framework versions with a prebuilt serving image (TensorFlow: the runtime_version): the
`*_CONTAINER_URIS` of the SDK's constants/prediction.py (google-cloud-aiplatform 2.7.0;
tests/sdk checks they agree) and [DOCS pre-built-containers]."""
GPU_FRAMEWORKS = frozenset({"tensorflow", "pytorch"})
IMAGE_PREFIX = {
    "tensorflow": "tf2",
    "scikit-learn": "sklearn",
    "xgboost": "xgboost",
    "pytorch": "pytorch",
}
PREBUILT_PREFIX_RE = re.compile(r"^(us|europe|asia)-docker\.pkg\.dev/vertex-ai/prediction/")
IMAGE_RE = re.compile(
    r"^(?P<mirror>us|europe|asia)-docker\.pkg\.dev/vertex-ai/prediction/"
    r"(?P<fw>tf2|tf|sklearn|xgboost|pytorch)-(?P<device>cpu|gpu)\.(?P<version>\d+-\d+):latest$"
)
IMAGE_FRAMEWORKS = {"tf2": "tensorflow", "tf": "tensorflow", "sklearn": "scikit-learn"}
ARTIFACT_FILES: dict[str, tuple[str, ...]] = {
    "tensorflow": ("saved_model.pb", "saved_model.pbtxt"),
    "scikit-learn": ("model.joblib", "model.pkl"),
    "xgboost": ("model.bst", "model.joblib", "model.pkl"),
    "pytorch": ("model.mar",),
}
ONE_MODEL_FILE = frozenset({"scikit-learn", "xgboost"})
"""Prebuilt servers that load one model file by name: the artifact holds exactly one of
ARTIFACT_FILES [DOCS exporting-model-artifacts: "one of these"; refusing two is INF]."""
REGISTRY_RE = re.compile(
    r"^(?:[a-z0-9-]+-docker\.pkg\.dev/[^/\s]+/[^/\s]+/[^\s]+"
    r"|(?:(?:us|eu|asia)\.)?gcr\.io/[^/\s]+/[^\s]+)$"
)
"""ModelContainerSpec.imageUri [DD]: "This URI must identify an image in Artifact Registry or
Container Registry": LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE or
[us.|eu.|asia.]gcr.io/PROJECT/IMAGE."""
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""EnvVar.name [DD]: "Must be a valid C identifier"."""
SERVICE_ACCOUNT_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
"""DeployedModel.serviceAccount [DD]: "Specify the email address of the service account"."""


def _all_prebuilt() -> frozenset[str]:
    images = set()
    for framework, versions in PREBUILT_VERSIONS.items():
        for version in versions:
            for gpu in (False, True):
                for where in ("us", "europe", "asia"):
                    image = prebuilt_image(framework, version, gpu, where)
                    if image is not None:
                        images.add(image)
    return frozenset(images)


def image_error(image_uri: str) -> str | None:
    """Why Vertex AI refuses this `containerSpec.imageUri` (None: it takes it)."""
    if PREBUILT_PREFIX_RE.match(image_uri):
        if image_uri not in PREBUILT_IMAGES:
            return (
                f"{image_uri} is not one of Vertex AI's prebuilt prediction images "
                "(us|europe|asia-docker.pkg.dev/vertex-ai/prediction/FRAMEWORK-cpu|gpu.X-Y:latest "
                "from the documented list)"
            )
        return None
    if not REGISTRY_RE.match(image_uri):
        return (
            f"{image_uri} is not in Artifact Registry (LOCATION-docker.pkg.dev/PROJECT/REPO/"
            "IMAGE) or Container Registry (gcr.io/PROJECT/IMAGE), where Vertex AI pulls "
            "serving images from"
        )
    return None


def mirror(region: str) -> str:
    """Artifact Registry multi-region holding the prebuilt images nearest to `region`."""
    head = region.split("-")[0]
    if head in ("us", "northamerica", "southamerica"):
        return "us"
    if head in ("asia", "australia"):
        return "asia"
    return "europe"


def prebuilt_image(framework: str, version: str, gpu: bool, region: str) -> str | None:
    """The prebuilt serving image URI, or None when none exists for that combination."""
    if version not in PREBUILT_VERSIONS.get(framework, ()):
        return None
    if gpu and framework not in GPU_FRAMEWORKS:
        return None
    prefix = IMAGE_PREFIX[framework]
    if framework == "tensorflow" and version.startswith("1."):
        prefix = "tf"
    device = "gpu" if gpu else "cpu"
    return (
        f"{mirror(region)}-docker.pkg.dev/vertex-ai/prediction/"
        f"{prefix}-{device}.{version.replace('.', '-')}:latest"
    )


def image_framework(image_uri: str) -> str | None:
    """The framework a prebuilt image serves (None: a custom container or an unknown image)."""
    match = IMAGE_RE.match(image_uri)
    if match is None or image_uri not in PREBUILT_IMAGES:
        return None
    fw = match["fw"]
    return IMAGE_FRAMEWORKS.get(fw, fw)


PREBUILT_IMAGES: frozenset[str] = _all_prebuilt()


def alias(version: str) -> str:
    """The registry alias of a manifest version name: `v1_2` -> `v1-2`, `1` -> `v1`."""
    text = re.sub(r"[^a-z0-9-]", "-", version.lower())
    if not text[:1].isalpha():
        text = "v" + text
    return text


# ---- what a project grants (deployer doctor) ---------------------------------------------------
# cloud.google.com/vertex-ai/docs/general/iam-permissions (upload -> aiplatform.models.upload,
# deploy -> aiplatform.endpoints.deploy, create endpoint -> aiplatform.endpoints.create;
# operations are read with the parent's `.get`); mutateDeployedModel and endpoints.patch ->
# aiplatform.endpoints.update, mergeVersionAliases -> aiplatform.models.update, deleteVersion ->
# aiplatform.models.delete [INF]; deploymentResourcePools.list -> aiplatform.deploymentResource
# Pools.list (its REST reference, "IAM Permissions"), .create/.delete alike [INF]. The serving
# agent is named as Google documents the Vertex AI Service Agent [INF: not read from the project].

PLAN_PERMISSIONS = (
    "aiplatform.deploymentResourcePools.list",
    "aiplatform.endpoints.get",
    "aiplatform.endpoints.list",
    "aiplatform.models.get",
    "aiplatform.models.list",
)
APPLY_PERMISSIONS = (
    *PLAN_PERMISSIONS,
    "aiplatform.deploymentResourcePools.create",
    "aiplatform.deploymentResourcePools.delete",
    "aiplatform.endpoints.create",
    "aiplatform.endpoints.delete",
    "aiplatform.endpoints.deploy",
    "aiplatform.endpoints.undeploy",
    "aiplatform.endpoints.update",
    "aiplatform.models.delete",
    "aiplatform.models.update",
    "aiplatform.models.upload",
)
ACCESS = ProjectAccess(
    api="aiplatform.googleapis.com",
    api_title="Vertex AI API",
    plan=PLAN_PERMISSIONS,
    plan_role="roles/aiplatform.viewer",
    apply=APPLY_PERMISSIONS,
    apply_role="roles/aiplatform.user",
    predict="aiplatform.endpoints.predict",
    agent="service-{number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
)
