"""The twin's project-level calls. State lives in the knobs; nothing here persists.

Rules and their sources (shipped discovery documents unless said otherwise):
- Service Usage v1 `services.get` answers `{name, parent, state}` with state ENABLED or
  DISABLED; the twin reports every service ENABLED except the `disabled_services` knob's.
- Service Usage v1beta1 `consumerQuotaMetrics.list`: metrics of the named service, each with a
  regional limit (unit `1/{project}/{region}`) holding a default bucket and one bucket per region
  that differs; int64 limits are JSON strings; -1 is unlimited. The twin serves the Vertex AI
  serving metrics only (fixtures.DEFAULT_LIMITS, then the `quotas` knob) [INF].
- Resource Manager v3 `projects.get` gives `name: projects/NUMBER`; the twin derives a stable
  12-digit number from the project ID [INF]. `projects.testIamPermissions` returns the subset of
  the asked permissions the caller holds: all but the `denied_permissions` knob's (fnmatch
  patterns); a malformed permission is a 400 [INF: the service refuses unknown permissions].
- Cloud Billing v1 `services.list` / `services.skus.list`: the twin's fixture catalog.
- Storage v1 `buckets.get`: existence from the GCS emulator, which reports every bucket in
  US-CENTRAL1 and owned by project number 0 (observed); the `buckets` knob sets a bucket's
  location and owning project. `buckets.getIamPolicy`: the GCS emulator checks no access at all,
  so the twin's policy says so (`allUsers` may read) unless the knob lists the bucket's
  `readers`. `buckets.testIamPermissions`: as for projects.
- Calls to a disabled API (`aiplatform.googleapis.com`, `ml.googleapis.com`) fail with 403
  PERMISSION_DENIED, reason SERVICE_DISABLED, as the real APIs answer [INF: wording].
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from deployer.emulator.apierrors import ApiError, invalid, not_found
from deployer.emulator.knobs import KnobBox, Knobs
from deployer.emulator.project import fixtures, quotas
from deployer.emulator.project_knobs import ANY_REGION, PERMISSION_RE, REGIONS
from deployer.providers.vertex.quota import SERVICE

Json = dict[str, Any]
DEFAULT_LOCATION = "US-CENTRAL1"
READER_ROLE = "roles/storage.objectViewer"


def project_number(project: str) -> str:
    """The twin's number for a project ID (a number stays itself)."""
    if project.isdigit():
        return project
    digest = int(hashlib.sha256(project.encode()).hexdigest(), 16)
    return str(10**11 + digest % (9 * 10**11))


def disabled_error(knobs: Knobs, service: str, project: str) -> ApiError | None:
    """The answer of a call to `service` in `project` when the knob disables it."""
    if service not in knobs.disabled_services:
        return None
    number = project_number(project) if project else ""
    where = f" in project {number}" if number else ""
    return ApiError(
        403,
        f"{service} has not been used{where} before or it is disabled. Enable it by visiting "
        f"https://console.developers.google.com/apis/api/{service}/overview"
        f"{f'?project={number}' if number else ''} then retry.",
        "PERMISSION_DENIED",
    )


DUAL_REGIONS = frozenset({"ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4"})


def location_type(location: str) -> str:
    """`region`, `dual-region` or `multi-region`, as Cloud Storage names a location's type."""
    upper = location.upper()
    if upper in DUAL_REGIONS:
        return "dual-region"
    return "region" if "-" in upper else "multi-region"


