"""The twin's serving quota: one table that Service Usage reports and deploys are charged
against, so a plan that reads the quota and an apply that hits it see the same limits.

Limits per metric and region: the `quotas` knob's region, else its "*", else the twin's default
(`fixtures.DEFAULT_LIMITS`; -1 means unlimited). Use is what a project's deployments in the
region hold at `maxReplicaCount` ("Vertex AI charges quota against maxReplicaCount", shared/
VERTEX-API.md [DOCS autoscaling]): vCPUs against `custom_model_serving_cpus`, GPUs against the
metric of their type (`deployer.providers.vertex.quota.demands`, the same mapping deployer's plan
uses). A deploy or scale-up past a limit fails inside its operation with RESOURCE_EXHAUSTED,
worded as the service words quota failures (vertex-ai-samples#700, #3479: "The following quota
metrics exceed quota limits: aiplatform.googleapis.com/..."); the amounts after the metric are
the twin's [INF].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployer.accounting.footprint import Deployment, Resources
from deployer.emulator.knobs import Knobs
from deployer.emulator.project import fixtures
from deployer.emulator.project_knobs import ANY_REGION
from deployer.providers.vertex import footprint
from deployer.providers.vertex.quota import demands, full_metric

UNLIMITED = -1


def overrides(knobs: Knobs) -> dict[str, dict[str, int]]:
    """The `quotas` knob with full metric names."""
    return {full_metric(k): dict(v) for k, v in knobs.quotas.items()}


def limit(knobs: Knobs, metric: str, region: str) -> int:
    """The effective limit of `metric` in `region` (-1: unlimited), as Service Usage reports."""
    override = overrides(knobs).get(full_metric(metric), {})
    default = fixtures.DEFAULT_LIMITS.get(full_metric(metric), 0)
    return override.get(region, override.get(ANY_REGION, default))


def deployment(region: str, resources: Mapping[str, Any]) -> Deployment:
    """A deployed model's `dedicatedResources` as accounting data."""
    return footprint.deployment(region, "", "", resources)


def refusal(
    knobs: Knobs, region: str, resources: Mapping[str, Any], others: Iterable[Mapping[str, Any]]
) -> str | None:
    """Why a deployment with `resources` does not fit beside `others` (the `dedicatedResources`
    of every other deployment of the project in `region`), or None when it fits."""
    wanted = deployment(region, resources)
    used = Resources()
    for other in others:
        used = used + deployment(region, other).at_max()
    in_use = demands(used)
    for metric, asked in sorted(demands(wanted.at_max()).items()):
        cap = limit(knobs, metric, region)
        held = in_use.get(metric, 0.0)
        if cap == UNLIMITED or held + asked <= cap:
            continue
        return (
            f"The following quota metrics exceed quota limits: {metric}: asked for "
            f"{_what(metric, asked, wanted)} with {_n(held)} of {cap} in use in {region}."
        )
    return None


def _what(metric: str, asked: float, wanted: Deployment) -> str:
    count = wanted.max_replicas or 0
    if metric.endswith("_cpus") and "gpu" not in metric:
        each = wanted.replica().vcpus
        return (
            f"{_n(asked)} CPUs ({count} x {wanted.machine_type}, {_n(each)} vCPUs each, "
            "charged at maxReplicaCount)"
        )
    gpus = wanted.replica().gpus
    kind = next(iter(gpus), "GPU")
    return (
        f"{_n(asked)} {kind} GPUs ({count} x {gpus.get(kind, 0)} per replica, charged at "
        "maxReplicaCount)"
    )


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
