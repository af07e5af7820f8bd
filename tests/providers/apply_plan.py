"""A minimal, sequential stand-in for the executor: runs a Plan's actions through a Provider in
dependency order. Enough to prove that what the diff asks for, the provider does."""

from __future__ import annotations

from deployer.plan.diff import spec_hash
from deployer.plan.model import Action, ActionKind, Plan
from deployer.providers.base import Provider
from deployer.providers.schema import DesiredResource


def ordered(plan: Plan) -> list[Action]:
    done: set[str] = set()
    out: list[Action] = []
    pending = list(plan.actions)
    while pending:
        ready = [a for a in pending if {*a.depends_on, *a.ordered_after} <= done]
        assert ready, f"dependency cycle among {[a.id for a in pending]}"
        for action in ready:
            out.append(action)
            done.add(action.id)
            pending.remove(action)
    return out


def apply_plan(provider: Provider, plan: Plan) -> None:
    assert not plan.errors, plan.errors
    for action in ordered(plan):
        key = action.key
        if action.kind in (ActionKind.CREATE, ActionKind.REPLACE, ActionKind.UPDATE):
            assert action.desired is not None and action.labels is not None
            spec = spec_hash(DesiredResource(key, action.desired, action.labels))
        if action.kind is ActionKind.CREATE:
            provider.create(key, action.desired, action.labels, spec)
        elif action.kind is ActionKind.REPLACE:
            provider.delete(key)
            provider.create(key, action.desired, action.labels, spec)
        elif action.kind is ActionKind.UPDATE:
            masks = [c.mask for c in action.changes]
            provider.update(key, masks, action.desired, action.labels, spec)
        elif action.kind is ActionKind.DELETE:
            provider.delete(key)
        elif action.kind is ActionKind.SET_DEFAULT:
            provider.set_default(key)
        elif action.kind is ActionKind.WAIT:
            provider.wait_settled(key)
