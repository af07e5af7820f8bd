"""Property, on vertex as on mlengine: from any valid stack A, applying any valid stack B leaves
nothing to change, and an unmanaged model in the same project is never touched. The stacks use
issue 24's settings too: endpoints of every kind (moving between them sets up a new endpoint),
spot nodes, request-count and scale-to-zero scaling, rolling versions and a shared pool.

The pure engine gets hundreds of such examples against an in-memory Vertex
(tests/plan/test_rollout.py); these few go through the real CLI, provider and twin.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.helpers import Repo, model, version
from cli.vertex_live import VertexLive
from deployer.emulator.knobs import VERTEX_REALISM

REGIONS = ("us-central1", "europe-west4")
POOLS = [
    {"name": "small-cpu", "region": region, "machine_type": "n1-standard-4"} for region in REGIONS
]
"""Declared in every example (`preview: true` too): versions may move on and off it."""
ENDPOINTS: list[dict[str, Any] | None] = [
    None,
    {"dedicated": True, "inference_timeout": 300},
    {"private_service_connect": {"project_allowlist": ["acme-prod"]}},
    {"labels": {"tier": "gold"}, "display_name": "Models"},
]
SCALINGS: list[dict[str, Any]] = [
    {"mode": "manual", "nodes": 1},
    {"mode": "manual", "nodes": 2},
    {"mode": "auto", "min_nodes": 1, "max_nodes": 3},
    {
        "mode": "auto",
        "min_nodes": 1,
        "max_nodes": 3,
        "metrics": [{"name": "REQUEST_COUNT", "target": 600}],
    },
    {"mode": "auto", "min_nodes": 0, "max_nodes": 2},
]


@st.composite
def models(draw: Any) -> list[dict[str, Any]]:
    """Valid vertex stacks, issue 24's settings included: endpoint access and settings, spot,
    request-count and scale-to-zero scaling, rolling versions, versions on a shared pool."""
    result = []
    for name in sorted(draw(st.lists(st.sampled_from(["m1", "m2"]), max_size=2, unique=True))):
        names = sorted(
            draw(st.lists(st.sampled_from(["v1", "v2"]), min_size=1, max_size=2, unique=True))
        )
        endpoint = draw(st.sampled_from(ENDPOINTS))
        private = endpoint is not None and "private_service_connect" in endpoint
        entries = []
        for vname in names:
            artifact = draw(st.sampled_from(["a", "b"]))
            if not private and draw(st.booleans()):
                entries.append(version(vname, artifact, resource_pool="small-cpu"))
                continue
            scaling = draw(st.sampled_from(SCALINGS))
            fields: dict[str, Any] = {"spot": draw(st.booleans())}
            if scaling.get("min_nodes") != 0 and draw(st.booleans()):
                fields["rollout"] = {"strategy": "rolling", "max_surge": 1}
            entries.append(
                version(
                    vname,
                    artifact,
                    machine_type=draw(st.sampled_from(["n1-standard-2", "n1-standard-4"])),
                    scaling=scaling,
                    **fields,
                )
            )
        extra: dict[str, Any] = {
            "regions": draw(st.lists(st.sampled_from(REGIONS), min_size=1, unique=True)),
            "default_version": draw(st.sampled_from(names)),
        }
        if len(names) == 2 and draw(st.booleans()):
            other = next(n for n in names if n != extra["default_version"])
            extra["traffic"] = {extra["default_version"]: 90, other: 10}
        if draw(st.booleans()):
            extra["description"] = draw(st.sampled_from(["one", "two"]))
        if endpoint is not None:
            extra["endpoint"] = endpoint
        result.append(model(name, entries, **extra))
    return result


@pytest.fixture(autouse=True, params=["plain", "realistic"])
def profile(request: pytest.FixtureRequest, twin_knobs: Any) -> str:
    """The property holds on the plain twin and on the realistic one (issue 20, item 3)."""
    if request.param == "realistic":
        twin_knobs(**VERTEX_REALISM)
    return str(request.param)


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=models(), second=models())
def test_apply_a_then_b_leaves_an_empty_plan_for_b_on_vertex(
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    repo: Repo,
    vertex_client: Any,
    wait_vertex: Any,
    upload_dir: Any,
    pristine: Any,
) -> None:
    project = f"p-{uuid.uuid4().hex[:12]}"
    example = dataclasses.replace(
        repo, root=repo.root.parent / project, project=project, stack=f"s-{project[2:10]}"
    )
    live = VertexLive(vertex_client, project)
    uri = upload_dir(pristine["a"], repo.bucket, f"hand-made/{project}")
    image = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-11:latest"
    body = {
        "modelId": "stranger",
        "model": {
            "displayName": "stranger",
            "artifactUri": uri,
            "containerSpec": {"imageUri": image},
        },
    }
    op = live.loc.models().upload(parent=live.parent("us-central1"), body=body).execute()
    wait_vertex(vertex_client, op)
    bystander = live.snapshot()

    for manifests in (first, second):
        example.write(manifests, backend="vertex", preview=True, resource_pools=POOLS)
        result = example.apply()
        assert result.returncode == 0, str(result)
    example.assert_no_changes()
    after = live.snapshot()
    assert {k: v for k, v in after.items() if "/stranger@" in k} == bystander
    declared = {(r, m["name"]) for m in second for r in m["regions"]}
    found = {(r, x["name"].rsplit("/", 1)[-1]) for r in REGIONS for x in live.models(r)}
    assert found == declared | {("us-central1", "stranger")}
