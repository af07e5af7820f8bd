"""Everything a plan says about resources and money, in one value: footprint per region with the
quota the peak needs, and the monthly cost. The planner builds it once (`account`), the
renderers only read it (`to_json` for the JSON plan, `lines` for text, `cost_line` for the
first line of a pull-request comment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deployer.accounting.cost import Cost, cost, cost_line, money
from deployer.accounting.footprint import (
    Deployment,
    PlanFootprint,
    Resources,
    Rollout,
    footprint,
)
from deployer.accounting.prices import PriceBook
from deployer.accounting.quota import Limits, QuotaCheck, check_quota, region_quota_json


@dataclass(frozen=True)
class Accounting:
    footprint: PlanFootprint
    quota: tuple[QuotaCheck, ...] = ()
    """Empty when the backend has no serving quota to check or the quotas were not read."""
    cost: Cost | None = None
    """None when no prices were looked up."""
    notes: tuple[str, ...] = ()

    @property
    def quota_failures(self) -> tuple[QuotaCheck, ...]:
        return tuple(c for c in self.quota if not c.ok)

    def resources_json(self) -> dict[str, Any]:
        """Per region: `before`, `after`, `peak` (each at min and max) and `quota`."""
        doc: dict[str, Any] = {}
        for region, each in sorted(self.footprint.regions.items()):
            doc[region] = {
                **each.to_json(),
                "quota": region_quota_json(list(self.quota), region),
            }
        return doc

    def to_json(self) -> dict[str, Any]:
        return {
            "resources": self.resources_json(),
            "resources_by_model": {
                m: f.to_json() for m, f in sorted(self.footprint.models.items())
            },
            "cost": self.cost.to_json() if self.cost is not None else None,
        }

    def cost_line(self) -> str | None:
        if self.cost is None:
            return None
        return cost_line(self.cost.total, self.cost.currency, self.cost.unknown)

    def lines(self) -> list[str]:
        """Plain text for the text and Markdown plans (one line per region, then the cost)."""
        out: list[str] = []
        for region, each in sorted(self.footprint.regions.items()):
            text = (
                f"{region}: {each.before.at_min.describe()} -> {each.after.at_min.describe()} "
                f"at min replicas; up to {each.after.at_max.describe()} at max; "
                f"peak while applying {each.peak.at_max.describe()}"
            )
            checks = [c for c in self.quota if c.region == region]
            if checks:
                text += "; quota " + ", ".join(
                    f"{c.short_metric} {'unlimited' if c.free is None else f'{c.free:g} free'}"
                    for c in checks
                )
            out.append(text)
        line = self.cost_line()
        if line is not None and self.cost is not None:
            out.append(line)
            out.append(f"prices: {self.cost.source}")
            for name, change in sorted(self.cost.models.items()):
                before, after = change.before.at_min, change.after.at_min
                if before != after:
                    shown = [
                        "unknown" if v is None else f"{money(v, self.cost.currency)}/mo"
                        for v in (before, after)
                    ]
                    out.append(f"  {name}: {shown[0]} -> {shown[1]}")
        out.extend(self.notes)
        return out


def account(
    backend: str,
    before: Iterable[Deployment],
    after: Iterable[Deployment],
    rollouts: Mapping[tuple[str, str, str], Rollout] | None = None,
    *,
    book: PriceBook | None = None,
    limits: Limits | None = None,
    used_by_others: Mapping[str, Resources] | None = None,
) -> Accounting:
    """The plan's accounting. `limits` None: no quota check (e.g. `mlengine`); `book` None: no
    cost. Quota is checked against the peak at max replicas."""
    old, new = list(before), list(after)
    plan = footprint(old, new, rollouts)
    checks: tuple[QuotaCheck, ...] = ()
    if limits is not None:
        peaks = {r: f.peak.at_max for r, f in plan.regions.items()}
        checks = tuple(check_quota(peaks, limits, used_by_others))
    priced = cost(backend, old, new, book) if book is not None else None
    notes: tuple[str, ...] = ()
    if plan.unknown_machine_types:
        notes = (
            "machine types without a known shape (not counted): "
            + ", ".join(plan.unknown_machine_types),
        )
    return Accounting(plan, checks, priced, notes)
