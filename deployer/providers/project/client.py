"""Discovery clients for the project-level APIs, sharing `DiscoveryClient`'s threading, retries
and one-line errors.

Each API has one global host. With AIPLATFORM_EMULATOR_HOST set, every one of them goes to the
twin, under a path named after the real host (`http://TWIN/serviceusage.googleapis.com/...`), as
the twin's regional `ml` endpoints live under `/REGION/`: one variable, one twin, and never a
silent fall back to the real cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from deployer.providers.discovery import UNSET, DiscoveryClient
from deployer.providers.retry import RetryPolicy

DOCTOR_RETRY = RetryPolicy(attempts=2, initial_delay=0.5, max_delay=2.0, deadline=10.0)
"""Checks must answer in seconds: one retry of a 429/5xx, then the problem is reported."""
CHECK_TIMEOUT = 15.0


class ProjectApiClient(DiscoveryClient):
    """Calls to one global Google API on behalf of `project`."""

    host: ClassVar[str]
    service_path: ClassVar[str] = ""

    def url(self, location: str = "") -> str:
        if self.emulator:
            return f"{self.emulator.rstrip('/')}/{self.host}/{self.service_path}"
        return f"https://{self.host}/{self.service_path}"


class ServiceUsage(ProjectApiClient):
    api = "serviceusage"
    api_version = "v1"
    host = "serviceusage.googleapis.com"
    permission_hint = (
        "reading the project's services needs serviceusage.services.get, e.g. the "
        "'Service Usage Viewer' role (roles/serviceusage.serviceUsageViewer)"
    )


class ServiceUsageQuotas(ProjectApiClient):
    """`consumerQuotaMetrics` exists only in Service Usage v1beta1 (shipped discovery doc)."""

    api = "serviceusage"
    api_version = "v1beta1"
    host = "serviceusage.googleapis.com"
    permission_hint = (
        "reading quotas needs serviceusage.quotas.get, e.g. the 'Service Usage Viewer' role "
        "(roles/serviceusage.serviceUsageViewer)"
    )


class ResourceManager(ProjectApiClient):
    api = "cloudresourcemanager"
    api_version = "v3"
    host = "cloudresourcemanager.googleapis.com"
    permission_hint = (
        "reading the project needs resourcemanager.projects.get, e.g. the 'Browser' role "
        "(roles/browser)"
    )


class Billing(ProjectApiClient):
    api = "cloudbilling"
    api_version = "v1"
    host = "cloudbilling.googleapis.com"
    permission_hint = (
        "the public price catalog needs the Cloud Billing API (cloudbilling.googleapis.com) "
        "enabled in the project the credentials bill to"
    )


class StorageJson(ProjectApiClient):
    """Bucket metadata and IAM through the Cloud Storage JSON API (`storage` v1)."""

    api = "storage"
    api_version = "v1"
    host = "storage.googleapis.com"
    service_path = "storage/v1/"
    permission_hint = (
        "reading the bucket needs storage.buckets.get and storage.buckets.getIamPolicy, e.g. "
        "the 'Storage Admin' role on the bucket (roles/storage.admin)"
    )


@dataclass(frozen=True)
class ProjectClients:
    services: ServiceUsage
    quotas: ServiceUsageQuotas
    projects: ResourceManager
    billing: Billing
    storage: StorageJson


def project_clients(
    project: str, *, emulator: str | None = UNSET, retry: RetryPolicy = DOCTOR_RETRY
) -> ProjectClients:
    """One client per project-level API (credentials are loaded once per process)."""
    kwargs: dict[str, Any] = {"emulator": emulator, "retry": retry, "timeout": CHECK_TIMEOUT}
    return ProjectClients(
        ServiceUsage(project, **kwargs),
        ServiceUsageQuotas(project, **kwargs),
        ResourceManager(project, **kwargs),
        Billing(project, **kwargs),
        StorageJson(project, **kwargs),
    )
