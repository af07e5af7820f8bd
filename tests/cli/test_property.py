"""Property: from any valid stack A, applying any valid stack B leaves nothing to change, and an
unmanaged model in the same project is never touched."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.helpers import Live, Repo, managed, model, unmanaged, version

REGIONAL = ("us-central1", "europe-west4")


@st.composite
def versions(draw: Any, on_global: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if on_global:
        fields["machine_type"] = draw(st.sampled_from(["mls1-c1-m2", "mls1-c4-m2"]))
        low = draw(st.integers(0, 2))
        fields["scaling"] = {"mode": "auto", "min_nodes": low}
    else:
        fields["machine_type"] = draw(
            st.sampled_from(["n1-standard-2", "n1-standard-4", "n1-highmem-2"])
        )
        if draw(st.booleans()):
            fields["scaling"] = {"mode": "manual", "nodes": draw(st.integers(1, 3))}
        else:
            low = draw(st.integers(1, 2))
            fields["scaling"] = {"mode": "auto", "min_nodes": low}
            if draw(st.booleans()):
                fields["scaling"]["max_nodes"] = low + draw(st.integers(0, 2))
    fields["runtime_version"] = draw(st.sampled_from(["2.11", "2.8"]))
    if draw(st.booleans()):
        fields["description"] = draw(st.sampled_from(["first", "second"]))
    if draw(st.booleans()):
        fields["labels"] = {"k": draw(st.sampled_from(["x", "y"]))}
    fields["artifact"] = draw(st.sampled_from(["a", "b", "c"]))
    return fields


@st.composite
def models(draw: Any) -> list[dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(["m1", "m2", "m3"]), max_size=3, unique=True))
    result = []
    for name in sorted(chosen):
        on_global = draw(st.booleans())
        regions = (
            ["global"]
            if on_global
            else draw(st.lists(st.sampled_from(REGIONAL), min_size=1, max_size=2, unique=True))
        )
        names = draw(
            st.lists(st.sampled_from(["v1", "v2", "v3"]), min_size=1, max_size=2, unique=True)
        )
        entries = []
        for vname in names:
            fields = draw(versions(on_global))
            entries.append(version(vname, fields.pop("artifact"), **fields))
        extra: dict[str, Any] = {"regions": regions}
        if len(names) > 1 or draw(st.booleans()):
            extra["default_version"] = draw(st.sampled_from(names))
        if draw(st.booleans()):
            extra["labels"] = {"team": draw(st.sampled_from(["a", "b"]))}
        if draw(st.booleans()):
            extra["description"] = draw(st.sampled_from(["one", "two"]))
        result.append(model(name, entries, **extra))
    return result


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=models(), second=models())
def test_apply_a_then_b_leaves_an_empty_plan_for_b(
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    repo: Repo,
    ml_client: Any,
    upload_dir: Any,
    pristine: Any,
) -> None:
    project = f"p-{uuid.uuid4().hex[:12]}"
    example = dataclasses.replace(
        repo, root=repo.root.parent / project, project=project, stack=f"s-{project[2:10]}"
    )
    live = Live(ml_client, project)
    uri = upload_dir(pristine["a"], repo.bucket, f"hand-made/{project}")
    live.create_model("us-central1", "m1")  # the name the stacks use, unmanaged
    live.create_version("us-central1", "m1", "v1", uri)
    bystander = live.snapshot()

    for manifests in (first, second):
        # An unmanaged us-central1/m1 makes declaring m1 there an error; keep to the rest.
        manifests = [
            m for m in manifests if not (m["name"] == "m1" and "us-central1" in m["regions"])
        ]
        example.write(manifests)
        result = example.apply("--allow-downtime")
        assert result.returncode == 0, str(result)
    plan = example.run("plan", "manifests", "--detailed-exitcode", "--allow-downtime")
    assert plan.returncode == 0, str(plan)
    state = live.snapshot()
    assert unmanaged(state, example.stack) == bystander
    declared = {
        f"{ep}/{m['name']}{suffix}"
        for m in manifests
        for ep in m["regions"]
        for suffix in ["", *(f"/{v['name']}" for v in m["versions"])]
    }
    assert set(managed(state, example.stack)) == declared
