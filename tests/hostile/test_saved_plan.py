"""Item 1: a saved plan is a file anyone can edit. Garbage is told apart from manifests, an
edited plan is refused by its checksum, and an action aimed at another stack's resource is
refused against the live labels even when the checksum was recomputed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli.helpers import Live, Repo, model, version
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.apply.run import OwnershipError, check_ownership
from deployer.core.plan import Action, ActionKind, Plan, note
from deployer.core.resources import ObservedResource, ResourceKey
from deployer.render.jsonplan import _digest
from hostile.helpers import assert_one_line_error

NOT_PLANS = {
    "empty.json": b"",
    "object.json": b"{}",
    "list.json": b"[1, 2]",
    "garbage.bin": bytes(range(256)),
    "truncated.json": b'{"format_version": "1.0", "actions": [',
    "plan": b"hello",
    "deep.json": b"[" * 100_000,
    "wrong-types.json": json.dumps({"format_version": "1.0", "stack": 3}).encode(),
}


@pytest.mark.parametrize("name", sorted(NOT_PLANS))
def test_a_file_that_is_not_a_saved_plan_is_one_line(repo: Repo, name: str) -> None:
    repo.write([])
    path = repo.root / name
    path.write_bytes(NOT_PLANS[name])
    result = repo.run("apply", str(path), "--auto-approve", timeout=30)
    assert_one_line_error(result, str(path), "not a valid saved plan")


def _saved(repo: Repo, models: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    repo.write(models)
    out = repo.root / "plan.json"
    result = repo.run("plan", "manifests", "--out", str(out))
    assert result.returncode == 0, str(result)
    return out, json.loads(out.read_text())


def _edit(path: Path, doc: dict[str, Any], rechecksum: bool) -> None:
    if rechecksum:
        doc["checksum"] = _digest(doc)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True))


def test_an_edited_saved_plan_is_refused(repo: Repo, live: Live) -> None:
    out, doc = _saved(repo, [model("m", [version("v1")], regions=["us-central1"])])
    doc["actions"][0]["desired"]["description"] = "sneaked in"
    _edit(out, doc, rechecksum=False)
    result = repo.run("apply", str(out), "--auto-approve")
    assert_one_line_error(result, str(out), "checksum")
    assert live.snapshot() == {}


def test_a_plan_without_checksum_is_refused(repo: Repo, live: Live) -> None:
    out, doc = _saved(repo, [model("m", [version("v1")], regions=["us-central1"])])
    del doc["checksum"]
    _edit(out, doc, rechecksum=False)
    assert_one_line_error(repo.run("apply", str(out), "--auto-approve"), "checksum")
    assert live.snapshot() == {}


def test_an_action_added_by_hand_against_another_stack_is_refused(
    make_repo: Callable[..., Repo], live: Live, repo: Repo
) -> None:
    theirs = make_repo("theirs")
    theirs.write([model("shared", [version("v1"), version("v2")], default_version="v1")])
    assert theirs.apply().returncode == 0
    before = live.snapshot()
    out, doc = _saved(repo, [model("mine", [version("v1")], regions=["us-central1"])])
    victim = {
        "id": "hand-made",
        "kind": "delete",
        "address": "us-central1/shared/v2",
        "endpoint": "us-central1",
        "model": "shared",
        "version": "v2",
        "reason": "added by hand",
        "drift": False,
        "depends_on": [],
        "changes": [],
        "desired": None,
        "labels": None,
        "artifact_source": None,
    }
    doc["actions"].append(victim)
    _edit(out, doc, rechecksum=True)  # whoever edits can recompute the checksum too
    result = repo.run("apply", str(out), "--auto-approve")
    assert_one_line_error(result, "us-central1/shared", f"stack '{theirs.stack}'")
    assert live.snapshot() == before  # nothing of theirs, nothing of ours


# ---- the rule itself, property-based ---------------------------------------------------------

STACK = "ours"
owners = st.sampled_from([STACK, "other", None, ""])
keys = st.builds(
    ResourceKey,
    st.sampled_from(["global", "us-central1"]),
    st.sampled_from(["a", "b"]),
    st.sampled_from([None, "v1", "v2"]),
    st.sampled_from(["", "endpoint"]),
    st.sampled_from(["", "x"]),
)


def _labels(owner: str | None) -> dict[str, str]:
    if owner is None:
        return {}
    return {"managed-by": "deployer", "deployer-stack": owner}


@settings(max_examples=300, deadline=None)
@given(
    live=st.dictionaries(keys, owners, max_size=8),
    targets=st.lists(keys, max_size=5),
    kind=st.sampled_from(list(ActionKind)),
)
def test_ownership_is_checked_on_the_target_and_its_model(
    live: dict[ResourceKey, str | None], targets: list[ResourceKey], kind: ActionKind
) -> None:
    observed = [ObservedResource(k, {}, _labels(o)) for k, o in live.items()]
    actions = tuple(Action(f"a{i}", kind, k, note("r")) for i, k in enumerate(targets))
    plan = Plan(STACK, "p", actions)

    def foreign(key: ResourceKey) -> bool:
        return any(
            k.current == key and (o != STACK) and not (key.part and o is None)
            for k, o in live.items()
        )

    expect = any(foreign(t.current) or foreign(t.model_key) for t in targets)
    if expect:
        with pytest.raises(OwnershipError):
            check_ownership(plan, observed)
    else:
        check_ownership(plan, observed)
