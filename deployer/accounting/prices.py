"""Prices of serving replicas: where a price comes from, and the one rule for a missing price
(it is unknown, never guessed).

Where a backend's prices come from is the provider's business (a public catalog it parses, e.g.
`deployer.providers.vertex.billing`) or the user's (a prices file); this module holds the book
they fill and the arithmetic of a replica's hourly price.

`ml` v1 (AI Platform Prediction) is shut down: its prices come only from a user's prices file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deployer import machines
from deployer.core.errors import DeployerError

HOURS_PER_MONTH = 730
"""Google's pricing pages and calculator price a month as 730 hours."""
ANY_REGION = "*"


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


def book_from_file(data: Any, where: str, backends: tuple[str, ...]) -> PriceBook:
    """Rates from a user's prices file (already parsed YAML); PriceError naming `where` and the
    key. `backends` are the names a file may price (the registry's).

    currency: USD
    as_of: "2026-01-15"
    source: negotiated rates      # optional
    BACKEND:                      # one of `backends`, e.g. vertex
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
