"""Manifests -> desired -> writes through the provider -> read back -> the diff sees nothing to do.

This is the contract between the diff and the provider: whatever the provider writes for a
desired resource reads back as exactly that resource (labels, scaling, logging, artifact digest,
spec label), so a second plan is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.core.ownership import spec_hash
from deployer.core.plan import ActionKind, Plan
from deployer.core.provider import CallsVersions, Canaries, Predicts, Provider
from deployer.core.resources import ResourceKey
from deployer.core.stack import Stack
from deployer.plan.planner import PlanOptions, plan
from deployer.providers.mlengine.provider import MLEngineProvider
from providers.apply_plan import apply_plan

MODELS = """\
models:
  - name: fashion
    description: Fashion classifier
    regions: [us-central1, europe-west4]
    labels: {{owner: vision-team}}
    default_version: v2
    versions:
      - name: v1
        artifact: {artifact}
        framework: tensorflow
        runtime_version: "2.11"
        python_version: "3.7"
        machine_type: n1-standard-2
        scaling: {{mode: auto, min_nodes: 1, max_nodes: {max_nodes}}}
      - name: v2
        artifact: {artifact}
        framework: tensorflow
        runtime_version: "2.11"
        python_version: "3.7"
        machine_type: n1-standard-4
        accelerator: {{type: NVIDIA_TESLA_T4, count: 1}}
        scaling: {{mode: manual, nodes: 2}}
        description: {description}
        labels: {{experiment: b}}
        request_logging: {{bigquery_table: acme.logs.fashion, sampling_percentage: 0.1}}
  - name: tiny_global
    regions: [global]
    online_prediction_logging: true
    console_logging: true
    protect: true
    versions:
      - name: v1
        artifact: {global_artifact}
        framework: tensorflow
        runtime_version: "2.11"
        python_version: "3.7"
        machine_type: mls1-c1-m2
        scaling: {{mode: auto, min_nodes: 0, max_nodes: 2}}
"""


def plan_for(provider: MLEngineProvider, stack: Stack, digests: dict[str, str]) -> Plan:
    desired = provider.desired(stack, digests)
    observed = provider.read(stack.regions(), stack=stack.name)
    return plan(desired, observed, provider.model, PlanOptions(stack.name, stack.project))


def test_provider_implements_the_protocol(provider: MLEngineProvider) -> None:
    assert isinstance(provider, Provider)
    assert [k.name for k in provider.model.kinds] == ["model", "version"]
    assert isinstance(provider, CallsVersions) and isinstance(provider, Predicts)
    assert not isinstance(provider, Canaries)


def test_apply_then_plan_is_empty(
    provider: MLEngineProvider, manifests: Callable[..., Stack], artifact: str
) -> None:
    stack = manifests(
        MODELS.format(artifact=artifact, global_artifact=artifact, max_nodes=4, description="big")
    )
    digests = {artifact: "sha256-aaaa"}
    first = plan_for(provider, stack, digests)
    assert (first.summary.add, first.summary.reroute) == (8, 2)  # 3 models, 5 versions; 2 defaults
    apply_plan(provider, first)

    second = plan_for(provider, stack, digests)
    assert second.errors == () and second.actions == (), second.actions

    observed = {r.key.address: r for r in provider.read(stack.regions())}
    v2 = observed["europe-west4/fashion/v2"]
    assert v2.is_default and not observed["europe-west4/fashion/v1"].is_default
    assert v2.fields["artifactDigest"] == "sha256-aaaa"
    assert v2.fields["requestLoggingConfig"] == {
        "bigqueryTableName": "acme.logs.fashion",
        "samplingPercentage": 0.1,
    }
    desired = {r.key.address: r for r in provider.desired(stack, digests)}
    assert v2.labels["deployer-spec"] == spec_hash(desired["europe-west4/fashion/v2"])
    assert observed["global/tiny_global"].labels["deployer-protect"] == "true"


def test_in_place_updates_converge(
    provider: MLEngineProvider, manifests: Callable[..., Stack], artifact: str
) -> None:
    stack = manifests(
        MODELS.format(artifact=artifact, global_artifact=artifact, max_nodes=4, description="big")
    )
    digests = {artifact: "sha256-aaaa"}
    apply_plan(provider, plan_for(provider, stack, digests))

    changed = manifests(
        MODELS.format(
            artifact=artifact, global_artifact=artifact, max_nodes=6, description="bigger"
        ).replace("owner: vision-team", "owner: platform")
    )
    plan = plan_for(provider, changed, digests)
    kinds = {(a.kind, a.address) for a in plan.actions}
    assert kinds == {
        (ActionKind.UPDATE, f"{region}/fashion{suffix}")
        for region in ("us-central1", "europe-west4")
        for suffix in ("", "/v1", "/v2")
    }
    apply_plan(provider, plan)
    assert plan_for(provider, changed, digests).actions == ()
    v1 = provider.writer.get_version(ResourceKey("us-central1", "fashion", "v1"))
    assert v1 is not None and v1.fields["autoScaling.maxNodes"] == 6
    assert v1.fields["artifactDigest"] == "sha256-aaaa"  # the artifact label survives a patch


def test_new_artifact_replaces_and_removed_versions_are_pruned(
    provider: MLEngineProvider,
    manifests: Callable[..., Stack],
    artifact: str,
    tiny_savedmodel: Path,
    bucket: Any,
    upload_dir: Any,
) -> None:
    other = upload_dir(tiny_savedmodel, bucket.name, "models/tiny/global")
    text = MODELS.format(artifact=artifact, global_artifact=other, max_nodes=4, description="big")
    stack = manifests(text)
    apply_plan(provider, plan_for(provider, stack, {artifact: "sha256-aaaa", other: "sha256-0"}))
    # v1 gets new bytes behind the same URI; fashion loses v2 (v1 becomes the default)
    fashion_v1_only = (
        text.split("      - name: v2")[0]
        + "  - name: tiny_global"
        + (text.split("  - name: tiny_global")[1])
    )
    smaller = manifests(fashion_v1_only.replace("default_version: v2", "default_version: v1"))
    digests = {artifact: "sha256-bbbb", other: "sha256-0"}
    plan = plan_for(provider, smaller, digests)
    assert {(a.kind, a.address) for a in plan.actions} == {
        (kind, f"{region}/fashion/{version}")
        for region in ("us-central1", "europe-west4")
        for kind, version in (
            (ActionKind.DELETE_THEN_CREATE, "v1"),
            (ActionKind.REROUTE, "v1"),
            (ActionKind.DELETE, "v2"),
        )
    }
    assert not plan.errors, plan.errors
    apply_plan(provider, plan)
    assert plan_for(provider, smaller, digests).actions == ()
    live: dict[str, Any] = {r.key.address: r for r in provider.read(smaller.regions())}
    assert "us-central1/fashion/v2" not in live
    assert live["us-central1/fashion/v1"].fields["artifactDigest"] == "sha256-bbbb"
