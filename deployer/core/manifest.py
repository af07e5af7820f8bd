"""The manifest format (DESIGN.md section 3) as pydantic models: what a user declares.

These models check structure and types. Rules that need more than one field, more than one file,
or the file system live in `deployer.config.rules` (every backend) and in each backend's
manifest rules, where each problem can point at its exact position.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from deployer.core.sensitive import Sensitive

Framework = Literal["tensorflow", "scikit-learn", "xgboost"]
Labels = dict[str, str]

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
"""Model and version names."""
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64
"""Google Cloud's label rules, the same on every service deployer writes to."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


Duration = StrictInt | str
"""Seconds, written `600` or `600s`."""


class ScalingMetric(_Strict):
    name: Literal["CPU_USAGE", "GPU_DUTY_CYCLE", "REQUEST_COUNT"]
    target: int = Field(
        description="CPU_USAGE and GPU_DUTY_CYCLE: utilization in percent, 1-100; "
        "REQUEST_COUNT (vertex only): requests per minute per node.",
    )


class ScaleToZero(_Strict):
    """vertex, with `preview: true` in deployer.yaml: how a deployment with min_nodes: 0
    scales to zero and back (v1beta1 `scaleToZeroSpec`)."""

    idle_scaledown: Duration | None = Field(
        default=None, description="Idle time before scaling to zero, 300s-28800s."
    )
    min_scaleup: Duration | None = Field(
        default=None, description="Least time scaled up before scaling down again, 300s-28800s."
    )
    initial_nodes: int = Field(
        default=1, ge=1, description="Nodes started when requests arrive at zero; <= max_nodes."
    )


class AutoScaling(_Strict):
    """Nodes scale between min_nodes and max_nodes with traffic."""

    mode: Literal["auto"]
    min_nodes: int | None = Field(
        default=None,
        ge=0,
        description="Default: 0 on mls1-* machines, 1 on n1-* machines (which cannot scale to 0) "
        "and on vertex (where 0 needs `preview: true`).",
    )
    max_nodes: int | None = Field(default=None, ge=1)
    metrics: tuple[ScalingMetric, ...] = ()
    scale_to_zero: ScaleToZero | None = Field(
        default=None, description="vertex, with min_nodes: 0 (preview): scale-to-zero timing."
    )


class ManualScaling(_Strict):
    """A fixed number of nodes."""

    mode: Literal["manual"]
    nodes: int = Field(ge=1)


Scaling = Annotated[AutoScaling | ManualScaling, Field(discriminator="mode")]


class Accelerator(_Strict):
    type: str = Field(
        description="GPU type (e.g. NVIDIA_TESLA_T4); which ones a machine takes depends on "
        "the backend.",
    )
    count: int = Field(default=1, ge=1)


class RequestLogging(_Strict):
    bigquery_table: str = Field(description="PROJECT.DATASET.TABLE receiving sampled requests.")
    sampling_percentage: float = Field(default=1.0, ge=0, le=1)


class Rollout(_Strict):
    """vertex: how a version whose deployment must change is rolled out."""

    strategy: Literal["blue-green", "rolling"] = Field(
        default="blue-green",
        description="blue-green: a second deployment takes the traffic before the first goes "
        "(twice the nodes for a while); rolling (preview): the service replaces nodes in place, "
        "for versions too large to run twice.",
    )
    max_surge: StrictInt | str | None = Field(
        default=None, description="rolling: extra nodes allowed, a count or 'N%'."
    )
    max_unavailable: StrictInt | str | None = Field(
        default=None, description="rolling: nodes allowed down at once, a count or 'N%'."
    )


class PrivateServiceConnect(_Strict):
    """A Private Service Connect endpoint: reached from the allowed projects' networks only."""

    project_allowlist: tuple[str, ...] = Field(
        default=(), description="Projects that may connect (the endpoint's own project may)."
    )


