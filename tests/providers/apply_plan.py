"""A minimal, sequential stand-in for the executor: runs a Plan's actions through a Provider in
dependency order, each as the executor performs it. Enough to prove that what the planner asks
for, the provider does."""

from __future__ import annotations

from deployer.apply.executor import perform
from deployer.core.plan import Action, Plan
from deployer.core.provider import Provider


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
        perform(provider, action)
