"""Issue 22 item 1: drift is told field by field, from the `deployer-spec` record alone.

A field changed live while the manifests kept it is drift (its live value is `before`); a field
the manifests changed is not, even in the same resource; when the record cannot tell (both
changed the same field, or there is no record), nothing is claimed.
"""

from __future__ import annotations

from deployer.core.plan import Action, ActionKind, Plan
from deployer.plan.drift import drifted
from plan.helpers import Live, declare, model, plan_for, version

MANUAL = {"mode": "manual", "nodes": 2}


def _scaled(nodes: int, **spec: object) -> dict[str, object]:
    return model(
        "m",
        version("v1", machine_type="n1-standard-2", scaling={"mode": "manual", "nodes": nodes}),
        regions=["us-central1"],
        **spec,
    )


def _one(plan: Plan) -> Action:
    (action,) = plan.actions
    return action


def _changes(action: Action) -> dict[str, tuple[object, object, bool]]:
    return {c.path: (c.before, c.after, c.drift) for c in action.changes}


def test_nodes_scaled_live_under_an_unchanged_manifest_are_drift_with_their_live_value() -> None:
    applied = declare(_scaled(2))
    observed = Live.applied(applied).set("m/v1", manualScaling={"nodes": 4}).observed()
    action = _one(plan_for(applied, observed))
    assert action.kind is ActionKind.UPDATE and action.drift
    assert _changes(action) == {"manualScaling.nodes": (4, 2, True)}
    assert [c.path for c in action.drifted] == ["manualScaling.nodes"]


def test_a_manifest_change_next_to_a_live_change_is_told_apart() -> None:
    applied = declare(_scaled(2))
    observed = Live.applied(applied).set("m/v1", manualScaling={"nodes": 4}).observed()
    desired = declare(
        model(
            "m",
            version(
                "v1", machine_type="n1-standard-2", scaling=MANUAL, description="now described"
            ),
        )
    )
    action = _one(plan_for(desired, observed))
    assert _changes(action) == {
        "description": (None, "now described", False),  # the pull request's own change
        "manualScaling.nodes": (4, 2, True),  # set outside deployer: applying undoes it
    }
    assert action.drift and [c.path for c in action.drifted] == ["manualScaling.nodes"]


def test_a_manifest_change_alone_is_not_drift() -> None:
    observed = Live.applied(declare(_scaled(2))).observed()
    action = _one(plan_for(declare(_scaled(3)), observed))
    assert _changes(action) == {"manualScaling.nodes": (2, 3, False)}
    assert not action.drift


def test_the_same_field_changed_in_the_manifest_and_live_is_not_claimed() -> None:
    observed = Live.applied(declare(_scaled(2))).set("m/v1", manualScaling={"nodes": 4})
    action = _one(plan_for(declare(_scaled(3)), observed.observed()))
    assert _changes(action) == {"manualScaling.nodes": (4, 3, False)}


def test_model_labels_changed_live_and_description_in_the_manifest() -> None:
    applied = declare(_scaled(2, labels={"team": "a"}))
    observed = Live.applied(applied).label("m", team="b").observed()
    desired = declare(_scaled(2, labels={"team": "a"}, description="new"))
    action = _one(plan_for(desired, observed))
    assert {p: d for p, (_, _, d) in _changes(action).items()} == {
        "description": False,
        "labels": True,
    }


def test_without_a_record_nothing_is_claimed() -> None:
    applied = declare(_scaled(2))
    live = Live.applied(applied).set("m/v1", manualScaling={"nodes": 4})
    live.label("m/v1", deployer_spec=None)
    observed = live.observed()
    assert drifted(applied[1], observed[1]) is None
    assert not _one(plan_for(applied, observed)).drift
