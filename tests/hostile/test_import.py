"""Issue 19 items 4 and 12: `deployer import` never leaves a live model labelled as the stack's
without a manifest declaring it (the stack's next apply would delete it). Everything that can
refuse is checked before the first label is written, and what was written is undone when a
later step fails. Text read from the cloud comes back as itself; a model import cannot express
is refused in one line; `--all` imports what it can."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli.helpers import Live, Repo

from deployer.core.errors import DeployerError
from hostile.helpers import assert_one_line_error

DESCRIPTION = "costs ${var.budget} per day, see $${HOME}"


def _legacy(live: Live, uri: str, description: str = "hand-made") -> None:
    body = {"name": "legacy", "regions": ["us-central1"], "description": description}
    models = live.clients["us-central1"].projects().models()
    models.create(parent=f"projects/{live.project}", body=body).execute(num_retries=5)
    live.create_version("us-central1", "legacy", "v1", uri, {"owner": "ann"})


@pytest.fixture
def legacy(repo: Repo, live: Live, upload_dir: Any, pristine: Any) -> dict[str, Any]:
    """An unmanaged ml v1 model `legacy` (one version) and the live state before any import."""
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    _legacy(live, uri, DESCRIPTION)
    repo.write([], vars={"budget": "12"})
    return live.snapshot()


@pytest.mark.parametrize("where", ["missing/dir/out.yaml", "adir"])
def test_an_output_that_cannot_be_written_is_refused_before_any_label(
    repo: Repo, live: Live, legacy: dict[str, Any], where: str
) -> None:
    (repo.root / "adir").mkdir()
    result = repo.run("import", "legacy", "--out", where)
    assert_one_line_error(result, f"--out {where}")
    assert live.snapshot() == legacy
    assert sorted(p.name for p in repo.root.iterdir() if p.name.startswith(".")) == []


def test_descriptions_come_back_as_written_not_as_variables(
    repo: Repo, live: Live, legacy: dict[str, Any]
) -> None:
    result = repo.run("import", "legacy", "--out", "legacy.yaml")
    assert result.returncode == 0, str(result)
    text = (repo.root / "legacy.yaml").read_text()
    assert "costs $${var.budget} per day, see $$${HOME}" in text
    (repo.manifests / "models" / "legacy.yaml").write_text(text)
    repo.assert_no_changes()


def test_an_empty_model_name_is_a_usage_error(repo: Repo) -> None:
    repo.write([])
    assert_one_line_error(repo.run("import", ""), "'': expected MODEL or MODEL/VERSION")


# ---- a step failing after labels were written: everything is put back -----------------------


@pytest.fixture
def in_process(twin_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in twin_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    yield


def _import_failing_last(repo: Repo, fail: Callable[[Any], None], target: str) -> str:
    """Run the import in-process with the provider's last write (the model's labels) failing;
    returns the error."""
    from deployer.adopt import import_models
    from deployer.stacks import load_stack
    from deployer.workflow import provider_for

    stack = load_stack(repo.manifests)
    provider = provider_for(stack.project, stack.backend)
    fail(provider)
    with pytest.raises(DeployerError) as caught:
        import_models(stack, provider, target, regions=["us-central1"])
    return str(caught.value)


def _refuse(*_: Any, **__: Any) -> Any:
    from deployer.providers.errors import ProviderError

    raise ProviderError("label model: 503 the service is unavailable", status=503)


def test_mlengine_labels_written_before_a_failure_are_removed(
    repo: Repo, live: Live, legacy: dict[str, Any], in_process: None
) -> None:
    def fail(provider: Any) -> None:
        provider.writer.patch_model = _refuse  # versions are labelled first, the model last

    error = _import_failing_last(repo, fail, "legacy")
    assert "the labels written were removed again" in error
    assert _strip(live.snapshot()) == _strip(legacy)
    assert repo.run("apply", "manifests", "--auto-approve").returncode == 0
    assert _strip(live.snapshot()) == _strip(legacy)  # not the stack's: apply leaves it alone


def _strip(state: Any) -> Any:
    """The state without what every write changes (etags, update times), at any depth."""
    drop = ("etag", "updateTime", "versionUpdateTime")
    if isinstance(state, dict):
        return {k: _strip(v) for k, v in state.items() if k not in drop}
    if isinstance(state, list):
        return [_strip(v) for v in state]
    return state


@pytest.fixture
def vertex_legacy(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> Any:
    """An unmanaged Vertex model `legacy` with two versions, one deployed, on an endpoint."""
    from cli.vertex_live import VertexLive
    from emulator import vertex_support as vs

    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    first = vs.upload(
        vertex_client, wait_vertex, repo.project, "legacy", image=vs.TF_IMAGE, uri=uri,
        labels={"team": "ml"}, description=DESCRIPTION,
    )  # fmt: skip
    parent = first["response"]["model"]
    vs.upload(
        vertex_client, wait_vertex, repo.project, None, parent_model=parent, image=vs.TF_IMAGE,
        uri=uri, versionAliases=["canary"],
    )  # fmt: skip
    endpoint = vs.create_endpoint(vertex_client, wait_vertex, repo.project)["name"]
    done = vs.deploy(vertex_client, wait_vertex, endpoint, f"{parent}@1", {"0": 100})
    assert "error" not in done, done
    repo.write([], backend="vertex", vars={"budget": "12"})
    return VertexLive(vertex_client, repo.project)


def test_vertex_labels_aliases_and_names_written_before_a_failure_are_undone(
    repo: Repo, vertex_legacy: Any, in_process: None
) -> None:
    before = _strip(vertex_legacy.snapshot())

    def fail(provider: Any) -> None:
        provider.writer.patch_model = _refuse  # after the versions, aliases and endpoint

    error = _import_failing_last(repo, fail, "legacy")
    assert "the labels written were removed again" in error, error
    assert _strip(vertex_legacy.snapshot()) == before


def test_vertex_import_then_plan_is_empty_with_a_literal_description(
    repo: Repo, vertex_legacy: Any
) -> None:
    result = repo.run("import", "legacy")
    assert result.returncode == 0, str(result)
    assert "$${var.budget}" in result.stdout
    (repo.manifests / "models" / "legacy.yaml").write_text(result.stdout)
    repo.assert_no_changes()


# ---- what import cannot express: one line, nothing written; --all imports the rest ----------


def _undeployed(repo: Repo, vertex_client: Any, wait_vertex: Any, uri: str, name: str) -> None:
    from emulator import vertex_support as vs

    done = vs.upload(vertex_client, wait_vertex, repo.project, name, image=vs.TF_IMAGE, uri=uri)
    assert "error" not in done, done


def test_an_undeployed_vertex_model_is_refused_in_one_line(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> None:
    from cli.vertex_live import VertexLive

    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    _undeployed(repo, vertex_client, wait_vertex, uri, "shelf")
    repo.write([], backend="vertex")
    vlive = VertexLive(vertex_client, repo.project)
    before = _strip(vlive.snapshot())
    line = assert_one_line_error(repo.run("import", "shelf"), "us-central1/shelf", "no deployed")
    assert "/tmp" not in line and "deployer-import-" not in line
    assert _strip(vlive.snapshot()) == before


def test_import_all_skips_what_it_cannot_import_and_imports_the_rest(
    repo: Repo, vertex_legacy: Any, vertex_client: Any, wait_vertex: Any, upload_dir: Any,
    pristine: Any,
) -> None:  # fmt: skip
    uri = upload_dir(pristine["b"], repo.bucket, "hand-made/b")
    _undeployed(repo, vertex_client, wait_vertex, uri, "shelf")
    before = copy.deepcopy(_strip(vertex_legacy.snapshot()))
    result = repo.run("import", "--all", "--region", "us-central1", "--out", "all.yaml")
    assert result.returncode == 1, str(result)
    assert "warning: not imported: us-central1/shelf: " in result.stderr
    assert "Imported us-central1/legacy" in result.stderr
    names = [m["name"] for m in yaml.safe_load(Path(repo.root / "all.yaml").read_text())["models"]]
    assert names == ["legacy"]
    after = _strip(vertex_legacy.snapshot())
    shelf = {k: v for k, v in after.items() if "/shelf@" in k}
    assert shelf == {k: v for k, v in before.items() if "/shelf@" in k}
    (repo.manifests / "models" / "all.yaml").write_text((repo.root / "all.yaml").read_text())
    repo.assert_no_changes()


def test_a_model_whose_labels_cannot_be_written_is_refused_before_any_label(
    repo: Repo, live: Live, upload_dir: Any, pristine: Any
) -> None:
    """ml v1 fixes labels at creation on the global endpoint (and on mls1-* versions): such a
    model could never be the stack's, so importing it is refused up front."""
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    live.create_model("global", "old")
    live.create_version("global", "old", "v1", uri)
    repo.write([], region="global")
    before = live.snapshot()
    result = repo.run("import", "old", "--region", "global")
    assert_one_line_error(result, "cannot import global/old", "fixes labels at creation")
    assert live.snapshot() == before


