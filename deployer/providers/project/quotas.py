"""A project's serving quotas per region, from Service Usage v1beta1 `consumerQuotaMetrics`.

Each metric holds limits; the one whose unit names `{region}` has one `quotaBucket` per region
that overrides it (`dimensions: {region: R}`) and a default bucket without dimensions;
`effectiveLimit` -1 means unlimited (shipped `serviceusage.v1beta1.json`, `QuotaBucket`; the
structure is the one a Vertex AI Model Garden notebook helper reads). Service Usage reports no
usage: what is in use is read from the deployments themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployer.providers.discovery import all_pages
from deployer.providers.project.client import ServiceUsageQuotas

PAGE_SIZE = 500


def quota_metrics(client: ServiceUsageQuotas, service: str, prefix: str) -> list[dict[str, Any]]:
    """Every quota metric of `service` (e.g. `aiplatform.googleapis.com`) in the project whose
    name starts with `prefix`."""
    parent = f"projects/{client.project}/services/{service}"
    metrics = all_pages(
        client,
        "",
        f"read the {service} quotas of project {client.project!r}",
        "metrics",
        lambda r, token: (
            r.services()
            .consumerQuotaMetrics()
            .list(parent=parent, view="BASIC", pageSize=PAGE_SIZE, pageToken=token)
        ),
    )
    return [m for m in metrics if str(m.get("metric", "")).startswith(prefix)]


def limits_by_region(
    metrics: Iterable[Mapping[str, Any]], regions: Iterable[str]
) -> dict[tuple[str, str], int | None]:
    """(metric, region) -> effective limit (None: unlimited) for the regional limit of each
    metric; a metric without one is left out (not known)."""
    found: dict[tuple[str, str], int | None] = {}
    wanted = list(regions)
    for metric in metrics:
        name = str(metric.get("metric", ""))
        for limit in metric.get("consumerQuotaLimits") or []:
            if "{region}" not in str(limit.get("unit", "")):
                continue
            has_default, default = False, None
            per_region: dict[str, int | None] = {}
            for bucket in limit.get("quotaBuckets") or []:
                value = _limit(bucket)
                where = (bucket.get("dimensions") or {}).get("region")
                if where:
                    per_region[str(where)] = value
                elif not bucket.get("dimensions"):
                    has_default, default = True, value
            for region in wanted:
                if region in per_region:
                    found[(name, region)] = per_region[region]
                elif has_default:
                    found[(name, region)] = default
    return found


def _limit(bucket: Mapping[str, Any]) -> int | None:
    raw = bucket.get("effectiveLimit", bucket.get("defaultLimit", "0"))
    value = int(raw)
    return None if value < 0 else value
