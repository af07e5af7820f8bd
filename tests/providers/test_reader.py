"""Reading live state: every model and version on each endpoint, across pages, normalized."""

from __future__ import annotations

from typing import Any

import pytest

from deployer.core.resources import State
from deployer.providers.mlengine.client import MLClient
from deployer.providers.mlengine.errors import ProviderError
from deployer.providers.mlengine.reader import read_state
from deployer.providers.retry import NO_RETRY

OURS = {"managed-by": "deployer", "deployer-stack": "vision"}
THEIRS = {"managed-by": "deployer", "deployer-stack": "other"}
TF = {"runtimeVersion": "2.11", "pythonVersion": "3.7", "framework": "TENSORFLOW"}


def make_model(client: MLClient, endpoint: str, name: str, labels: dict[str, str]) -> None:
    body = {"name": name, "labels": labels}
    client.execute(
        endpoint,
        "create model",
        lambda r: r.projects().models().create(parent=client.parent(), body=body),
    )


def make_version(client: MLClient, endpoint: str, model: str, name: str, uri: str) -> None:
    body = {"name": name, "deploymentUri": uri, **TF}
    parent = f"{client.parent()}/models/{model}"
    client.execute(
        endpoint,
        "create version",
        lambda r: r.projects().models().versions().create(parent=parent, body=body),
    )


@pytest.fixture
def landscape(client: MLClient, bucket: Any) -> dict[str, list[str]]:
    """Models of this stack, of another stack and unmanaged, on global and two regions; the
    stack's models have a few versions (their artifact is missing, so they end FAILED)."""
    uri = f"gs://{bucket.name}/nothing-here"
    layout = {
        "global": [("g_ours", OURS, 3), ("g_theirs", THEIRS, 2), ("g_free", {}, 0)],
        "us-central1": [(f"uc_{i}", OURS if i % 2 else {}, 0) for i in range(7)]
        + [("uc_ours_v", OURS, 4)],
        "europe-west4": [("eu_theirs", THEIRS, 1), ("eu_ours", OURS, 2)],
    }
    expected: dict[str, list[str]] = {}
    for endpoint, models in layout.items():
        for name, labels, versions in models:
            make_model(client, endpoint, name, labels)
            expected.setdefault(endpoint, []).append(name)
            for v in range(versions):
                make_version(client, endpoint, name, f"v{v}", uri)
    return expected


def addresses(resources: list[Any]) -> list[str]:
    return [r.key.address for r in resources]


def test_reads_every_model_and_version_across_endpoints_and_pages(
    client: MLClient, project: str, landscape: dict[str, list[str]]
) -> None:
    observed = read_state(
        project, ["global", "us-central1", "europe-west4"], client=client, page_size=2
    )
    models = [r for r in observed if r.key.version is None]
    assert sorted(addresses(models)) == sorted(
        f"{endpoint}/{m}" for endpoint, names in landscape.items() for m in names
    )
    versions = [r for r in observed if r.key.version is not None]
    assert sorted(addresses(versions)) == sorted(
        [f"global/g_ours/v{i}" for i in range(3)]
        + [f"global/g_theirs/v{i}" for i in range(2)]
        + [f"us-central1/uc_ours_v/v{i}" for i in range(4)]
        + ["europe-west4/eu_theirs/v0"]
        + [f"europe-west4/eu_ours/v{i}" for i in range(2)]
    )
    # models sorted before their versions, endpoints and names in order
    assert addresses(observed) == [
        r.key.address
        for r in sorted(
            observed,
            key=lambda r: (r.key.endpoint, r.key.model, r.key.version is not None, r.key.version),
        )
    ]
    # normalized: labels as written, the first version is the default
    g_ours = next(r for r in observed if r.key.address == "global/g_ours")
    assert g_ours.labels == OURS
    v0 = next(r for r in observed if r.key.address == "global/g_ours/v0")
    assert v0.fields["framework"] == "TENSORFLOW" and v0.fields["runtimeVersion"] == "2.11"
    assert v0.state in (State.CREATING, State.FAILED)


def test_stack_reads_versions_of_its_own_models_only(
    client: MLClient, project: str, landscape: dict[str, list[str]]
) -> None:
    observed = read_state(
        project, ["global", "us-central1", "europe-west4"], stack="vision", client=client
    )
    assert len([r for r in observed if r.key.version is None]) == sum(map(len, landscape.values()))
    owners = {r.key.model for r in observed if r.key.version is not None}
    assert owners == {"g_ours", "uc_ours_v", "eu_ours"}


def test_more_than_one_full_page_of_models(client: MLClient, project: str, twin_knobs: Any) -> None:
    twin_knobs(max_models=200)
    names = [f"m{i:03d}" for i in range(130)]
    for name in names:
        make_model(client, "us-east1", name, {})
    observed = read_state(project, ["us-east1", "global"], client=client)
    assert addresses(observed) == [f"us-east1/{n}" for n in names]


def test_empty_project_reads_nothing(client: MLClient, project: str) -> None:
    assert read_state(project, ["global", "asia-east1"], client=client) == []


def test_reads_retry_injected_429_and_503(
    client: MLClient, project: str, landscape: dict[str, list[str]], twin_knobs: Any
) -> None:
    endpoints = ["global", "us-central1", "europe-west4"]
    calm = read_state(project, endpoints, client=client, page_size=3)
    twin_knobs(fault_rate=0.4, seed=7)
    flaky = read_state(project, endpoints, client=client, page_size=3)
    assert addresses(flaky) == addresses(calm)
    assert [r.fields for r in flaky] == [r.fields for r in calm]


def test_without_retries_an_injected_fault_is_a_clear_retryable_error(
    twin: Any, project: str, twin_knobs: Any
) -> None:
    twin_knobs(fault_rate=1.0, seed=1)
    client = MLClient(project, emulator=twin.url, retry=NO_RETRY)
    with pytest.raises(ProviderError) as info:
        read_state(project, ["global"], client=client)
    error = info.value
    assert error.retryable and error.status in (429, 503)
    assert str(error).startswith(f"list models on global in project {project!r}: ")
    assert "injected" in str(error)
    assert "\n" not in str(error)


def test_unknown_region_is_refused_before_any_call(client: MLClient, project: str) -> None:
    with pytest.raises(ProviderError, match=r"unknown region 'us-central9'.*europe-west4"):
        read_state(project, ["global", "us-central9"], client=client)