class EndpointSpec(_Strict):
    """vertex: the endpoint serving every version of the model in each region."""

    dedicated: bool = Field(
        default=False,
        description="A dedicated public endpoint: its own DNS name (the shared regional host no "
        "longer answers for it), larger payloads, inference_timeout.",
    )
    inference_timeout: Duration | None = Field(
        default=None,
        description="Seconds a prediction may take, up to 3600; dedicated or Private Service "
        "Connect endpoints only (others allow 60 s).",
    )
    private_service_connect: PrivateServiceConnect | None = Field(
        default=None, description="Private access through Private Service Connect."
    )
    network: str | None = Field(
        default=None,
        description="Not supported (VPC peering serves one model without a traffic split); "
        "use private_service_connect.",
    )
    request_logging: RequestLogging | None = Field(
        default=None, description="Request-response logging to BigQuery."
    )
    display_name: str | None = Field(default=None, description="Default: the model's name.")
    labels: Labels = Field(default_factory=dict, description="Labels of the endpoint only.")


class EnvValue(_Strict):
    """An environment variable written out: its value and whether plans may show it."""

    value: str
    sensitive: bool = Field(
        default=True, description="false: plans show the value (env values are hidden by default)."
    )


class ArgValue(_Strict):
    """A command-line argument written out, to hide it in plans."""

    value: str
    sensitive: bool = Field(default=True, description="true: plans show (sensitive value).")


class Container(_Strict):
    """A custom serving image (vertex only), instead of the prebuilt image for the framework.

    Env values are sensitive unless written `{value: V, sensitive: false}`, args are shown
    unless written `{value: V, sensitive: true}`; a value using a variable listed in
    `sensitive_vars` is always sensitive. After validation `env` and `args` hold plain strings,
    the sensitive ones as `deployer.core.sensitive.Sensitive`."""

    image_uri: str = Field(description="The serving image, e.g. us-docker.pkg.dev/P/R/IMAGE:TAG.")
    predict_route: str | None = Field(
        default=None, description="HTTP path the server answers predictions on."
    )
    health_route: str | None = Field(
        default=None, description="HTTP path the server answers health checks on."
    )
    env: dict[str, str | EnvValue] = Field(
        default_factory=dict,
        description="Environment variables: {NAME: VALUE} (sensitive: plans show "
        "'(sensitive value)'), or {NAME: {value: VALUE, sensitive: false}}.",
    )
    ports: tuple[int, ...] = Field(default=(), description="Ports the server listens on.")
    command: tuple[str, ...] = Field(default=(), description="Overrides the image's ENTRYPOINT.")
    args: tuple[str | ArgValue, ...] = Field(
        default=(),
        description="Overrides the image's CMD; an argument written {value: V, sensitive: true} "
        "is hidden in plans.",
    )

    @model_validator(mode="after")
    def _plain_values(self) -> Container:
        env = {
            name: (
                (Sensitive(v.value) if v.sensitive else v.value)
                if isinstance(v, EnvValue)
                else Sensitive(v)
            )
            for name, v in self.env.items()
        }
        args = tuple(
            (Sensitive(a.value) if a.sensitive else a.value) if isinstance(a, ArgValue) else a
            for a in self.args
        )
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "args", args)
        return self


class SmokeTest(_Strict):
    """Requests sent to a version before it becomes the default (or gets traffic)."""

    instances: str = Field(
        description="A JSON Lines file (relative to this manifest): one instance per line."
    )
    expect: str | None = Field(
        default=None,
        description="A JSON Lines file of the expected predictions, one per instance; without "
        "it any successful answer passes.",
    )
    tolerance: float = Field(
        default=1e-4, ge=0, description="Largest absolute difference allowed between numbers."
    )


