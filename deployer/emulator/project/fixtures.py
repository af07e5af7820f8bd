"""The twin's own data: default serving quotas and its price list. Neither is Google's: the
quotas are chosen so a healthy twin project holds any test stack, the prices are round numbers
of the right shape, and every SKU says it belongs to the twin (`serviceProviderName`)."""

from __future__ import annotations

from typing import Any

from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex.billing import VERTEX_SERVICE_ID
from deployer.providers.vertex.quota import CPUS, GPU_METRICS

DEFAULT_LIMITS: dict[str, int] = {CPUS: 1024, **{metric: 8 for metric in GPU_METRICS.values()}}
"""Per region, unless the `quotas` knob says otherwise [INF: the twin's choice]."""
DISPLAY_NAMES: dict[str, str] = {
    CPUS: "Custom model serving CPUs per region",
    **{
        metric: f"Custom model serving {gpu.replace('_', ' ').title()} GPUs per region"
        for gpu, metric in GPU_METRICS.items()
    },
}

PROVIDER = "deployer twin (fixture prices, not Google's)"
SERVICES: list[dict[str, Any]] = [
    {
        "name": f"services/{VERTEX_SERVICE_ID}",
        "serviceId": VERTEX_SERVICE_ID,
        "displayName": "Vertex AI",
        "businessEntityName": "businessEntities/GCP",
    },
    {
        "name": "services/6F81-5844-456A",
        "serviceId": "6F81-5844-456A",
        "displayName": "Compute Engine",
        "businessEntityName": "businessEntities/GCP",
    },
]

_SERIES: dict[str, tuple[float, float]] = {
    "N1": (0.04, 0.005),
    "E2": (0.03, 0.004),
    "N2": (0.04, 0.005),
    "N2D": (0.035, 0.0045),
    "C2": (0.045, 0.006),
    "C2D": (0.04, 0.005),
    "C3": (0.045, 0.006),
    "A2": (0.04, 0.005),
    "A3": (0.03, 0.0025),
    "G2": (0.03, 0.0035),
}
_GPUS: dict[str, float] = {
    "Nvidia Tesla T4": 0.4,
    "Nvidia Tesla V100": 2.5,
    "Nvidia Tesla P100": 1.5,
    "Nvidia Tesla P4": 0.6,
    "Nvidia Tesla A100": 3.0,
    "Nvidia A100 80gb": 4.0,
    "Nvidia L4": 0.7,
    "Nvidia H100 80gb": 11.0,
}


def _sku(n: int, description: str, price: float, unit: str, family: str) -> dict[str, Any]:
    units, nanos = int(price), round((price - int(price)) * 1e9)
    return {
        "name": f"services/{VERTEX_SERVICE_ID}/skus/TWIN-{n:04d}-0000",
        "skuId": f"TWIN-{n:04d}-0000",
        "description": description,
        "category": {
            "serviceDisplayName": "Vertex AI",
            "resourceFamily": "ApplicationServices",
            "resourceGroup": family,
            "usageType": "OnDemand",
        },
        "serviceRegions": list(catalog_vertex.REGIONS),
        "geoTaxonomy": {"type": "MULTI_REGIONAL", "regions": list(catalog_vertex.REGIONS)},
        "serviceProviderName": PROVIDER,
        "pricingInfo": [
            {
                "summary": "The deployer twin's fixture price",
                "effectiveTime": "2026-01-01T00:00:00Z",
                "currencyConversionRate": 1,
                "pricingExpression": {
                    "usageUnit": unit,
                    "usageUnitDescription": "hour" if unit == "h" else "gibibyte hour",
                    "baseUnit": "s" if unit == "h" else "By.s",
                    "baseUnitDescription": "second" if unit == "h" else "byte second",
                    "baseUnitConversionFactor": 3600 if unit == "h" else 3865470566400,
                    "displayQuantity": 1,
                    "tieredRates": [
                        {
                            "startUsageAmount": 0,
                            "unitPrice": {
                                "currencyCode": "USD",
                                "units": str(units),
                                "nanos": nanos,
                            },
                        }
                    ],
                },
            }
        ],
    }


def vertex_skus() -> list[dict[str, Any]]:
    """Prediction SKUs named as Google names them (providers/vertex/billing.py), twin-priced."""
    prefix = "Vertex AI: Online/Batch Prediction"
    skus: list[dict[str, Any]] = []
    for series, (core, ram) in _SERIES.items():
        kind = "Predefined Instance" if series in ("N1", "A3") else "Instance"
        skus.append(
            _sku(len(skus), f"{prefix} {series} {kind} Core running in Americas", core, "h", "CPU")
        )
        skus.append(
            _sku(
                len(skus), f"{prefix} {series} {kind} Ram running in Americas", ram, "GiBy.h", "RAM"
            )
        )
    for gpu, price in _GPUS.items():
        skus.append(_sku(len(skus), f"{prefix} {gpu} GPU running in Americas", price, "h", "GPU"))
    return skus
