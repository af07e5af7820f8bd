"""Maps `/<google api host>/<version>/...` paths onto `ProjectService` calls."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from deployer.emulator.apierrors import invalid, not_found
from deployer.emulator.project.service import ProjectService

HOSTS = (
    "serviceusage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudbilling.googleapis.com",
    "storage.googleapis.com",
)
NAME = r"([^/:]+)"
Query = dict[str, list[str]]
Handler = Callable[..., Any]


def is_project_path(path: str) -> bool:
    """True for a path under one of the project-level API hosts (`/HOST/...`)."""
    return path.lstrip("/").split("/", 1)[0] in HOSTS


def _table(svc: ProjectService) -> list[tuple[str, re.Pattern[str], Handler]]:
    def permissions(body: Any) -> Any:
        return (body or {}).get("permissions") if isinstance(body, dict) or body is None else None

    routes: list[tuple[str, str, Handler]] = [
        (
            "GET",
            f"serviceusage.googleapis.com/v1/projects/{NAME}/services/{NAME}",
            lambda q, b, p, s: svc.get_service(p, s),
        ),
        (
            "GET",
            f"serviceusage.googleapis.com/v1beta1/projects/{NAME}/services/{NAME}"
            "/consumerQuotaMetrics",
            lambda q, b, p, s: svc.quota_metrics(p, s, q),
        ),
        (
            "GET",
            f"cloudresourcemanager.googleapis.com/v3/projects/{NAME}",
            lambda q, b, p: svc.get_project(p),
        ),
        (
            "POST",
            f"cloudresourcemanager.googleapis.com/v3/projects/{NAME}:testIamPermissions",
            lambda q, b, p: svc.test_permissions(permissions(b)),
        ),
        ("GET", "cloudbilling.googleapis.com/v1/services", lambda q, b: svc.billing_services()),
        (
            "GET",
            f"cloudbilling.googleapis.com/v1/services/{NAME}/skus",
            lambda q, b, s: svc.skus(s, q),
        ),
        ("GET", f"storage.googleapis.com/storage/v1/b/{NAME}", lambda q, b, x: svc.get_bucket(x)),
        (
            "GET",
            f"storage.googleapis.com/storage/v1/b/{NAME}/iam",
            lambda q, b, x: svc.bucket_policy(x),
        ),
        (
            "GET",
            f"storage.googleapis.com/storage/v1/b/{NAME}/iam/testPermissions",
            lambda q, b, x: svc.test_bucket_permissions(x, q.get("permissions", [])),
        ),
    ]
    return [(verb, re.compile(f"^{pattern}$"), fn) for verb, pattern, fn in routes]


class ProjectRouter:
    def __init__(self, service: ProjectService) -> None:
        self.table = _table(service)

    def dispatch(self, method: str, path: str, raw_query: str, body: Any) -> Any:
        query: Query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        rest = path.lstrip("/")
        known = False
        for verb, pattern, fn in self.table:
            match = pattern.match(rest)
            if match is None:
                continue
            known = True
            if verb != method:
                continue
            args = [urllib.parse.unquote(g) for g in match.groups()]
            if any(not a for a in args):
                raise invalid(f"Empty name in {path!r}.")
            return fn(query, body, *args)
        if known:
            raise not_found(f"Method {method} is not supported on {path!r}.")
        raise not_found(f"The requested URL {path} was not found on this server.")
