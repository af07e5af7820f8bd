"""Where a plan's prices come from when deployer.yaml names no prices file (`deployer.config.
prices`): the backend's public catalog (the Cloud Billing Catalog API, read through the
provider) cached on disk with the date it was read.

Catalog prices change rarely and a plan must not wait on them: a cache younger than
`MAX_AGE_DAYS` is used as is, an older one is refreshed, and when the refresh fails the old one
still serves, its date saying how old it is. Without any of them every price is unknown (never
guessed), and the plan says why. The cache is keyed by the catalog's host, so the twin's fixture
prices never stand in for Google's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from deployer.accounting.prices import PriceBook
from deployer.core.errors import DeployerError

CACHE_ENV = "DEPLOYER_CACHE_DIR"
MAX_AGE_DAYS = 7
CACHE_VERSION = 1

Fetch = Callable[[str], tuple[list[dict[str, Any]], bool, str]]
"""currency -> (prediction SKUs, twin fixture?, the catalog's base URL)."""


class Parse(Protocol):
    """The provider's reading of its catalog's SKUs as a price book."""

    def __call__(
        self, skus: list[dict[str, Any]], *, currency: str, as_of: str, source: str, twin: bool
    ) -> PriceBook: ...


def cache_dir() -> Path:
    """$DEPLOYER_CACHE_DIR, else $XDG_CACHE_HOME/deployer, else ~/.cache/deployer."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deployer"


def _slim(sku: dict[str, Any]) -> dict[str, Any]:
    """What pricing reads of a SKU (the cache stays small)."""
    infos = sku.get("pricingInfo") or []
    expression = (infos[-1].get("pricingExpression") or {}) if infos else {}
    return {
        "skuId": sku.get("skuId"),
        "description": sku.get("description"),
        "serviceRegions": sku.get("serviceRegions") or [],
        "category": {"usageType": (sku.get("category") or {}).get("usageType", "OnDemand")},
        "serviceProviderName": sku.get("serviceProviderName"),
        "pricingInfo": [
            {
                "pricingExpression": {
                    "usageUnit": expression.get("usageUnit"),
                    "tieredRates": expression.get("tieredRates") or [],
                }
            }
        ],
    }


def _cache_file(root: Path, url: str, currency: str) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return root / "prices" / f"cloudbilling-{digest}-{currency}.json"


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("version") == CACHE_VERSION and isinstance(doc.get("skus"), list):
            dt.datetime.fromisoformat(doc["fetched_at"])
            return doc
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None  # missing or damaged: fetched again


def _write_cache(path: Path, doc: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".prices-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home still plans; the next run fetches again


def _book(doc: dict[str, Any], parse: Parse, note: str = "") -> PriceBook:
    fetched = dt.datetime.fromisoformat(doc["fetched_at"])
    twin = bool(doc.get("twin"))
    source = f"Cloud Billing Catalog API at {doc['url']}, read {fetched:%Y-%m-%d %H:%M} UTC"
    if twin:
        source += " (the local twin's fixture prices, not Google's)"
    if note:
        source += f" ({note})"
    return parse(
        doc["skus"],
        currency=doc["currency"],
        as_of=fetched.date().isoformat(),
        source=source,
        twin=twin,
    )


def catalog_prices(
    fetch: Fetch,
    url: str,
    currency: str = "USD",
    *,
    parse: Parse,
    root: Path | None = None,
    max_age_days: float = MAX_AGE_DAYS,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> PriceBook:
    """Vertex AI prices from the catalog at `url`, through the on-disk cache."""
    path = _cache_file(root or cache_dir(), url, currency)
    cached = _read_cache(path)
    if cached is not None and cached.get("currency") == currency:
        age = now() - dt.datetime.fromisoformat(cached["fetched_at"])
        if age <= dt.timedelta(days=max_age_days):
            return _book(cached, parse)
    try:
        skus, twin, base = fetch(currency)
    except DeployerError as exc:
        if cached is not None:
            return _book(cached, parse, f"refresh failed: {exc}")
        return PriceBook(currency, f"no prices: the Cloud Billing Catalog API failed: {exc}", "")
    doc = {
        "version": CACHE_VERSION,
        "fetched_at": now().isoformat(),
        "url": base,
        "currency": currency,
        "twin": twin,
        "skus": [_slim(s) for s in skus],
    }
    _write_cache(path, doc)
    return _book(doc, parse)


def provider_prices(provider: object, currency: str = "USD", **kwargs: Any) -> PriceBook:
    """The prices of a backend: from its public catalog through the cache, or none (each
    price then unknown, with the reason) for a backend without one."""
    from deployer.accounting.capabilities import PriceCatalog

    if not isinstance(provider, PriceCatalog):
        name = getattr(provider, "name", "this backend")
        return PriceBook(
            currency,
            f"no prices: {name} has no public price catalog; name a prices file in "
            "deployer.yaml (prices: FILE)",
            "",
        )
    url = provider.price_catalog_url()

    def fetch(cur: str) -> tuple[list[dict[str, Any]], bool, str]:
        skus, twin = provider.price_skus(cur)
        return skus, twin, url

    return catalog_prices(fetch, url, currency, parse=provider.price_book, **kwargs)
