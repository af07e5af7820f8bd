"""What a region's endpoints deploy, every endpoint of the project, deployer's or not: the use
that serving quota is charged for (at `maxReplicaCount`), with the labels that tell whose it is;
and the project's serving quota limits (Service Usage), read together.

Only `dedicatedResources` deployments are counted; automatic resources (AutoML) and shared
resource pools are not [INF: they draw on other quota or on a pool counted once]."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deployer.accounting.capabilities import QuotaReading
from deployer.accounting.footprint import Deployment, Resources
from deployer.core import ownership
from deployer.providers.discovery import all_pages
from deployer.providers.project.client import ServiceUsageQuotas
from deployer.providers.project.quotas import limits_by_region
from deployer.providers.vertex import footprint
from deployer.providers.vertex.client import VertexClient
from deployer.providers.vertex.quota import serving_quota_metrics
from deployer.providers.vertex.reader import PAGE_SIZE


@dataclass(frozen=True)
class LiveDeployment:
    deployment: Deployment
    labels: dict[str, str]
    """The endpoint's labels."""

    def managed_by(self, stack: str) -> bool:
        return (
            self.labels.get(ownership.LABEL_MANAGED_BY) == ownership.LABEL_MANAGED_BY_VALUE
            and self.labels.get(ownership.LABEL_STACK) == stack
        )


def serving(client: VertexClient, region: str) -> list[LiveDeployment]:
    """Every dedicated-resources deployment on every endpoint of `region`."""
    endpoints = all_pages(
        client,
        region,
        f"list endpoints in {region} in project {client.project!r}",
        "endpoints",
        lambda r, token: (
            r.projects()
            .locations()
            .endpoints()
            .list(parent=client.location(region), pageSize=PAGE_SIZE, pageToken=token)
        ),
    )
    found: list[LiveDeployment] = []
    for endpoint in endpoints:
        labels = dict(endpoint.get("labels") or {})
        name = labels.get("deployer-model") or str(endpoint.get("displayName") or "")
        for dm in endpoint.get("deployedModels") or []:
            resources = dm.get("dedicatedResources")
            if not resources:
                continue
            version = str(dm.get("displayName") or dm.get("id") or "").rsplit("/", 1)[-1]
            found.append(
                LiveDeployment(footprint.deployment(region, name, version, resources), labels)
            )
    return found


def used_by_others(client: VertexClient, region: str, stack: str) -> Resources:
    """What the deployments `stack` does not manage hold in `region` at max replicas."""
    held = Resources()
    for live in serving(client, region):
        if not live.managed_by(stack):
            held = held + live.deployment.at_max()
    return held


def quota_reading(
    client: VertexClient, quotas: ServiceUsageQuotas, regions: Sequence[str], stack: str
) -> QuotaReading:
    """The limits (one Service Usage read) and others' use (one endpoint list per region),
    read concurrently."""
    wanted = list(dict.fromkeys(regions))
    with ThreadPoolExecutor(max_workers=min(8, len(wanted) + 1)) as pool:
        metrics = pool.submit(serving_quota_metrics, quotas)
        others = {r: pool.submit(used_by_others, client, r, stack) for r in wanted}
        limits = limits_by_region(metrics.result(), wanted)
        return QuotaReading(limits, {r: f.result() for r, f in others.items()})
