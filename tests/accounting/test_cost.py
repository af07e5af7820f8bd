"""Prices from Cloud Billing SKUs and from a user's file, and the monthly cost: unknown prices
stay unknown."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.accounting.cost import cost
from deployer.accounting.footprint import Deployment
from deployer.accounting.prices import (
    HOURS_PER_MONTH,
    PriceBook,
    PriceError,
    Rate,
    book_from_file,
)
from deployer.accounting.summary import account
from deployer.providers.vertex.billing import book_from_skus, parse_sku
from deployer.render.resources import cost_line, environments_total, money

BACKENDS = ("mlengine", "vertex")
"""The names a prices file may price (the registry's)."""


def sku(description: str, price: float, unit: str = "h", regions=("us-central1",), **kw) -> Any:
    units, nanos = int(price), round((price - int(price)) * 1e9)
    return {
        "description": description,
        "category": {"usageType": kw.get("usage", "OnDemand")},
        "serviceRegions": list(regions),
        "pricingInfo": [
            {
                "pricingExpression": {
                    "usageUnit": unit,
                    "tieredRates": [
                        {"startUsageAmount": 0, "unitPrice": {"units": str(units), "nanos": nanos}}
                    ],
                }
            }
        ],
    }


P = "Vertex AI: Online/Batch Prediction "
SKUS = [
    sku(P + "N1 Predefined Instance Core running in Americas", 0.0379),
    sku(P + "N1 Predefined Instance Ram running in Americas", 0.0051, "GiBy.h"),
    sku(P + "Nvidia Tesla T4 GPU running in Americas", 0.4025),
    sku(P + "A3 Predefined Instance Core running in Iowa", 0.0293227),
    sku(P + "A3 Predefined Instance Ram running in Iowa", 0.0025534, "GiBy.h"),
    sku(P + "Nvidia H100 80gb GPU running in Iowa", 11.2660332),
    sku(P + "management fee on A3 Instance Core in Iowa", 0.0038),
    sku(P + "N1 Predefined Instance Core running in Americas", 0.01, usage="Preemptible"),
    sku("Vertex AI: Training/Pipelines on N1 Predefined Instance Core running in Americas", 0.03),
]


def book() -> PriceBook:
    return book_from_skus(SKUS, currency="USD", as_of="2026-12-01", source="test catalog")


def test_skus_are_read_by_series_part_and_gpu() -> None:
    assert parse_sku(SKUS[0])[:2] == (Rate.VCPU, "N1")
    assert parse_sku(SKUS[1])[:2] == (Rate.MEMORY, "N1")
    assert parse_sku(SKUS[2])[:2] == (Rate.GPU, "NVIDIA_TESLA_T4")
    assert parse_sku(SKUS[5])[:2] == (Rate.GPU, "NVIDIA_H100_80GB")
    assert all(parse_sku(s) is None for s in SKUS[6:])


def test_a_sku_in_the_wrong_unit_is_not_a_price() -> None:
    assert parse_sku(sku(P + "N1 Predefined Instance Ram running in Americas", 1.0, "h")) is None


def test_replica_price_is_the_sum_of_its_parts() -> None:
    hourly, why = book().replica_hourly("vertex", "us-central1", "a3-highgpu-1g")
    assert why == ""
    assert hourly == pytest.approx(11.2660332 + 26 * 0.0293227 + 234 * 0.0025534)


def test_two_different_prices_for_one_part_make_it_unknown() -> None:
    clash = [*SKUS, sku(P + "N1 Instance Core running in Americas", 0.05)]
    found = book_from_skus(clash, currency="USD", as_of="x", source="x")
    hourly, why = found.replica_hourly("vertex", "us-central1", "n1-standard-4")
    assert hourly is None and "N1 vCPU" in why


def test_monthly_cost_before_and_after_per_model() -> None:
    v1 = Deployment("us-central1", "fraud", "v1", "n1-standard-4", 2, 4)
    v2 = Deployment("us-central1", "fraud", "v2", "n1-standard-4", 1, 2, "NVIDIA_TESLA_T4", 1)
    result = cost("vertex", [v1], [v1, v2], book())
    node = (4 * 0.0379 + 15 * 0.0051) * HOURS_PER_MONTH
    t4 = 0.4025 * HOURS_PER_MONTH
    assert result.total.before.at_min == pytest.approx(2 * node)
    assert result.total.after.at_min == pytest.approx(3 * node + t4)
    assert result.total.after.at_max == pytest.approx(6 * node + 2 * t4)
    assert result.total.delta == pytest.approx(node + t4)
    assert result.models["us-central1/fraud"] == result.total
    recorded = record(result)
    assert recorded.currency == "USD" and recorded.unknown == ()
    assert recorded.total.after == round(3 * node + t4, 2)


def test_an_unknown_price_is_never_guessed() -> None:
    known = Deployment("us-central1", "a", "v1", "n1-standard-2", 1, 1)
    no_gpu_price = Deployment("us-central1", "b", "v1", "g2-standard-8", 1, 1)
    no_region = Deployment("asia-east1", "c", "v1", "n1-standard-2", 1, 1)
    result = cost("vertex", [], [known, no_gpu_price, no_region], book())
    assert result.total.after.at_min is None
    assert result.total.after.priced_min == pytest.approx(
        (2 * 0.0379 + 7.5 * 0.0051) * HOURS_PER_MONTH
    )
    assert result.unknown == (  # in key order
        "asia-east1/c/v1: no N1 vCPU price for n1-standard-2 in asia-east1",
        "us-central1/b/v1: no G2 vCPU price for g2-standard-8 in us-central1",
    )
    assert result.models["us-central1/a"].after.at_min is not None
    assert result.models["us-central1/b"].after.at_min is None
    recorded = record(result)
    assert recorded.total.after is None and recorded.total.before == 0
    assert "unknown:" in cost_line(recorded)


def test_unbounded_replicas_have_no_max_cost() -> None:
    prices = book_from_file(
        {
            "currency": "USD",
            "as_of": "2026-01-01",
            "mlengine": {"*": {"machines": {"mls1-c1-m2": 0.05}}},
        },
        "prices.yaml",
        BACKENDS,
    )
    free = Deployment("global", "m", "v1", "mls1-c1-m2", 1, None)
    result = cost("mlengine", [], [free], prices)
    assert result.total.after.at_min == pytest.approx(0.05 * HOURS_PER_MONTH)
    assert result.total.after.at_max is None
    assert "no upper bound at max replicas" in cost_line(record(result))


def test_price_file_machine_rates_win_and_gpus_add() -> None:
    prices = book_from_file(
        {
            "currency": "EUR",
            "as_of": "2026-01-01",
            "source": "negotiated",
            "vertex": {
                "*": {"vcpu": {"N1": 0.03}, "memory_gib": {"N1": 0.004}},
                "europe-west4": {
                    "machines": {"n1-standard-4": 0.1},
                    "gpus": {"NVIDIA_TESLA_T4": 0.3},
                },
            },
        },
        "prices.yaml",
        BACKENDS,
    )
    assert prices.replica_hourly("vertex", "europe-west4", "n1-standard-4", "NVIDIA_TESLA_T4", 2)[
        0
    ] == pytest.approx(0.1 + 0.6)
    assert prices.replica_hourly("vertex", "us-east1", "n1-standard-2")[0] == pytest.approx(
        2 * 0.03 + 7.5 * 0.004
    )
    assert prices.source == "negotiated" and prices.currency == "EUR"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "a prices file is a mapping"),
        ({"currency": "usd", "as_of": "2026-01-01"}, "currency"),
        ({"currency": "USD"}, "as_of"),
        ({"currency": "USD", "as_of": "2026-01-01", "aws": {}}, "aws: unknown key"),
        ({"currency": "USD", "as_of": "2026-01-01", "vertex": {"*": {"cpu": {}}}}, "cpu: unknown"),
        (
            {"currency": "USD", "as_of": "2026-01-01", "vertex": {"*": {"gpus": {"X": "1"}}}},
            "vertex.*.gpus.X: a price is a number",
        ),
        (
            {"currency": "USD", "as_of": "2026-01-01", "vertex": {"*": {"gpus": {"X": -1}}}},
            "a price is a number >= 0",
        ),
    ],
)
def test_a_bad_prices_file_is_one_line_naming_the_file(data: Any, says: str) -> None:
    with pytest.raises(PriceError) as caught:
        book_from_file(data, "prices.yaml", BACKENDS)
    assert str(caught.value).startswith("prices.yaml")
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cost_line_and_money() -> None:
    v1 = Deployment("us-central1", "fraud", "v1", "n1-standard-4", 1, 1)
    result = account("vertex", [], [v1], book=book()).plan_cost()
    assert result is not None
    line = cost_line(result)
    assert line.startswith("serving cost: $0.00/mo -> $")
    assert "(+$" in line
    assert money(1234.5, "USD") == "$1,234.50"
    assert money(-3.5, "EUR", sign=True) == "-€3.50"
    assert money(7, "CHF") == "CHF 7.00"


