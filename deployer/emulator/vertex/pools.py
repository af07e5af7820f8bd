"""Deployment resource pools: create, get, list, delete (patch refused), as long-running
operations where the service has them ([DD] projects.locations.deploymentResourcePools)."""

from __future__ import annotations

import re
from typing import Any

from deployer.emulator.apierrors import exists, invalid, not_found, precondition
from deployer.emulator.base import now_iso
from deployer.emulator.listing import paginate
from deployer.emulator.store import Row
from deployer.emulator.vertex import rules
from deployer.emulator.vertex.base import (
    EMPTY_TYPE,
    ENDPOINT,
    TYPE,
    VENDPOINT,
    VOPERATION,
    VPOOL,
    Json,
    location_name,
)
from deployer.emulator.vertex.endpoints import Endpoints

POOL_ID_RE = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
"""CreateDeploymentResourcePoolRequest.deploymentResourcePoolId [DD]: "The maximum length is 63
characters, and valid characters are `/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/`"."""


def pool_name(project: str, location: str, pool: str) -> str:
    return f"{location_name(project, location)}/deploymentResourcePools/{pool}"


class Pools(Endpoints):
    def _pool_row(self, project: str, location: str, pool: str) -> Row:
        row = self.store.get(VPOOL, ENDPOINT, pool_name(project, location, pool))
        if row is None:
            raise not_found(
                f"DeploymentResourcePool {pool_name(project, location, pool)!r} not found."
            )
        return row

    def create_pool(self, project: str, location: str, body: Json) -> Json:
        pool_id = body.get("deploymentResourcePoolId")
        if not isinstance(pool_id, str) or not POOL_ID_RE.match(pool_id):
            raise invalid(
                f"Field: deployment_resource_pool_id Error: {pool_id!r} must match "
                "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$."
            )
        wanted = body.get("deploymentResourcePool") or {}
        rules.check_prediction_location(location, "deploymentResourcePools.create")
        resources = rules.dedicated_resources(  # "Required. The underlying DedicatedResources"
            wanted.get("dedicatedResources"),
            None,
            where="deployment_resource_pool.dedicated_resources",
        )
        fields: Json = {"dedicatedResources": resources}
        for key in ("serviceAccount", "disableContainerLogging"):
            if wanted.get(key) is not None:
                fields[key] = wanted[key]
        with self.store.transaction():
            name = pool_name(project, location, pool_id)
            reserved = [
                r.internal.get("create")
                for r in self.store.pending_operations(project, kind=VOPERATION)
                if r.internal["type"] == "create_pool"
            ]
            if self.store.get(VPOOL, ENDPOINT, name) is not None or name in reserved:
                raise exists(f"DeploymentResourcePool {name!r} already exists.")
            op = self._new_operation(
                project,
                location,
                location_name(project, location),
                "create_pool",
                "CreateDeploymentResourcePoolOperationMetadata",
                {"create": name, "fields": fields},
            )
        self.wake()
        return op

    def _finish_create_pool(self, op: Row, outcome: str | None) -> None:
        name = op.internal["create"]
        if self.store.get(VPOOL, ENDPOINT, name) is not None:
            self._fail(op, "ALREADY_EXISTS", f"DeploymentResourcePool {name!r} already exists.")
            return
        data = {**op.internal["fields"], "name": name, "createTime": now_iso()}
        parent = name.rsplit("/deploymentResourcePools/", 1)[0]
        self.store.put(Row(VPOOL, ENDPOINT, name, parent, op.project, data, {}, False, None))
        op.data["response"] = {"@type": TYPE + "DeploymentResourcePool", **data}

    def get_pool(self, project: str, location: str, pool: str) -> Json:
        with self.store.transaction():
            return dict(self._pool_row(project, location, pool).data)

    def list_pools(self, project: str, location: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            rows = self.store.children(VPOOL, ENDPOINT, location_name(project, location))
            views = [dict(r.data) for r in rows]
        return paginate(views, query, "deploymentResourcePools")

    def patch_pool(self, project: str, location: str, pool: str, body: Any) -> Json:
        self._pool_row(project, location, pool)
        # [MM] DeploymentResourcePool.yaml: `immutable: true` (the whole resource) [INF]
        raise invalid(
            "Field: update_mask Error: a deployment resource pool's resources are fixed at its "
            "creation; create another pool."
        )

    def _pool_users(self, name: str) -> list[str]:
        parent = name.rsplit("/deploymentResourcePools/", 1)[0]
        return [
            f"{endpoint.name} ({dm['id']})"
            for endpoint in self.store.children(VENDPOINT, ENDPOINT, parent)
            for dm in endpoint.data["deployedModels"]
            if dm.get("sharedResources") == name
        ]

    def delete_pool(self, project: str, location: str, pool: str) -> Json:
        with self.store.transaction():
            row = self._pool_row(project, location, pool)
            if row.internal.get("busy"):
                raise precondition(f"DeploymentResourcePool {row.name} is being deleted.")
            users = self._pool_users(row.name)
            if users:  # [INF] the strictest reading: a pool goes only once nothing uses it
                raise precondition(
                    f"DeploymentResourcePool {row.name} has deployed models "
                    f"({', '.join(users)}); undeploy them first."
                )
            op = self._new_operation(
                project,
                location,
                location_name(project, location),
                "delete_pool",
                "DeleteOperationMetadata",
                {"pool": row.name},
            )
            row.internal["busy"] = op["name"]
            self.store.put(row)
        self.wake()
        return op

    def _finish_delete_pool(self, op: Row, outcome: str | None) -> None:
        self.store.delete(VPOOL, ENDPOINT, op.internal["pool"])
        op.data["response"] = {"@type": EMPTY_TYPE}
