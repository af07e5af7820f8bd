"""The public price catalog (Cloud Billing v1 `services.list`, `services.skus.list`)."""

from __future__ import annotations

from typing import Any

from deployer.accounting.prices import SKU_PREFIX, VERTEX_SERVICE_ID
from deployer.providers.discovery import all_pages
from deployer.providers.project.client import Billing

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