def test_a_model_on_a_vpc_peered_endpoint_is_refused_in_one_line(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> None:
    """deployer serves no model on a VPC-peered endpoint (one model, no split): import says so
    before it writes any label, instead of a manifest the validator rejects."""
    from cli.vertex_live import VertexLive
    from emulator import vertex_support as vs

    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    done = vs.upload(vertex_client, wait_vertex, repo.project, "peered", image=vs.TF_IMAGE, uri=uri)
    network = "projects/123456789012/global/networks/default"
    endpoint = vs.create_endpoint(vertex_client, wait_vertex, repo.project, network=network)
    deployed = vs.deploy(
        vertex_client, wait_vertex, endpoint["name"], f"{done['response']['model']}@1"
    )
    assert "error" not in deployed, deployed
    repo.write([], backend="vertex")
    vlive = VertexLive(vertex_client, repo.project)
    before = _strip(vlive.snapshot())
    line = assert_one_line_error(repo.run("import", "peered"), "us-central1/peered", "VPC-peered")
    assert "Private Service Connect" in line
    assert _strip(vlive.snapshot()) == before


def test_a_model_on_someone_elses_resource_pool_is_refused_in_one_line(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> None:
    """Pools carry no labels, so deployer names its own (`NAME--TAG`): a version co-hosted on a
    pool made by hand cannot be adopted as it runs, and import says how to move it."""
    from cli.vertex_live import VertexLive
    from emulator import vertex_support as vs

    pools = vertex_client.projects().locations().deploymentResourcePools()
    body = {
        "deploymentResourcePoolId": "hand-made",
        "deploymentResourcePool": {"dedicatedResources": vs.CPU},
    }
    made = wait_vertex(
        vertex_client, pools.create(parent=vs.parent(repo.project), body=body).execute()
    )
    assert "error" not in made, made
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    done = vs.upload(vertex_client, wait_vertex, repo.project, "pooled", image=vs.TF_IMAGE, uri=uri)
    endpoint = vs.create_endpoint(vertex_client, wait_vertex, repo.project)
    pool = f"{vs.parent(repo.project)}/deploymentResourcePools/hand-made"
    deployed = vs.deploy(
        vertex_client, wait_vertex, endpoint["name"], f"{done['response']['model']}@1",
        {"0": 100}, sharedResources=pool, dedicatedResources=None,
    )  # fmt: skip
    assert "error" not in deployed, deployed
    repo.write([], backend="vertex")
    vlive = VertexLive(vertex_client, repo.project)
    before = _strip(vlive.snapshot())
    line = assert_one_line_error(repo.run("import", "pooled"), "us-central1/pooled", "hand-made")
    assert "resource_pools" in line
    assert _strip(vlive.snapshot()) == before
