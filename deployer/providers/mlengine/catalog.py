"""Facts about AI Platform Prediction (`ml` v1) that more than one part of deployer relies on.

The manifest validator rejects what the service would refuse before any API call is made, and
the local twin refuses the same things the same way; keeping the facts in one module keeps the
two from drifting apart.
"""

from __future__ import annotations

import re

from deployer.core.backend import ProjectAccess

GLOBAL = "global"

REGIONAL_ENDPOINTS: tuple[str, ...] = (
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
    "northamerica-northeast1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "asia-east1",
    "asia-northeast1",
    "asia-southeast1",
    "australia-southeast1",
)
ENDPOINTS: tuple[str, ...] = (GLOBAL, *REGIONAL_ENDPOINTS)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64

FRAMEWORKS: dict[str, str] = {
    "tensorflow": "TENSORFLOW",
    "scikit-learn": "SCIKIT_LEARN",
    "xgboost": "XGBOOST",
}
API_FRAMEWORKS = frozenset(FRAMEWORKS.values())

RUNTIME_VERSIONS: tuple[str, ...] = (
    "1.15",
    "2.1",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.7",
    "2.8",
    "2.11",
)
PYTHON_VERSIONS: tuple[str, ...] = ("3.7",)
DEFAULT_PYTHON_VERSION = "3.7"
"""What a version without `python_version` runs with."""

GLOBAL_MACHINE_TYPES: tuple[str, ...] = ("mls1-c1-m2", "mls1-c4-m2")
N1_FAMILIES: tuple[str, ...] = ("n1-standard", "n1-highmem", "n1-highcpu")
N1_CPUS: tuple[int, ...] = (2, 4, 8, 16, 32)
REGIONAL_MACHINE_TYPES: tuple[str, ...] = tuple(
    f"{family}-{cpus}" for family in N1_FAMILIES for cpus in N1_CPUS
)
DEFAULT_MACHINE_TYPE = {GLOBAL: "mls1-c1-m2", "regional": "n1-standard-2"}

ACCELERATOR_TYPES: tuple[str, ...] = (
    "NVIDIA_TESLA_K80",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_V100",
)
SCALING_METRICS: tuple[str, ...] = ("CPU_USAGE", "GPU_DUTY_CYCLE")

MAX_CONCURRENT_VERSION_OPS = 10
MAX_REQUESTS_PER_MINUTE = 300
"""ml v1 management requests (get, list, create, ...) per project and minute."""
MAX_MODELS_PER_PROJECT = 100
MAX_VERSIONS_PER_PROJECT = 200

LABEL_MANAGED_BY = "managed-by"
LABEL_MANAGED_BY_VALUE = "deployer"
LABEL_STACK = "deployer-stack"
LABEL_SPEC = "deployer-spec"
LABEL_PROTECT = "deployer-protect"
RESERVED_LABELS = frozenset({LABEL_MANAGED_BY, LABEL_STACK, LABEL_SPEC, LABEL_PROTECT})


def is_regional(endpoint: str) -> bool:
    return endpoint != GLOBAL


def machine_types_for(endpoint: str) -> tuple[str, ...]:
    return GLOBAL_MACHINE_TYPES if endpoint == GLOBAL else REGIONAL_MACHINE_TYPES


def is_n1(machine_type: str) -> bool:
    return machine_type.startswith("n1-")


MAX_ARTIFACT_FILES = 1000
"""Files a version's deploymentUri may hold."""
MAX_ARTIFACT_BYTES = {"mls1": 500 * 1024**2, "n1": 10 * 1024**3}
"""Artifact size a version may have, by machine family."""


def max_artifact_bytes(machine_type: str) -> int:
    return MAX_ARTIFACT_BYTES["n1" if is_n1(machine_type) else "mls1"]


def python_versions_for(runtime_version: str) -> tuple[str, ...]:
    """Python versions the service accepts with a runtime (every listed runtime means 3.7)."""
    return PYTHON_VERSIONS if runtime_version in RUNTIME_VERSIONS else ()


MAX_PREDICT_BYTES = 1_572_864
"""An online prediction request is at most 1.5 MiB as sent (ml v1 :predict)."""


# ---- what a project grants (deployer doctor) ---------------------------------------------------
# cloud.google.com/iam/docs/roles-permissions/ml (ml.models.*, ml.versions.*, ml.operations.get);
# the serving agent is named as Google documents the AI Platform service agent [INF].

PLAN_PERMISSIONS = ("ml.models.get", "ml.models.list", "ml.versions.get", "ml.versions.list")
APPLY_PERMISSIONS = (
    *PLAN_PERMISSIONS,
    "ml.models.create",
    "ml.models.delete",
    "ml.models.update",
    "ml.operations.get",
    "ml.versions.create",
    "ml.versions.delete",
    "ml.versions.update",
)
ACCESS = ProjectAccess(
    api="ml.googleapis.com",
    api_title="AI Platform Training & Prediction API",
    plan=PLAN_PERMISSIONS,
    plan_role="roles/ml.viewer",
    apply=APPLY_PERMISSIONS,
    apply_role="roles/ml.developer",
    predict="ml.versions.predict",
    agent="service-{number}@cloud-ml.google.com.iam.gserviceaccount.com",
)
