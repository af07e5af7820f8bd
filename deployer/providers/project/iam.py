"""The caller's own permissions (`testIamPermissions` on the project and on a bucket) and the
project's number (Resource Manager v3 `projects.get`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from deployer.providers.project.client import ResourceManager, StorageJson

MAX_PERMISSIONS_PER_CALL = 100
"""`TestIamPermissionsRequest.permissions`: wildcards are not allowed; the API takes a bounded
list [INF: 100, the documented cap of the IAM testIamPermissions methods]."""


def _chunks(items: Sequence[str]) -> list[list[str]]:
    return [
        list(items[i : i + MAX_PERMISSIONS_PER_CALL])
        for i in range(0, len(items), MAX_PERMISSIONS_PER_CALL)
    ]


def missing_on_project(client: ResourceManager, permissions: Sequence[str]) -> list[str]:
    """The permissions of `permissions` the caller does not hold on the project."""
    held: set[str] = set()
    resource = f"projects/{client.project}"
    for chunk in _chunks(sorted(set(permissions))):
        body = client.execute(
            "",
            f"test the caller's permissions on project {client.project!r}",
            functools.partial(_test_project, resource=resource, permissions=chunk),
        )
        held.update(body.get("permissions") or [])
    return sorted(set(permissions) - held)


def missing_on_bucket(client: StorageJson, bucket: str, permissions: Sequence[str]) -> list[str]:
    """The `storage.*` permissions of `permissions` the caller does not hold on `bucket`."""
    held: set[str] = set()
    for chunk in _chunks(sorted(set(permissions))):
        body = client.execute(
            "",
            f"test the caller's permissions on gs://{bucket}",
            functools.partial(_test_bucket, bucket=bucket, permissions=chunk),
        )
        held.update(body.get("permissions") or [])
    return sorted(set(permissions) - held)


def _test_project(r: Any, resource: str, permissions: list[str]) -> Any:
    return r.projects().testIamPermissions(resource=resource, body={"permissions": permissions})


def _test_bucket(r: Any, bucket: str, permissions: list[str]) -> Any:
    return r.buckets().testIamPermissions(bucket=bucket, permissions=permissions)


def project_number(client: ResourceManager) -> str:
    """The project's number (`Project.name` is `projects/NUMBER`)."""
    body = client.execute(
        "",
        f"read project {client.project!r}",
        lambda r: r.projects().get(name=f"projects/{client.project}"),
    )
    return str(body.get("name", "")).rsplit("/", 1)[-1]