class VersionSpec(_Strict):
    name: str
    artifact: str | None = Field(
        default=None,
        description="A local SavedModel directory (relative to this file) or a gs:// URI. "
        "Required, except on vertex with a 'container'.",
    )
    framework: Framework = "tensorflow"
    runtime_version: str | None = Field(
        default=None,
        description="Runtime version (mlengine); on vertex the TensorFlow version of the "
        "prebuilt image. Required, except on vertex with a 'container' or for scikit-learn "
        "and XGBoost.",
    )
    python_version: str | None = Field(
        default=None,
        description="mlengine only (default: 3.7); ignored with a warning on vertex.",
    )
    framework_version: str | None = Field(
        default=None,
        description="vertex only: the scikit-learn or XGBoost version of the prebuilt image "
        "(required for those frameworks unless a 'container' is given).",
    )
    container: Container | None = Field(
        default=None,
        description="vertex only: a custom serving image; runtime_version and "
        "framework_version are then not needed.",
    )
    deployed: bool = Field(
        default=True,
        description="vertex only: false keeps the version registered but not served.",
    )
    machine_type: str | None = Field(
        default=None,
        description="Default: mls1-c1-m2 on global, n1-standard-2 on regions and on vertex.",
    )
    accelerator: Accelerator | None = None
    scaling: Scaling | None = Field(default=None, description="Default: auto scaling.")
    description: str = ""
    labels: Labels = Field(default_factory=dict)
    request_logging: RequestLogging | None = None
    prediction_class: str | None = None
    package_uris: tuple[str, ...] = ()
    service_account: str | None = Field(
        default=None,
        description="Service account the version runs as (on vertex: the deployed model's).",
    )
    smoke_test: SmokeTest | None = Field(
        default=None,
        description="Checked by apply before the version becomes the default or gets traffic; "
        "on failure the default and the traffic stay where they were.",
    )
    spot: bool = Field(
        default=False, description="vertex only: run on Spot VMs (cheaper, may be preempted)."
    )
    rollout: Rollout | None = Field(
        default=None, description="vertex only: how a change of its deployment is rolled out."
    )
    resource_pool: str | None = Field(
        default=None,
        description="vertex only: deploy on this shared pool of deployer.yaml's resource_pools "
        "(then no machine_type, accelerator, scaling or spot here).",
    )


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
    traffic: dict[str, StrictInt] | None = Field(
        default=None,
        description="vertex only: {VERSION: PERCENT} over deployed versions, integers summing "
        "to 100; default: 100 to default_version.",
    )
    endpoint: EndpointSpec | None = Field(
        default=None, description="vertex only: settings of the model's endpoint."
    )
    versions: tuple[VersionSpec, ...] = ()


class ModelFile(_Strict):
    """A model file: any *.yaml / *.yml under the manifests directory except deployer.yaml."""

    models: tuple[ModelSpec, ...]


class Environment(_Strict):
    backend: str | None = Field(
        default=None, description="Overrides the settings' backend in this environment."
    )
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)


class PoolScaling(_Strict):
    min_nodes: int = Field(default=1, ge=1)
    max_nodes: int | None = Field(default=None, ge=1, description="Default: min_nodes.")
    metrics: tuple[ScalingMetric, ...] = ()


class ResourcePool(_Strict):
    """vertex: nodes several small models' versions share (a deployment resource pool)."""

    name: str = Field(description="Lowercase letters, digits and '-', starting with a letter.")
    region: str | None = Field(default=None, description="Default: the settings' region.")
    machine_type: str | None = Field(default=None, description="Default: n1-standard-2.")
    accelerator: Accelerator | None = None
    scaling: PoolScaling | None = None


class Settings(_Strict):
    """deployer.yaml: where and as what the stack is deployed."""

    stack: str | None = Field(default=None, description="Ownership scope; default: dir name.")
    project: str
    artifacts: str = Field(description="gs://BUCKET[/PREFIX] receiving local artifacts.")
    backend: str | None = Field(
        default=None,
        description="The backend the stack deploys to; environments may override it.",
    )
    region: str = "us-central1"
    labels: Labels = Field(default_factory=dict)
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)
    sensitive_vars: tuple[str, ...] = Field(
        default=(),
        description="Variables whose values plans, logs and messages never show (`--var` values "
        "from CI secrets, say); they may be used in container env and args values only.",
    )
    environments: dict[str, Environment] = Field(default_factory=dict)
    preview: bool = Field(
        default=False,
        description="vertex: allow Vertex AI preview features (v1beta1): scale to zero "
        "(min_nodes: 0) and rolling updates.",
    )
    resource_pools: tuple[ResourcePool, ...] = Field(
        default=(), description="vertex: shared deployment resource pools, per region."
    )
    prices: str | None = Field(
        default=None,
        description="A YAML file of hourly prices (relative to deployer.yaml) that plans price "
        "deployments with instead of the Cloud Billing Catalog.",
    )