class ProjectService:
    def __init__(self, knobs: KnobBox, storage_url: str | None) -> None:
        self.knobs = knobs
        self.storage_url = storage_url.rstrip("/") if storage_url else None

    # ---- Service Usage -----------------------------------------------------------------------

    def get_service(self, project: str, service: str) -> Json:
        state = "DISABLED" if service in self.knobs.get().disabled_services else "ENABLED"
        return {
            "name": f"projects/{project_number(project)}/services/{service}",
            "parent": f"projects/{project_number(project)}",
            "state": state,
        }

    def quota_metrics(self, project: str, service: str, query: dict[str, list[str]]) -> Json:
        if service != SERVICE:
            return {}
        overrides = quotas.overrides(self.knobs.get())
        names = sorted({*fixtures.DEFAULT_LIMITS, *overrides})
        start = int((query.get("pageToken") or ["0"])[0] or 0)
        size = int((query.get("pageSize") or ["0"])[0] or 0) or len(names)
        page = names[start : start + size]
        parent = f"projects/{project_number(project)}/services/{service}"
        body: Json = {"metrics": [self._metric(parent, n, overrides.get(n, {})) for n in page]}
        if start + size < len(names):
            body["nextPageToken"] = str(start + size)
        return body

    def _metric(self, parent: str, metric: str, override: dict[str, int]) -> Json:
        quoted = urllib.parse.quote(metric, safe="")
        default = fixtures.DEFAULT_LIMITS.get(metric, 0)
        base = override.get(ANY_REGION, default)
        buckets: list[Json] = [{"effectiveLimit": str(base), "defaultLimit": str(default)}]
        for region, limit in sorted(override.items()):
            if region != ANY_REGION:
                buckets.append(
                    {
                        "effectiveLimit": str(limit),
                        "defaultLimit": str(default),
                        "dimensions": {"region": region},
                    }
                )
        name = f"{parent}/consumerQuotaMetrics/{quoted}"
        return {
            "name": name,
            "displayName": fixtures.DISPLAY_NAMES.get(metric, metric.rsplit("/", 1)[-1]),
            "metric": metric,
            "unit": "1/{project}/{region}",
            "consumerQuotaLimits": [
                {
                    "name": f"{name}/limits/%2Fproject%2Fregion",
                    "metric": metric,
                    "unit": "1/{project}/{region}",
                    "isPrecise": True,
                    "allowsAdminOverrides": True,
                    "supportedLocations": sorted(REGIONS),
                    "quotaBuckets": buckets,
                }
            ],
        }

    # ---- Resource Manager --------------------------------------------------------------------

    def get_project(self, project: str) -> Json:
        return {
            "name": f"projects/{project_number(project)}",
            "projectId": project,
            "displayName": project,
            "state": "ACTIVE",
        }

    def test_permissions(self, asked: Any) -> Json:
        if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
            raise invalid("permissions: a list of permission names.")
        for permission in asked:
            if not PERMISSION_RE.match(permission) or "*" in permission:
                raise invalid(f"Permission {permission} is not valid.")
        denied = self.knobs.get().denied_permissions
        held = [p for p in asked if not any(fnmatch.fnmatchcase(p, d) for d in denied)]
        return {"permissions": held} if held else {}

    # ---- Cloud Billing -----------------------------------------------------------------------

    def billing_services(self) -> Json:
        return {"services": fixtures.SERVICES}

    def skus(self, service_id: str, query: dict[str, list[str]]) -> Json:
        if service_id not in {s["serviceId"] for s in fixtures.SERVICES}:
            raise not_found(f"Service services/{service_id} not found.")
        currency = (query.get("currencyCode") or ["USD"])[0] or "USD"
        skus = fixtures.vertex_skus() if service_id == fixtures.SERVICES[0]["serviceId"] else []
        for sku in skus:
            for tier in sku["pricingInfo"][0]["pricingExpression"]["tieredRates"]:
                tier["unitPrice"]["currencyCode"] = currency
        return {"skus": skus}

    # ---- Cloud Storage bucket metadata and IAM ------------------------------------------------

    def _gcs_bucket(self, bucket: str) -> Json:
        disabled = disabled_error(self.knobs.get(), "storage.googleapis.com", "")
        if disabled is not None:
            raise disabled
        if self.storage_url is None:
            raise not_found(f"The specified bucket does not exist: {bucket} (no GCS emulator).")
        url = f"{self.storage_url}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise not_found("The specified bucket does not exist.") from None
            raise ApiError(502, f"GCS emulator answered {exc.code}", "UNAVAILABLE") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiError(503, f"GCS emulator unreachable: {exc}", "UNAVAILABLE") from None

    def get_bucket(self, bucket: str) -> Json:
        found = self._gcs_bucket(bucket)
        settings = self.knobs.get().buckets.get(bucket, {})
        location = str(settings.get("location") or found.get("location") or DEFAULT_LOCATION)
        owner = settings.get("project")
        kept = {"kind", "id", "name", "timeCreated", "updated", "metageneration", "etag"}
        body = {k: v for k, v in found.items() if k in kept}
        body.update(
            {
                "location": location.upper(),
                "locationType": location_type(location),
                "storageClass": found.get("storageClass") or "STANDARD",
                "projectNumber": project_number(owner) if owner else "0",
            }
        )
        return body

    def bucket_policy(self, bucket: str) -> Json:
        self._gcs_bucket(bucket)
        settings = self.knobs.get().buckets.get(bucket, {})
        readers = settings.get("readers")
        members = ["allUsers"] if readers is None else list(readers)
        bindings = [{"role": READER_ROLE, "members": members}] if members else []
        return {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{bucket}",
            "version": 1,
            "etag": "CAE=",
            "bindings": bindings,
        }

    def test_bucket_permissions(self, bucket: str, asked: list[str]) -> Json:
        self._gcs_bucket(bucket)
        held = self.test_permissions(asked).get("permissions", [])
        return {"kind": "storage#testIamPermissionsResponse", "permissions": held}
