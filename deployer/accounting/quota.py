"""Whether a region's serving quota holds a plan's peak (Vertex AI).

Vertex AI charges "custom model serving" quota per project and region at `maxReplicaCount`
(shared/VERTEX-API.md, [DOCS autoscaling]): the peak at max replicas must fit in what the quota
leaves free once the deployments this stack does not manage are counted. Each check names the
quota metric, the region, what is asked and what is free, so a plan can refuse before any write.

Quota metrics (Service Usage `consumerQuotaMetrics` of `aiplatform.googleapis.com`, limit unit
`1/{project}/{region}`): `custom_model_serving_cpus` for vCPUs, and one
`custom_model_serving_nvidia_<gpu>_gpus` per GPU type, named as in a Vertex AI Model Garden
notebook helper (`get_resource_id`: t4, v100, l4, a100, a100_80gb) and a billing write-up
(h100). Sources for the rest [INF, same pattern]. Every vCPU counts against
`custom_model_serving_cpus`, whatever the machine series [INF: the strictest reading; per-series
serving CPU metrics, where a project has them, are not consulted].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deployer.accounting.footprint import Resources
from deployer.core.errors import DeployerError

SERVICE = "aiplatform.googleapis.com"
SERVING_PREFIX = f"{SERVICE}/custom_model_serving_"
CPUS = f"{SERVING_PREFIX}cpus"
GPU_METRICS: dict[str, str] = {
    "NVIDIA_TESLA_T4": f"{SERVING_PREFIX}nvidia_t4_gpus",
    "NVIDIA_TESLA_V100": f"{SERVING_PREFIX}nvidia_v100_gpus",
    "NVIDIA_TESLA_P100": f"{SERVING_PREFIX}nvidia_p100_gpus",
    "NVIDIA_TESLA_P4": f"{SERVING_PREFIX}nvidia_p4_gpus",
    "NVIDIA_TESLA_K80": f"{SERVING_PREFIX}nvidia_k80_gpus",
    "NVIDIA_TESLA_A100": f"{SERVING_PREFIX}nvidia_a100_gpus",
    "NVIDIA_A100_80GB": f"{SERVING_PREFIX}nvidia_a100_80gb_gpus",
    "NVIDIA_L4": f"{SERVING_PREFIX}nvidia_l4_gpus",
    "NVIDIA_H100_80GB": f"{SERVING_PREFIX}nvidia_h100_gpus",
}
QUOTAS_PAGE = "https://console.cloud.google.com/iam-admin/quotas"

Limits = Mapping[tuple[str, str], int | None]
"""(metric, region) -> the effective limit; None: unlimited. A missing key: not known."""


def full_metric(name: str) -> str:
    """`custom_model_serving_cpus` -> `aiplatform.googleapis.com/custom_model_serving_cpus`."""
    return name if "/" in name else f"{SERVICE}/{name}"


def demands(resources: Resources) -> dict[str, float]:
    """What `resources` asks of each quota metric (a GPU type without a known metric is asked
    of `..._<type>_gpus`, which then has no limit to check against)."""
    asked: dict[str, float] = {}
    if resources.vcpus:
        asked[CPUS] = resources.vcpus
    for kind, count in resources.gpus.items():
        if count:
            metric = GPU_METRICS.get(kind, f"{SERVING_PREFIX}{kind.lower()}_gpus")
            asked[metric] = asked.get(metric, 0) + count
    return asked


@dataclass(frozen=True)
class QuotaCheck:
    """One quota metric in one region: the limit, what others use, what is free, what the plan
    asks at its peak and what this stack holds before it. `limit` None with `known` true:
    unlimited; `known` false: not read.

    A plan that asks no more than the stack already holds needs no new quota (the service checks
    quota when it deploys, never when it deletes), so it holds even under a lowered limit."""

    metric: str
    region: str
    asked: float
    limit: int | None
    used_by_others: float
    known: bool = True
    held: float = 0.0

    @property
    def free(self) -> float | None:
        if not self.known or self.limit is None:
            return None
        return max(0.0, self.limit - self.used_by_others)

    @property
    def ok(self) -> bool:
        free = self.free
        return free is None or self.asked <= free or self.asked <= self.held

    @property
    def short_metric(self) -> str:
        return self.metric.removeprefix(f"{SERVICE}/")

    def problem(self, who: str = "the plan needs", when: str = "at its peak (max replicas)") -> str:
        return (
            f"quota {self.metric} in {self.region}: {who} {_n(self.asked)} {when}, "
            f"{_n(self.free or 0)} free (limit {_n(self.limit or 0)}, "
            f"{_n(self.used_by_others)} used by deployments this stack does not manage)"
        )

    def fix(self) -> str:
        return f"request more at {QUOTAS_PAGE}?metric={self.metric} or lower max_nodes"

    def line(self) -> str:
        """The error line of a check that does not hold."""
        return f"{self.problem()}; {self.fix()}"


def _n(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def check_quota(
    peaks: Mapping[str, Resources],
    limits: Limits,
    used_by_others: Mapping[str, Resources] | None = None,
    held: Mapping[str, Resources] | None = None,
) -> list[QuotaCheck]:
    """One check per (metric, region) the peaks ask of; `peaks` are at max replicas, `held`
    what the stack holds before the plan (at max replicas)."""
    used_by_others = used_by_others or {}
    held = held or {}
    checks: list[QuotaCheck] = []
    for region, peak in sorted(peaks.items()):
        others = demands(used_by_others.get(region, Resources()))
        ours = demands(held.get(region, Resources()))
        for metric, asked in sorted(demands(peak).items()):
            key = (metric, region)
            checks.append(
                QuotaCheck(
                    metric,
                    region,
                    asked,
                    limits.get(key),
                    others.get(metric, 0.0),
                    known=key in limits,
                    held=ours.get(metric, 0.0),
                )
            )
    return checks


class QuotaExceeded(DeployerError):
    """A plan whose peak does not fit in a region's free serving quota."""

    def __init__(self, failed: list[QuotaCheck]) -> None:
        lines = [c.line() for c in failed]
        more = f" (and {len(lines) - 1} more: {'; '.join(lines[1:])})" if len(lines) > 1 else ""
        super().__init__(f"{lines[0]}{more}")
        self.failed = failed


def require_quota(checks: list[QuotaCheck]) -> None:
    """Raise QuotaExceeded naming every check that does not hold."""
    failed = [c for c in checks if not c.ok]
    if failed:
        raise QuotaExceeded(failed)
