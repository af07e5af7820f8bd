"""What a region's endpoints deploy, every endpoint of the project, deployer's or not: the use
that serving quota is charged for (at `maxReplicaCount`), with the labels that tell whose it is.

Only `dedicatedResources` deployments are counted; automatic resources (AutoML) and shared
resource pools are not [INF: they draw on other quota or on a pool counted once]."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.accounting.footprint import Deployment
from deployer.core import ownership
from deployer.providers.discovery import all_pages
from deployer.providers.vertex import footprint
from deployer.providers.vertex.client import VertexClient
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
