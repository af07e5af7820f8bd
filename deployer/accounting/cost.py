"""What deployments cost a month: at their lowest replica count (what they cost idle: Vertex bills
every deployed replica by the hour whether it serves or not) and at their highest (what
autoscaling can reach), before and after a plan, per model, per environment and in total.

A price that cannot be found makes that deployment's cost unknown: totals then say how much of
them is priced and name what is not, and never fill the gap with a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deployer.accounting.footprint import Deployment
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

    def to_json(self) -> dict[str, Any]:
        return {
            "monthly_before": _cents(self.before.at_min),
            "monthly_after": _cents(self.after.at_min),
            "monthly_before_max": _cents(self.before.at_max),
            "monthly_after_max": _cents(self.after.at_max),
            "monthly_before_priced": _cents(self.before.priced_min),
            "monthly_after_priced": _cents(self.after.priced_min),
        }


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            **self.total.to_json(),
            "unknown": list(self.unknown),
            "source": self.source,
            "as_of": self.as_of,
            **({"twin_prices": True} if self.twin else {}),
            "models": {m: c.to_json() for m, c in sorted(self.models.items())},
        }


def deployment_monthly(
    backend: str, deployment: Deployment, book: PriceBook
) -> tuple[Monthly, str]:
    """One deployment's monthly cost, and why it is unknown ("" when priced)."""
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
    for side, deployments in (("before", before), ("after", after)):
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


def environments_total(costs: Mapping[str, Cost]) -> CostChange | None:
    """The sum over environments (None when they are priced in different currencies)."""
    currencies = {c.currency for c in costs.values()}
    if len(currencies) > 1:
        return None
    total = CostChange()
    for each in costs.values():
        total = total + each.total
    return total


SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: float, currency: str, sign: bool = False) -> str:
    """`$1,234.56`, `+$12.00`, `-€3.50`, `CHF 7.00`."""
    prefix = "+" if sign and amount > 0 else "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    number = f"{abs(amount):,.2f}"
    return f"{prefix}{symbol}{number}" if symbol else f"{prefix}{currency} {number}"


def cost_line(change: CostChange, currency: str, unknown: Iterable[str] = ()) -> str:
    """`serving cost: $A/mo -> $B/mo (+$C)`, with the autoscaling ceiling and what has no price.

    Used as the first line of a pull-request comment: it must be true on its own."""
    missing = list(unknown)
    before, after = change.before, change.after
    text = (
        f"serving cost: {money(before.priced_min, currency)}/mo -> "
        f"{money(after.priced_min, currency)}/mo "
        f"({money(after.priced_min - before.priced_min, currency, sign=True)})"
    )
    if after.at_max is not None and after.at_max != after.at_min:
        text += f", up to {money(after.at_max, currency)}/mo at max replicas"
    elif not after.bounded:
        text += ", unbounded at max replicas"
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        text += f"; priced part only, unknown: {missing[0]}{more}"
    return text
