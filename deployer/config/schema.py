"""The manifest format (DESIGN.md section 3) as pydantic models.

These models check structure and types. Rules that need more than one field, more than one file,
or the file system live in `rules.py`, where each problem can point at its exact position.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from deployer import catalog

Framework = Literal["tensorflow", "scikit-learn", "xgboost"]
Labels = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class ScalingMetric(_Strict):
    name: Literal["CPU_USAGE", "GPU_DUTY_CYCLE"]
    target: int = Field(description="Target utilization in percent, 0-100.")


class AutoScaling(_Strict):
    """Nodes scale between min_nodes and max_nodes with traffic."""

    mode: Literal["auto"]
    min_nodes: int | None = Field(
        default=None,
        ge=0,
        description="Default: 0 on mls1-* machines, 1 on n1-* machines (which cannot scale to 0).",
    )
    max_nodes: int | None = Field(default=None, ge=1)
    metrics: tuple[ScalingMetric, ...] = ()


class ManualScaling(_Strict):
    """A fixed number of nodes."""

    mode: Literal["manual"]
    nodes: int = Field(ge=1)


Scaling = Annotated[AutoScaling | ManualScaling, Field(discriminator="mode")]


class Accelerator(_Strict):
    type: Literal[catalog.ACCELERATOR_TYPES]  # type: ignore[valid-type]
    count: int = Field(default=1, ge=1)


class RequestLogging(_Strict):
    bigquery_table: str = Field(description="PROJECT.DATASET.TABLE receiving sampled requests.")
    sampling_percentage: float = Field(default=1.0, ge=0, le=1)


class VersionSpec(_Strict):
    name: str
    artifact: str = Field(
        description="A local SavedModel directory (relative to this file) or a gs:// URI."
    )
    framework: Framework = "tensorflow"
    runtime_version: str
    python_version: str = "3.7"
    machine_type: str | None = Field(
        default=None, description="Default: mls1-c1-m2 on global, n1-standard-2 on regions."
    )
    accelerator: Accelerator | None = None
    scaling: Scaling | None = Field(default=None, description="Default: auto scaling.")
    description: str = ""
    labels: Labels = Field(default_factory=dict)
    request_logging: RequestLogging | None = None
    prediction_class: str | None = None
    package_uris: tuple[str, ...] = ()
    service_account: str | None = None


class ModelSpec(_Strict):
    name: str
    description: str = ""
    regions: tuple[str, ...] | None = Field(
        default=None, description="Endpoints serving this model; default: the settings' region."
    )
    labels: Labels = Field(default_factory=dict)
    online_prediction_logging: bool = False
    console_logging: bool = False
    protect: bool = Field(default=False, description="Never delete this model or its default.")
    default_version: str | None = None
    versions: tuple[VersionSpec, ...] = ()


class ModelFile(_Strict):
    """A model file: any *.yaml / *.yml under the manifests directory except deployer.yaml."""

    models: tuple[ModelSpec, ...]


class Environment(_Strict):
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Settings(_Strict):
    """deployer.yaml: where and as what the stack is deployed."""

    stack: str | None = Field(default=None, description="Ownership scope; default: dir name.")
    project: str
    artifacts: str = Field(description="gs://BUCKET[/PREFIX] receiving local artifacts.")
    region: str = "us-central1"
    labels: Labels = Field(default_factory=dict)
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)
    environments: dict[str, Environment] = Field(default_factory=dict)
