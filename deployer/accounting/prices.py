"""Prices of serving replicas: where a price comes from, and the one rule for a missing price
(it is unknown, never guessed).

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

`ml` v1 (AI Platform Prediction) is shut down: its prices come only from a user's prices file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deployer import machines
from deployer.core.errors import DeployerError

HOURS_PER_MONTH = 730
"""Google's pricing pages and calculator price a month as 730 hours."""
ANY_REGION = "*"
VERTEX_SERVICE_ID = "C7E2-9256-1C43"
SKU_PREFIX = "Vertex AI: Online/Batch Prediction "
_CORE = re.compile(
    r"^Vertex AI: Online/Batch Prediction (?P<key>[A-Za-z0-9]+)(?: Predefined)? "
    r"Instance (?P<part>Core|Ram) running in ",
    re.IGNORECASE,
)
_GPU = re.compile(r"^Vertex AI: Online/Batch Prediction (?P<key>.+?) GPU running in ", re.I)
_UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h"}


class Rate(StrEnum):
    MACHINE = "machines"
    """Per replica-hour of a machine type, its GPUs excluded."""
    VCPU = "vcpu"
    """Per vCPU-hour, by series (N1, E2, A2, ...)."""
    MEMORY = "memory_gib"
    """Per GiB-hour, by series."""
    GPU = "gpus"
    """Per GPU-hour, by accelerator type."""


class PriceError(DeployerError):
    """A prices file or a price cache that cannot be read. `path` is where in the file the
    problem is (keys and list indexes from the root), `problem` the message without it, so a
    loader that knows positions can report `FILE:LINE:COL`."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), problem: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.problem = problem or message


def _fail(where: str, path: tuple[str | int, ...], problem: str) -> PriceError:
    dotted = ".".join(str(p) for p in path)
    return PriceError(f"{where}: {dotted + ': ' if dotted else ''}{problem}", path, problem)


@dataclass(frozen=True)
class PriceBook:
    """Hourly rates keyed (backend, rate kind, key, region); region `*` holds for every region.

    `source` and `as_of` say where the prices come from and the date they hold for; `twin` marks
    the local twin's fixture prices, which are not Google's."""

    currency: str
    source: str
    as_of: str
    rates: Mapping[tuple[str, str, str, str], float] = field(default_factory=dict)
    twin: bool = False

    def rate(self, backend: str, kind: Rate, key: str, region: str) -> float | None:
        found = self.rates.get((backend, kind.value, key, region))
        if found is None:
            found = self.rates.get((backend, kind.value, key, ANY_REGION))
        return found

    def replica_hourly(
        self,
        backend: str,
        region: str,
        machine_type: str,
        accelerator_type: str | None = None,
        accelerator_count: int = 0,
    ) -> tuple[float | None, str]:
        """The price of one replica-hour, or (None, why it is unknown)."""
        total = self.rate(backend, Rate.MACHINE, machine_type, region)
        if total is None:
            found = machines.shape(machine_type)
            if found is None:
                return None, f"no price for {machine_type} in {region} (unknown machine type)"
            vcpu = self.rate(backend, Rate.VCPU, found.series, region)
            memory = self.rate(backend, Rate.MEMORY, found.series, region)
            if vcpu is None or memory is None:
                part = "vCPU" if vcpu is None else "memory"
                return None, f"no {found.series} {part} price for {machine_type} in {region}"
            total = found.vcpus * vcpu + found.memory_gib * memory
        for kind, count in machines.gpus(machine_type, accelerator_type, accelerator_count).items():
            gpu = self.rate(backend, Rate.GPU, kind, region)
            if gpu is None:
                return None, f"no price for {kind} in {region}"
            total += gpu * count
        return total, ""


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
            slot = ("vertex", kind.value, key, str(region))
            if slot in rates and rates[slot] != price:
                ambiguous.add(slot)
            rates[slot] = price
    for slot in ambiguous:
        del rates[slot]
    return PriceBook(currency, source, as_of, rates, twin)


def book_from_file(
    data: Any, where: str, backends: tuple[str, ...] = ("mlengine", "vertex")
) -> PriceBook:
    """Rates from a user's prices file (already parsed YAML); PriceError naming `where` and the
    key. `backends` are the names a file may price (the registry's).

    currency: USD
    as_of: "2026-01-15"
    source: negotiated rates      # optional
    vertex:                       # or mlengine
      us-central1:                # a region, or "*" for every region
        machines: {n1-standard-4: 0.19}   # per replica-hour, GPUs excluded
        vcpu: {N1: 0.0316}                # per vCPU-hour, by series
        memory_gib: {N1: 0.0042}          # per GiB-hour, by series
        gpus: {NVIDIA_TESLA_T4: 0.40}     # per GPU-hour
    """
    if not isinstance(data, dict):
        raise _fail(where, (), "a prices file is a mapping with currency, as_of and backends")
    known = ("currency", "as_of", "source", *backends)
    unknown = sorted(str(k) for k in set(data) - set(known))
    if unknown:
        raise _fail(where, (unknown[0],), f"unknown key (known: {', '.join(known)})")
    currency = data.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise _fail(where, ("currency",), "a three-letter ISO 4217 code such as USD")
    as_of = data.get("as_of")
    if as_of is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(as_of)):
        raise _fail(where, ("as_of",), "the date the prices hold for, as YYYY-MM-DD")
    source = data.get("source", f"prices file {where}")
    if not isinstance(source, str):
        raise _fail(where, ("source",), "a line of text saying where the prices come from")
    rates: dict[tuple[str, str, str, str], float] = {}
    kinds = [r.value for r in Rate]
    for backend in backends:
        regions = data.get(backend) or {}
        if not isinstance(regions, dict):
            raise _fail(where, (backend,), "a mapping of region (or '*') -> rates")
        for region, table in regions.items():
            if not isinstance(table, dict):
                raise _fail(where, (backend, region), f"a mapping of {', '.join(kinds)}")
            for kind, entries in table.items():
                if kind not in kinds:
                    raise _fail(
                        where, (backend, region, kind), f"unknown key (known: {', '.join(kinds)})"
                    )
                if not isinstance(entries, dict):
                    raise _fail(where, (backend, region, kind), "a mapping of name -> hourly price")
                for key, price in entries.items():
                    if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
                        raise _fail(where, (backend, region, kind, key), "a price is a number >= 0")
                    rates[(backend, kind, str(key), str(region))] = float(price)
    return PriceBook(currency, source, str(as_of), rates)
