"""Which deployments a plan starts from and ends with, and how each one rolls out, read from the
plan's actions alone: what the stack holds live (before), that with the plan's creates,
updates, replacements and deletes applied (after), and per deployment whether a replacement
runs old and new together (create-then-delete) or not (delete-then-create, in place).

The provider says what a resource of each kind runs (`DeploymentOf`); everything else is the
core's vocabulary, so this works for every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from deployer.accounting.footprint import Deployment, Rollout
from deployer.core import ownership
from deployer.core.plan import ActionKind, Plan, followed
from deployer.core.resources import ObservedResource, ResourceKey

DeploymentOf = Callable[[ResourceKey, Mapping[str, Any]], Deployment | None]
"""The provider's reading of a resource's fields (desired or live): what it deploys, or None
for a kind that runs no replicas."""

ROLLOUTS: dict[ActionKind, Rollout] = {
    ActionKind.CREATE_THEN_DELETE: Rollout.CREATE_BEFORE_DESTROY,
    ActionKind.DELETE_THEN_CREATE: Rollout.DELETE_THEN_CREATE,
}
"""A replacement's rollout from its action kind; anything else changes in place."""
WRITES = frozenset(
    {
        ActionKind.CREATE,
        ActionKind.UPDATE,
        ActionKind.CREATE_THEN_DELETE,
        ActionKind.DELETE_THEN_CREATE,
    }
)


@dataclass(frozen=True)
class Changes:
    before: tuple[Deployment, ...]
    after: tuple[Deployment, ...]
    rollouts: Mapping[tuple[str, str, str], Rollout]


def _named(deployment: Deployment, key: ResourceKey) -> Deployment:
    """An old instance of a replaced resource is a deployment of its own (`v1#123`)."""
    if not key.instance:
        return deployment
    return replace(deployment, version=f"{deployment.version}#{key.instance}")


def changes(
    plan: Plan,
    observed: Iterable[ObservedResource],
    deployment_of: DeploymentOf,
) -> Changes:
    """Before, after and rollouts of `plan`, made from `observed` (the live state it was
    computed from); only the stack's own live resources count as before."""
    before: dict[ResourceKey, Deployment] = {}
    aliases: dict[ResourceKey, ResourceKey] = {}
    for resource in observed:
        if not ownership.owned_by(resource.labels, plan.stack):
            continue
        found = deployment_of(resource.key, resource.fields)
        if found is None:
            continue
        before[resource.key] = _named(found, resource.key)
        aliases[resource.key] = resource.key
        if resource.ident and not resource.key.instance:
            # a create-then-delete deletes the old instance by its identity
            aliases[resource.key.with_instance(resource.ident)] = resource.key
    after = dict(before)
    rollouts: dict[tuple[str, str, str], Rollout] = {}
    rolled = {update.id for update, _ in followed(plan.actions)}
    for action in plan.actions:
        if action.kind is ActionKind.DELETE:
            after.pop(aliases.get(action.key, action.key), None)
    for action in plan.actions:
        if action.kind not in WRITES or action.desired is None:
            continue
        found = deployment_of(action.key, action.desired)
        if found is None:
            continue
        after[action.key.current] = found
        if action.kind in ROLLOUTS:
            rollouts[found.key] = ROLLOUTS[action.kind]
        elif action.id in rolled:
            rollouts[found.key] = Rollout.ROLLING
    return Changes(tuple(before.values()), tuple(after.values()), rollouts)
