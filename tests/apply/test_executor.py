"""The executor against a provider that records its calls: what a replacement found already in
place is never deleted as the superseded instance."""

from __future__ import annotations

from typing import Any

from deployer.apply.executor import Outcome, Status, execute
from deployer.core.model import Behavior, FieldSpec, ResourceKind, ResourceModel, Strategy
from deployer.core.plan import Action, ActionKind, Plan, Reason, Why
from deployer.core.resources import ObservedResource, ResourceKey

THING = ResourceKind(
    "thing", (FieldSpec("size", Behavior.REPLACE),), replace=Strategy.CREATE_THEN_DELETE
)


class _Provider:
    model = ResourceModel((THING,))
    apply_parallelism = 4

    def __init__(self, found: str) -> None:
        self.found = found
        self.calls: list[tuple[str, str]] = []

    def create(self, key: ResourceKey, *args: Any) -> ObservedResource:
        self.calls.append(("create", key.address))
        return ObservedResource(key, {"size": 2}, {}, ident=self.found)

    def delete(self, key: ResourceKey) -> None:
        self.calls.append(("delete", key.address))


class _Events:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def started(self, action: Action) -> None:
        return None

    def finished(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def _replacement(old: str) -> Plan:
    key = ResourceKey("us-central1", "iris", "v1", part="thing", kind="thing")
    replace = Action("replace:t", ActionKind.CREATE_THEN_DELETE, key, Reason(Why.FORCED))
    gone = Action(
        "delete:t#old",
        ActionKind.DELETE,
        key.with_instance(old),
        Reason(Why.SUPERSEDED),
        depends_on=("replace:t",),
    )
    return Plan("s", "p", (replace, gone))


def test_a_replacement_that_finds_the_old_instance_as_declared_keeps_it() -> None:
    """Another action's write (a label reset on a shared parent) can make the instance the plan
    replaces read as declared by the time the replacement runs; its create then takes it, and
    the delete of the superseded instance must not remove what now serves."""
    provider, events = _Provider(found="7"), _Events()
    outcomes = execute(_replacement(old="7"), provider, events)  # type: ignore[arg-type]
    assert [o.status for o in outcomes] == [Status.DONE, Status.DONE]
    assert provider.calls == [("create", "us-central1/iris/v1:thing")]


def test_a_replacement_that_made_a_new_instance_deletes_the_old_one() -> None:
    provider, events = _Provider(found="8"), _Events()
    execute(_replacement(old="7"), provider, events)  # type: ignore[arg-type]
    assert provider.calls == [
        ("create", "us-central1/iris/v1:thing"),
        ("delete", "us-central1/iris/v1:thing#7"),
    ]
