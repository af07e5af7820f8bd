"""Everything a plan says about resources and money, in one value: footprint per region with the
quota its peak needs, and the monthly cost. The application layer builds it once (`account`)
and records it in the plan as the core's neutral `Usage` and `Cost` (`usage`, `plan_cost`),
which the renderers print and the JSON plan carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from deployer.accounting.cost import Cost, CostChange, cost
from deployer.accounting.footprint import (
    Deployment,
    Footprint,
    PlanFootprint,
    Resources,
    Rollout,
    Span,
    footprint,
)
from deployer.accounting.prices import PriceBook
from deployer.accounting.quota import Demands, Limits, QuotaCheck, check_quota
from deployer.core import plan as record


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

    def usage(self) -> record.Usage:
        """The footprint as the plan records it, each region with its quota checks."""
        regions = {
            region: _footprint(each, [c for c in self.quota if c.region == region])
            for region, each in sorted(self.footprint.regions.items())
        }
        models = {m: _footprint(f) for m, f in sorted(self.footprint.models.items())}
        return record.Usage(regions, models, self.notes)

    def plan_cost(self) -> record.Cost | None:
        """The cost as the plan records it (None when nothing was priced)."""
        if self.cost is None:
            return None
        found = self.cost
        return record.Cost(
            currency=found.currency,
            source=found.source,
            as_of=found.as_of,
            total=_monthly(found.total),
            models={m: _monthly(c) for m, c in sorted(found.models.items())},
            unknown=found.unknown,
            twin=found.twin,
        )


def _round(value: float) -> float:
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def amount(resources: Resources) -> record.Amount:
    return record.Amount(
        vcpus=_round(resources.vcpus),
        memory_gib=_round(resources.memory_gib),
        gpus={k: v for k, v in sorted(resources.gpus.items()) if v},
        unbounded=resources.unbounded,
        unknown=resources.unknown,
    )


def _extent(span: Span) -> record.Extent:
    return record.Extent(amount(span.at_min), amount(span.at_max))


def _footprint(each: Footprint, checks: Iterable[QuotaCheck] = ()) -> record.Footprint:
    return record.Footprint(
        _extent(each.before),
        _extent(each.after),
        _extent(each.peak),
        tuple(quota_room(c) for c in checks),
    )


def quota_room(check: QuotaCheck) -> record.QuotaRoom:
    free = check.free
    return record.QuotaRoom(
        metric=check.short_metric,
        asked=_round(check.asked),
        limit=check.limit,
        free=None if free is None else _round(free),
        used_by_others=_round(check.used_by_others),
        held=_round(check.held),
        known=check.known,
        ok=check.ok,
    )


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _monthly(change: CostChange) -> record.Monthly:
    before, after = change.before, change.after
    return record.Monthly(
        before=_cents(before.at_min),
        after=_cents(after.at_min),
        before_max=_cents(before.at_max),
        after_max=_cents(after.at_max),
        priced_before=round(before.priced_min, 2),
        priced_after=round(after.priced_min, 2),
    )


def account(
    backend: str,
    before: Iterable[Deployment],
    after: Iterable[Deployment],
    rollouts: Mapping[tuple[str, str, str], Rollout] | None = None,
    *,
    book: PriceBook | None = None,
    limits: Limits | None = None,
    demands: Demands | None = None,
    used_by_others: Mapping[str, Resources] | None = None,
) -> Accounting:
    """The plan's accounting. `limits` or `demands` None: no quota check (e.g. `mlengine`);
    `book` None: no cost. Quota is checked against the peak at max replicas, in the regions
    where the plan asks for more than the stack holds."""
    old, new = list(before), list(after)
    plan = footprint(old, new, rollouts)
    checks: tuple[QuotaCheck, ...] = ()
    if limits is not None and demands is not None:
        peaks = {r: f.peak.at_max for r, f in plan.regions.items()}
        held = {r: f.before.at_max for r, f in plan.regions.items()}
        checks = tuple(check_quota(peaks, demands, limits, used_by_others, held))
    priced = cost(backend, old, new, book) if book is not None else None
    notes: tuple[str, ...] = ()
    if plan.unknown_machine_types:
        notes = (
            "machine types without a known shape (not counted): "
            + ", ".join(plan.unknown_machine_types),
        )
    return Accounting(plan, checks, priced, notes)
