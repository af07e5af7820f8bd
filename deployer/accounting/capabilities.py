"""What a provider offers for accounting, as capability protocols (checked with `isinstance`,
like `deployer.core.provider`'s): they live here because they speak accounting's types, which
the core cannot import. The application layer asks the provider and hands accounting plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from deployer.accounting.footprint import Deployment, Resources
from deployer.accounting.prices import PriceBook
from deployer.accounting.quota import Limits
from deployer.core.resources import ResourceKey


@runtime_checkable
class Metered(Protocol):
    """Resources of some kinds run serving replicas (footprint and cost)."""

    def deployment(self, key: ResourceKey, fields: Mapping[str, Any]) -> Deployment | None:
        """What the resource `key` with `fields` (desired, or read live) deploys; None for a
        kind that runs no replicas."""
        ...


@dataclass(frozen=True)
class QuotaReading:
    """A project's serving quota in some regions: the limits, and what deployments of other
    stacks (or of no stack) hold there at their max replicas."""

    limits: Limits
    used_by_others: Mapping[str, Resources] = field(default_factory=dict)


@runtime_checkable
class ServingQuota(Protocol):
    """The service charges serving quota per region, readable before anything is deployed."""

    def serving_quota(self, regions: Sequence[str], stack: str) -> QuotaReading:
        """Limits and others' use in `regions`; a ProviderError when they cannot be read."""
        ...

    def quota_demands(self, resources: Resources) -> Mapping[str, float]:
        """What replicas holding `resources` ask of each of the service's quota metrics."""
        ...


@runtime_checkable
class PriceCatalog(Protocol):
    """The service's prices are in a public catalog (the Cloud Billing Catalog API)."""

    def price_catalog_url(self) -> str:
        """Where the catalog is read (the cache is keyed by it)."""
        ...

    def price_skus(self, currency: str) -> tuple[list[dict[str, Any]], bool]:
        """The serving SKUs priced in `currency`, and whether they are the twin's fixture."""
        ...

    def price_book(
        self, skus: list[dict[str, Any]], *, currency: str, as_of: str, source: str, twin: bool
    ) -> PriceBook:
        """The rates those SKUs give (read again from the on-disk cache)."""
        ...
