"""Facts about Vertex AI (`aiplatform` v1) shared by validation, the provider and the local twin.

Sources are tagged in shared/VERTEX-API.md; where the real service is not documented, the
strictest plausible rule is kept here so the twin and the validator refuse the same things.
"""

from __future__ import annotations

import re

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

CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"
GPU_METRIC = "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
METRICS: dict[str, str] = {"CPU_USAGE": CPU_METRIC, "GPU_DUTY_CYCLE": GPU_METRIC}
KNOWN_METRICS: frozenset[str] = frozenset(
    {
        CPU_METRIC,
        GPU_METRIC,
        "aiplatform.googleapis.com/prediction/online/request_count",
        "pubsub.googleapis.com/subscription/num_undelivered_messages",
        "prometheus.googleapis.com/vertex_dcgm_fi_dev_gpu_util",
        "prometheus.googleapis.com/vertex_vllm_gpu_cache_usage_perc",
        "prometheus.googleapis.com/vertex_vllm_num_requests_waiting",
    }
)
DEFAULT_METRIC_TARGET = 60

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
    *_series("e2-standard", (2, 4, 8, 16, 32)),
    *_series("e2-highmem", (2, 4, 8, 16)),
    *_series("e2-highcpu", (2, 4, 8, 16, 32)),
    *_series("n1-standard", (2, 4, 8, 16, 32, 64, 96)),
    *_series("n1-highmem", (2, 4, 8, 16, 32, 64, 96)),
    *_series("n1-highcpu", (4, 8, 16, 32, 64, 96)),
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

N1_ACCELERATORS: tuple[str, ...] = (
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_V100",
)
N1_ACCELERATOR_COUNTS: tuple[int, ...] = (1, 2, 4, 8)

FIXED_GPU_MACHINES: dict[str, tuple[str, int]] = {
    "a2-highgpu-1g": ("NVIDIA_TESLA_A100", 1),
    "a2-highgpu-2g": ("NVIDIA_TESLA_A100", 2),
    "a2-highgpu-4g": ("NVIDIA_TESLA_A100", 4),
    "a2-highgpu-8g": ("NVIDIA_TESLA_A100", 8),
    "a2-ultragpu-1g": ("NVIDIA_A100_80GB", 1),
    "a2-ultragpu-2g": ("NVIDIA_A100_80GB", 2),
    "a2-ultragpu-4g": ("NVIDIA_A100_80GB", 4),
    "a2-ultragpu-8g": ("NVIDIA_A100_80GB", 8),
    "a3-highgpu-8g": ("NVIDIA_H100_80GB", 8),
    "g2-standard-4": ("NVIDIA_L4", 1),
    "g2-standard-8": ("NVIDIA_L4", 1),
    "g2-standard-12": ("NVIDIA_L4", 1),
    "g2-standard-16": ("NVIDIA_L4", 1),
    "g2-standard-24": ("NVIDIA_L4", 2),
    "g2-standard-32": ("NVIDIA_L4", 1),
    "g2-standard-48": ("NVIDIA_L4", 4),
    "g2-standard-96": ("NVIDIA_L4", 8),
}
"""Machines whose GPUs come with the machine: the accelerator must be exactly this."""

MACHINE_TYPES: tuple[str, ...] = (*CPU_MACHINE_TYPES, *FIXED_GPU_MACHINES)
ACCELERATOR_TYPES: tuple[str, ...] = tuple(
    sorted({*N1_ACCELERATORS, *(t for t, _ in FIXED_GPU_MACHINES.values())})
)
DEFAULT_MACHINE_TYPE = "n1-standard-2"


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
    if accelerator not in N1_ACCELERATORS:
        return f"{accelerator} does not attach to n1-* (use one of {', '.join(N1_ACCELERATORS)})"
    if count not in N1_ACCELERATOR_COUNTS:
        return f"accelerator count {count} is not offered on n1-* (use 1, 2, 4 or 8)"
    return None


def has_gpu(machine_type: str, accelerator: str | None) -> bool:
    return accelerator is not None or machine_type in FIXED_GPU_MACHINES


PREBUILT_VERSIONS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("1.15", *(f"2.{n}" for n in range(1, 16))),
    "scikit-learn": ("0.20", "0.22", "0.23", "0.24", "1.0", "1.2", "1.3", "1.4", "1.5", "1.6"),
    "xgboost": ("0.82", "0.90", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.0", "2.1"),
}
"""Framework versions with a prebuilt serving image (TensorFlow: the runtime_version)."""
GPU_FRAMEWORKS = frozenset({"tensorflow"})
IMAGE_PREFIX = {"tensorflow": "tf2", "scikit-learn": "sklearn", "xgboost": "xgboost"}
IMAGE_RE = re.compile(
    r"^(?P<mirror>us|europe|asia)-docker\.pkg\.dev/vertex-ai/prediction/"
    r"(?P<fw>tf2|tf|sklearn|xgboost)-(?P<device>cpu|gpu)\.(?P<version>\d+-\d+):latest$"
)
IMAGE_FRAMEWORKS = {"tf2": "tensorflow", "tf": "tensorflow", "sklearn": "scikit-learn"}
ARTIFACT_FILES: dict[str, tuple[str, ...]] = {
    "tensorflow": ("saved_model.pb", "saved_model.pbtxt"),
    "scikit-learn": ("model.joblib", "model.pkl"),
    "xgboost": ("model.bst", "model.joblib", "model.pkl"),
}


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
    """The framework a prebuilt image serves (None: a custom container)."""
    match = IMAGE_RE.match(image_uri)
    if match is None:
        return None
    fw = match["fw"]
    return IMAGE_FRAMEWORKS.get(fw, fw)


def alias(version: str) -> str:
    """The registry alias of a manifest version name: `v1_2` -> `v1-2`, `1` -> `v1`."""
    text = re.sub(r"[^a-z0-9-]", "-", version.lower())
    if not text[:1].isalpha():
        text = "v" + text
    return text
