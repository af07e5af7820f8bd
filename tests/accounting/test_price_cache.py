"""The price cache: fresh prices are read from disk with their date, stale ones refreshed, a
failed refresh falls back to the old ones (saying so), and nothing at all means unknown prices."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from deployer import pricing
from deployer.core.errors import DeployerError
from deployer.providers.vertex.billing import book_from_skus


def catalog_prices(fetch: pricing.Fetch, url: str, **kwargs: Any) -> Any:
    """Prices through the cache, the SKUs read as Vertex's (the parser its provider hands)."""
    return pricing.catalog_prices(fetch, url, parse=book_from_skus, **kwargs)


P = "Vertex AI: Online/Batch Prediction "
URL = "https://cloudbilling.googleapis.com/"


def skus(core: float) -> list[dict[str, Any]]:
    def one(description: str, price: float, unit: str) -> dict[str, Any]:
        return {
            "description": P + description,
            "serviceRegions": ["us-central1"],
            "category": {"usageType": "OnDemand"},
            "pricingInfo": [
                {
                    "pricingExpression": {
                        "usageUnit": unit,
                        "tieredRates": [{"unitPrice": {"units": "0", "nanos": int(price * 1e9)}}],
                    }
                }
            ],
        }

    return [
        one("N1 Predefined Instance Core running in Americas", core, "h"),
        one("N1 Predefined Instance Ram running in Americas", 0.005, "GiBy.h"),
    ]


class Catalog:
    def __init__(self) -> None:
        self.calls = 0
        self.core = 0.04
        self.fail: str | None = None

    def __call__(self, currency: str) -> tuple[list[dict[str, Any]], bool, str]:
        self.calls += 1
        if self.fail:
            raise DeployerError(self.fail)
        return skus(self.core), False, URL


def at(day: int) -> Any:
    return lambda: dt.datetime(2026, 12, day, 9, 30, tzinfo=dt.UTC)


def price(book: Any) -> float | None:
    return book.replica_hourly("vertex", "us-central1", "n1-standard-2")[0]


def test_first_read_fetches_and_caches_with_its_date(tmp_path: Path) -> None:
    catalog = Catalog()
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    assert catalog.calls == 1
    assert price(book) == pytest.approx(2 * 0.04 + 7.5 * 0.005)
    assert book.as_of == "2026-12-01"
    assert "read 2026-12-01 09:30 UTC" in book.source
    files = list((tmp_path / "prices").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["currency"] == "USD"


def test_a_fresh_cache_is_used_without_calling_the_api(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    catalog.core = 1.0
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(5))
    assert catalog.calls == 1
    assert price(book) == pytest.approx(2 * 0.04 + 7.5 * 0.005)


def test_a_stale_cache_is_refreshed(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    catalog.core = 0.05
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(20))
    assert catalog.calls == 2
    assert book.as_of == "2026-12-20"
    assert price(book) == pytest.approx(2 * 0.05 + 7.5 * 0.005)


def test_a_failed_refresh_serves_the_old_prices_and_says_so(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    catalog.fail = "list SKUs: permission denied"
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(20))
    assert book.as_of == "2026-12-01"
    assert "refresh failed: list SKUs: permission denied" in book.source
    assert price(book) is not None


def test_no_cache_and_no_api_means_every_price_unknown(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog.fail = "cannot reach cloudbilling.googleapis.com"
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    assert price(book) is None
    assert "cannot reach" in book.source


@pytest.mark.parametrize("damage", ["{not json", '{"version": 1}', "[]", ""])
def test_a_damaged_cache_is_fetched_again(tmp_path: Path, damage: str) -> None:
    catalog = Catalog()
    catalog_prices(catalog, URL, root=tmp_path, now=at(1))
    (cache,) = (tmp_path / "prices").glob("*.json")
    cache.write_text(damage)
    book = catalog_prices(catalog, URL, root=tmp_path, now=at(2))
    assert catalog.calls == 2 and price(book) is not None


def test_the_twin_catalog_never_shares_a_cache_with_google(tmp_path: Path) -> None:
    google, twin = Catalog(), Catalog()
    catalog_prices(google, URL, root=tmp_path, now=at(1))
    catalog_prices(
        twin, "http://127.0.0.1:1/cloudbilling.googleapis.com/", root=tmp_path, now=at(1)
    )
    assert google.calls == 1 and twin.calls == 1
    assert len(list((tmp_path / "prices").glob("*.json"))) == 2


def test_an_unwritable_cache_still_prices(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    book = catalog_prices(Catalog(), URL, root=blocker, now=at(1))
    assert price(book) is not None
