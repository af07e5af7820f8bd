"""What deployments cost a month: at their lowest replica count (what they cost idle: Vertex bills
every deployed replica by the hour whether it serves or not) and at their highest (what
autoscaling can reach), before and after a plan, per model, per environment and in total.

A price that cannot be found makes that deployment's cost unknown: totals then say how much of
them is priced and name what is not, and never fill the gap with a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from deployer.accounting.footprint import Deployment, pooled_once
from deployer.accounting.prices import HOURS_PER_MONTH, PriceBook


@dataclass(frozen=True)
class Monthly:
    """A monthly amount at min and at max replicas. `priced_*` sums what has a price; `at_*`
    equal them when everything is priced and bounded, else they are None (unknown)."""

    priced_min: float = 0.0
    priced_max: float = 0.0
    complete: bool = True
    bounded: bool = True

    @property
    def at_min(self) -> float | None:
        return self.priced_min if self.complete else None

    @property
    def at_max(self) -> float | None:
        return self.priced_max if self.complete and self.bounded else None

    def __add__(self, other: Monthly) -> Monthly:
        return Monthly(
            self.priced_min + other.priced_min,
            self.priced_max + other.priced_max,
            self.complete and other.complete,
            self.bounded and other.bounded,
        )


@dataclass(frozen=True)
class CostChange:
    before: Monthly = Monthly()
    after: Monthly = Monthly()

    @property
    def delta(self) -> float | None:
        if self.before.at_min is None or self.after.at_min is None:
            return None
        return self.after.at_min - self.before.at_min

    def __add__(self, other: CostChange) -> CostChange:
        return CostChange(self.before + other.before, self.after + other.after)


@dataclass(frozen=True)
class Cost:
    """The serving cost of one plan (one environment)."""

    currency: str
    source: str
    as_of: str
    models: Mapping[str, CostChange]
    total: CostChange
    unknown: tuple[str, ...] = ()
    """What could not be priced: `REGION/MODEL/VERSION: why`."""
    twin: bool = False


def deployment_monthly(
    backend: str, deployment: Deployment, book: PriceBook
) -> tuple[Monthly, str]:
    """One deployment's monthly cost, and why it is unknown ("" when priced)."""
    if deployment.spot:  # issue 24: spot VMs are billed as Compute Engine SKUs plus a fee
        return Monthly(complete=False, bounded=deployment.max_replicas is not None), (
            f"no spot price for {deployment.machine_type} in {deployment.region}"
        )
    hourly, why = book.replica_hourly(
        backend,
        deployment.region,
        deployment.machine_type,
        deployment.accelerator_type,
        deployment.accelerator_count,
    )
    bounded = deployment.max_replicas is not None
    if hourly is None:
        return Monthly(complete=False, bounded=bounded), why
    month = hourly * HOURS_PER_MONTH
    high = deployment.max_replicas if deployment.max_replicas is not None else 0
    return Monthly(month * deployment.min_replicas, month * high, True, bounded), ""


def cost(
    backend: str,
    before: Iterable[Deployment],
    after: Iterable[Deployment],
    book: PriceBook,
) -> Cost:
    """The monthly serving cost of `before` and `after`, per `REGION/MODEL` and in total."""
    models: dict[str, CostChange] = {}
    unknown: list[str] = []
    total = CostChange()
    for side, deployments in (("before", pooled_once(before)), ("after", pooled_once(after))):
        for deployment in deployments:
            monthly, why = deployment_monthly(backend, deployment, book)
            if why:
                line = f"{'/'.join(deployment.key)}: {why}"
                if line not in unknown:
                    unknown.append(line)
            change = CostChange(before=monthly) if side == "before" else CostChange(after=monthly)
            name = f"{deployment.region}/{deployment.model}"
            models[name] = models.get(name, CostChange()) + change
            total = total + change
    return Cost(book.currency, book.source, book.as_of, models, total, tuple(unknown), book.twin)
