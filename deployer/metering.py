"""The accounting step of `plan` (and of `apply`, which plans again): what the plan's
deployments hold and cost, and whether the project's serving quota holds its peak.

The provider says what its resources run and offers quota and a price catalog where the service
has them (`deployer.accounting.capabilities`); `deployer.accounting` counts, prices and checks;
this module asks, and records the result in the Plan as the core's neutral `Usage` and `Cost`.
A peak over the free quota is a plan error (nothing is written), unless the user says a quota
increase is on its way (`--allow-over-quota`): then it is a warning, and the service has the
last word when it deploys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from deployer.accounting.capabilities import Metered, QuotaReading, ServingQuota
from deployer.accounting.changes import changes
from deployer.accounting.prices import PriceBook
from deployer.accounting.summary import account
from deployer.core.errors import DeployerError
from deployer.core.plan import Plan
from deployer.core.provider import Provider
from deployer.core.resources import ObservedResource
from deployer.core.stack import Stack

OVERRIDE = "--allow-over-quota"


def prices(stack: Stack, provider: Provider) -> PriceBook:
    """The stack's prices file, else the backend's catalog (cached), else none."""
    if stack.settings.prices is not None:
        from deployer.config.prices import read_prices
        from deployer.providers import registry

        return read_prices(stack.root, stack.settings.prices, registry.backends())
    from deployer.pricing import provider_prices

    return provider_prices(provider)


def _quota(provider: ServingQuota, regions: Sequence[str], stack: str) -> QuotaReading | str:
    try:
        return provider.serving_quota(regions, stack)
    except DeployerError as exc:
        return f"serving quota not checked: {exc}"


def metered(
    plan: Plan,
    stack: Stack,
    provider: Provider,
    observed: Sequence[ObservedResource],
    *,
    allow_over_quota: bool = False,
) -> Plan:
    """`plan` with its resources, cost and quota check; unchanged for a backend whose
    resources run no replicas."""
    if not isinstance(provider, Metered):
        return plan
    found = changes(plan, observed, provider.deployment)
    counted = account(provider.name, found.before, found.after, found.rollouts)
    asking: list[str] = []
    if isinstance(provider, ServingQuota):
        demands = provider.quota_demands
        asking = [
            region
            for region, each in sorted(counted.footprint.regions.items())
            if any(
                asked > demands(each.before.at_max).get(metric, 0.0)
                for metric, asked in demands(each.peak.at_max).items()
            )
        ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        book = pool.submit(prices, stack, provider)
        reading = (
            pool.submit(_quota, provider, asking, stack.name)
            if asking and isinstance(provider, ServingQuota)
            else None
        )
        priced = book.result()
        quota = reading.result() if reading is not None else None
    warnings = list(plan.warnings)
    errors = list(plan.errors)
    if isinstance(quota, str):
        warnings.append(quota)
        quota = None
    result = account(
        provider.name,
        found.before,
        found.after,
        found.rollouts,
        book=priced,
        limits=quota.limits if quota is not None else None,
        demands=provider.quota_demands if isinstance(provider, ServingQuota) else None,
        used_by_others=quota.used_by_others if quota is not None else None,
    )
    for check in result.quota_failures:
        if allow_over_quota:
            warnings.append(f"{check.problem()}; planned anyway ({OVERRIDE})")
        else:
            errors.append(
                f"{check.line()}; if an increase is already requested, plan with {OVERRIDE}"
            )
    return dataclasses.replace(
        plan,
        resources=result.usage(),
        cost=result.plan_cost(),
        warnings=tuple(warnings),
        errors=tuple(errors),
    )
