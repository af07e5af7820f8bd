"""Whether a region's serving quota holds a plan's peak.

A service that charges serving quota per project and region (Vertex AI, at `maxReplicaCount`:
shared/VERTEX-API.md, [DOCS autoscaling]) refuses a deploy whose replicas do not fit in what the
quota leaves free once the deployments this stack does not manage are counted. The provider says
which metrics a deployment draws on (`Demands`); this module checks each (metric, region) and
names the metric, the region, what is asked and what is free, so a plan can refuse before any
write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from deployer.accounting.footprint import Resources
from deployer.core.errors import DeployerError

QUOTAS_PAGE = "https://console.cloud.google.com/iam-admin/quotas"

Limits = Mapping[tuple[str, str], int | None]
"""(metric, region) -> the effective limit; None: unlimited. A missing key: not known."""
Demands = Callable[[Resources], Mapping[str, float]]
"""What replicas holding `Resources` ask of each quota metric (the provider's mapping)."""


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
        return self.metric.rsplit("/", 1)[-1]

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
    demands: Demands,
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
