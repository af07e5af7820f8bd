"""Vertex AI's prices from the Cloud Billing Catalog: which SKUs price online prediction and
how they read as `deployer.accounting.prices` rates.

How Vertex AI prediction is billed (the Cloud Billing Catalog, service "Vertex AI",
`services/C7E2-9256-1C43`): not per node-hour of a machine type but per part, in SKUs named

    Vertex AI: Online/Batch Prediction <SERIES>[ Predefined] Instance Core running in <PLACE>
    Vertex AI: Online/Batch Prediction <SERIES>[ Predefined] Instance Ram running in <PLACE>
    Vertex AI: Online/Batch Prediction <GPU> GPU running in <PLACE>

priced per vCPU-hour (usage unit `h`), per GiB-hour (`GiBy.h`) and per GPU-hour (`h`); the
per-machine "price per node hour" of cloud.google.com/vertex-ai/pricing is their sum for the
machine's vCPUs, memory and GPUs. Sources: a billing report of an a3-highgpu-1g deployment
(zenn.dev, 2025-08: "... Nvidia H100 80gb GPU running in Iowa" per 1 hour, "... A3 Predefined
Instance Core running in Iowa" per 1 hour x 26, "... A3 Predefined Instance Ram running in
Iowa" per 1 gigabyte hour x 234), public code reading those SKUs ("... N1 Predefined Instance
Core running in", "... A2 Instance Core running in Americas"), and the `Sku` schema of the
shipped `cloudbilling.v1.json` (`serviceRegions`, `category.usageType`,
`pricingInfo[].pricingExpression.usageUnit` / `tieredRates[].unitPrice`). Spot and reserved
serving are billed as Compute Engine SKUs plus "management fee" SKUs: not priced here.
The GPU part of a SKU name maps to the API's accelerator enum by upper-casing and joining words
("Nvidia Tesla T4" -> NVIDIA_TESLA_T4) [INF, holds for every name seen].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from deployer.accounting.prices import PriceBook, Rate
from deployer.providers.discovery import all_pages
from deployer.providers.project.client import Billing

BACKEND = "vertex"
VERTEX_SERVICE_ID = "C7E2-9256-1C43"
SKU_PREFIX = "Vertex AI: Online/Batch Prediction "
_CORE = re.compile(
    r"^Vertex AI: Online/Batch Prediction (?P<key>[A-Za-z0-9]+)(?: Predefined)? "
    r"Instance (?P<part>Core|Ram) running in ",
    re.IGNORECASE,
)
_GPU = re.compile(r"^Vertex AI: Online/Batch Prediction (?P<key>.+?) GPU running in ", re.I)
_UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h"}


def gpu_key(words: str) -> str:
    """`Nvidia Tesla T4` -> `NVIDIA_TESLA_T4`, `Nvidia H100 80gb` -> `NVIDIA_H100_80GB`."""
    return "_".join(words.upper().split())


def _unit_price(sku: Mapping[str, Any], part: str) -> float | None:
    """The on-demand unit price of a single-tier SKU in the expected unit, else None."""
    infos = sku.get("pricingInfo") or []
    if not infos:
        return None
    expression = infos[-1].get("pricingExpression") or {}
    if expression.get("usageUnit") != _UNITS[part]:
        return None
    prices = set()
    for tier in expression.get("tieredRates") or []:
        money = tier.get("unitPrice") or {}
        value = int(money.get("units") or 0) + int(money.get("nanos") or 0) / 1e9
        if value > 0:
            prices.add(value)
    return prices.pop() if len(prices) == 1 else None


def parse_sku(sku: Mapping[str, Any]) -> tuple[Rate, str, float] | None:
    """(rate kind, key, unit price) of a Vertex AI prediction SKU; None for any other SKU."""
    description = str(sku.get("description", ""))
    usage = (sku.get("category") or {}).get("usageType", "OnDemand")
    if usage != "OnDemand" or "management fee" in description.lower():
        return None
    core = _CORE.match(description)
    if core is not None:
        part = core["part"].lower()
        kind = Rate.VCPU if part == "core" else Rate.MEMORY
        key = core["key"].upper()
    else:
        gpu = _GPU.match(description)
        if gpu is None:
            return None
        part, kind, key = "gpu", Rate.GPU, gpu_key(gpu["key"])
    price = _unit_price(sku, part)
    return None if price is None else (kind, key, price)


def book_from_skus(
    skus: Iterable[Mapping[str, Any]],
    *,
    currency: str,
    as_of: str,
    source: str,
    twin: bool = False,
) -> PriceBook:
    """Vertex AI rates from Cloud Billing Catalog SKUs. Two SKUs that price the same part in
    the same region differently make that price unknown."""
    rates: dict[tuple[str, str, str, str], float] = {}
    ambiguous: set[tuple[str, str, str, str]] = set()
    for sku in skus:
        parsed = parse_sku(sku)
        if parsed is None:
            continue
        kind, key, price = parsed
        for region in sku.get("serviceRegions") or []:
            slot = (BACKEND, kind.value, key, str(region))
            if slot in rates and rates[slot] != price:
                ambiguous.add(slot)
            rates[slot] = price
    for slot in ambiguous:
        del rates[slot]
    return PriceBook(currency, source, as_of, rates, twin)


# ---- reading the catalog (Cloud Billing v1 `services.list`, `services.skus.list`) --------

PAGE_SIZE = 5000
"""`ListSkus` page size default and what it is asked for (shipped `cloudbilling.v1.json`)."""


def vertex_service(client: Billing) -> str:
    """The catalog's `services/ID` of Vertex AI (by display name; the known ID otherwise)."""
    services = all_pages(
        client,
        "",
        "list the services of the Cloud Billing catalog",
        "services",
        lambda r, token: r.services().list(pageSize=PAGE_SIZE, pageToken=token),
    )
    for service in services:
        if service.get("displayName") == "Vertex AI":
            return str(service.get("name") or f"services/{service.get('serviceId')}")
    return f"services/{VERTEX_SERVICE_ID}"


def prediction_skus(client: Billing, currency: str) -> tuple[list[dict[str, Any]], bool]:
    """Vertex AI's online/batch prediction SKUs priced in `currency`, and whether they are the
    twin's fixture (its `serviceProviderName` says so) rather than Google's."""
    parent = vertex_service(client)
    skus = all_pages(
        client,
        "",
        f"list the SKUs of {parent} in the Cloud Billing catalog",
        "skus",
        lambda r, token: (
            r.services()
            .skus()
            .list(parent=parent, currencyCode=currency, pageSize=PAGE_SIZE, pageToken=token)
        ),
    )
    wanted = [s for s in skus if str(s.get("description", "")).startswith(SKU_PREFIX)]
    twin = any("twin" in str(s.get("serviceProviderName", "")).lower() for s in wanted)
    return wanted, twin
