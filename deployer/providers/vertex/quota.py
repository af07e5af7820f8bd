"""Which Vertex AI serving quota a deployment draws on: the Service Usage metrics of
`aiplatform.googleapis.com` that `deployer.accounting.quota` checks a plan's peak against.

Quota metrics (Service Usage `consumerQuotaMetrics` of `aiplatform.googleapis.com`, limit unit
`1/{project}/{region}`): `custom_model_serving_cpus` for vCPUs, and one
`custom_model_serving_nvidia_<gpu>_gpus` per GPU type, named as in a Vertex AI Model Garden
notebook helper (`get_resource_id`: t4, v100, l4, a100, a100_80gb) and a billing write-up
(h100). Sources for the rest [INF, same pattern]. Every vCPU counts against
`custom_model_serving_cpus`, whatever the machine series [INF: the strictest reading; per-series
serving CPU metrics, where a project has them, are not consulted].
"""

from __future__ import annotations

from typing import Any

from deployer.accounting.footprint import Resources
from deployer.providers.project.client import ServiceUsageQuotas
from deployer.providers.project.quotas import quota_metrics

SERVICE = "aiplatform.googleapis.com"
SERVING_PREFIX = f"{SERVICE}/custom_model_serving_"
CPUS = f"{SERVING_PREFIX}cpus"
GPU_METRICS: dict[str, str] = {
    "NVIDIA_TESLA_T4": f"{SERVING_PREFIX}nvidia_t4_gpus",
    "NVIDIA_TESLA_V100": f"{SERVING_PREFIX}nvidia_v100_gpus",
    "NVIDIA_TESLA_P100": f"{SERVING_PREFIX}nvidia_p100_gpus",
    "NVIDIA_TESLA_P4": f"{SERVING_PREFIX}nvidia_p4_gpus",
    "NVIDIA_TESLA_K80": f"{SERVING_PREFIX}nvidia_k80_gpus",
    "NVIDIA_TESLA_A100": f"{SERVING_PREFIX}nvidia_a100_gpus",
    "NVIDIA_A100_80GB": f"{SERVING_PREFIX}nvidia_a100_80gb_gpus",
    "NVIDIA_L4": f"{SERVING_PREFIX}nvidia_l4_gpus",
    "NVIDIA_H100_80GB": f"{SERVING_PREFIX}nvidia_h100_gpus",
}


def full_metric(name: str) -> str:
    """`custom_model_serving_cpus` -> `aiplatform.googleapis.com/custom_model_serving_cpus`."""
    return name if "/" in name else f"{SERVICE}/{name}"


def demands(resources: Resources) -> dict[str, float]:
    """What `resources` asks of each quota metric (a GPU type without a known metric is asked
    of `..._<type>_gpus`, which then has no limit to check against)."""
    asked: dict[str, float] = {}
    if resources.vcpus:
        asked[CPUS] = resources.vcpus
    for kind, count in resources.gpus.items():
        if count:
            metric = GPU_METRICS.get(kind, f"{SERVING_PREFIX}{kind.lower()}_gpus")
            asked[metric] = asked.get(metric, 0) + count
    return asked


def serving_quota_metrics(client: ServiceUsageQuotas) -> list[dict[str, Any]]:
    """Every `custom_model_serving_*` metric of Vertex AI in the project."""
    return quota_metrics(client, SERVICE, SERVING_PREFIX)