def test_a_spot_deployment_has_no_price_yet() -> None:
    """Issue 24's hook: spot VMs are billed as Compute Engine SKUs plus a fee, not priced."""
    spot = Deployment("us-central1", "fraud", "v1", "n1-standard-4", 1, 1, spot=True)
    result = cost("vertex", [], [spot], book())
    assert result.total.after.at_min is None
    assert result.unknown == (
        "us-central1/fraud/v1: no spot price for n1-standard-4 in us-central1",
    )


def test_environments_add_up_in_one_currency() -> None:
    v1 = Deployment("us-central1", "fraud", "v1", "n1-standard-4", 1, 1)
    staging = account("vertex", [], [v1], book=book()).plan_cost()
    prod = account("vertex", [v1], [v1], book=book()).plan_cost()
    assert staging is not None and prod is not None
    total = environments_total([staging_plan(staging), staging_plan(prod)])
    assert total is not None and total.total.after is not None
    assert staging.total.after is not None
    assert total.total.after == pytest.approx(2 * staging.total.after)


def staging_plan(priced: Any) -> Any:
    from deployer.core.plan import Plan

    return Plan("s", "p", cost=priced)


def record(result: Any) -> Any:
    """A `cost.Cost` as the plan records it (what the renderers read)."""
    from deployer.accounting.footprint import Footprint, PlanFootprint
    from deployer.accounting.summary import Accounting

    return Accounting(PlanFootprint({}, {}, Footprint()), cost=result).plan_cost()
