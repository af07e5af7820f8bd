"""Issue 11: `deployer import` adopts unmanaged live models on both backends; the printed YAML
added to the manifests makes `deployer plan` show no changes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cli.helpers import Live, Repo, labels_of


def _adopt_into(repo: Repo, text: str) -> None:
    (repo.manifests / "models").mkdir(parents=True, exist_ok=True)
    (repo.manifests / "models" / "imported.yaml").write_text(text)


def test_import_mlengine_model_then_plan_is_empty(
    repo: Repo, live: Live, upload_dir: Any, pristine: Any
) -> None:
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    uri_b = upload_dir(pristine["b"], repo.bucket, "hand-made/b")
    live.create_model("us-central1", "legacy", {"team": "ml"})
    live.create_version("us-central1", "legacy", "v1", uri, {"owner": "ann"})
    live.create_version(
        "us-central1", "legacy", "v2", uri_b, manualScaling={"nodes": 2}, description="second"
    )
    live.create_model("europe-west4", "other")
    live.create_version("europe-west4", "other", "v1", uri)
    repo.write([])

    result = repo.run("import", "legacy", "--region", "us-central1")
    assert result.returncode == 0, str(result)
    doc = yaml.safe_load(result.stdout)
    (entry,) = doc["models"]
    assert entry["name"] == "legacy" and [v["name"] for v in entry["versions"]] == ["v1", "v2"]
    assert entry["default_version"] == "v1"
    assert entry["versions"][1]["scaling"] == {"mode": "manual", "nodes": 2}
    snap = live.snapshot()
    for address in ("us-central1/legacy", "us-central1/legacy/v1", "us-central1/legacy/v2"):
        assert labels_of(snap[address])["deployer-stack"] == repo.stack, address
    assert "managed-by" not in labels_of(snap["europe-west4/other"])

    _adopt_into(repo, result.stdout)
    repo.assert_no_changes()

    # --all picks up the rest of the project (here: the one in europe-west4), into one file
    every = repo.run("import", "--all", "--out", "all.yaml")
    assert every.returncode == 0, str(every)
    names = [
        (m["name"], m.get("regions"))
        for m in yaml.safe_load((repo.root / "all.yaml").read_text())["models"]
    ]
    assert names == [("other", ["europe-west4"])]
    (repo.manifests / "models" / "other.yaml").write_text((repo.root / "all.yaml").read_text())
    repo.assert_no_changes()


def test_import_refuses_another_stacks_model(
    repo: Repo, live: Live, upload_dir: Any, pristine: Any
) -> None:
    live.create_model("us-central1", "theirs", {"managed-by": "deployer", "deployer-stack": "x"})
    repo.write([])
    result = repo.run("import", "theirs")
    assert result.returncode == 1
    assert "belongs to stack 'x'" in result.stderr
    assert repo.run("import").returncode != 0


def test_import_vertex_model_with_its_endpoint_then_plan_is_empty(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> None:
    from emulator import vertex_support as vs

    from cli.vertex_live import VertexLive

    project = repo.project
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    first = vs.upload(
        vertex_client, wait_vertex, project, "legacy", image=vs.TF_IMAGE, uri=uri,
        labels={"team": "ml"},
    )  # fmt: skip
    parent = first["response"]["model"]
    vs.upload(
        vertex_client, wait_vertex, project, None, parent_model=parent, image=vs.TF_IMAGE,
        uri=uri, versionAliases=["canary"],
    )  # fmt: skip
    endpoint = vs.create_endpoint(vertex_client, wait_vertex, project)["name"]
    done = vs.deploy(vertex_client, wait_vertex, endpoint, f"{parent}@1", {"0": 100})
    assert "error" not in done, done
    done = vs.deploy(vertex_client, wait_vertex, endpoint, f"{parent}@2")
    assert "error" not in done, done
    vlive = VertexLive(vertex_client, project)
    ep = vlive.endpoints("us-central1")[0]
    ids = {d["modelVersionId"]: d["id"] for d in ep["deployedModels"]}
    op = (
        vs.endpoints(vertex_client)
        .patch(
            name=endpoint,
            updateMask="trafficSplit",
            body={"trafficSplit": {ids["1"]: 80, ids["2"]: 20}, "etag": ep.get("etag", "")},
        )
        .execute()
    )
    assert op
    repo.write([], backend="vertex")

    result = repo.run("import", "legacy")
    assert result.returncode == 0, str(result)
    (entry,) = yaml.safe_load(result.stdout)["models"]
    assert [v["name"] for v in entry["versions"]] == ["v1", "canary"]
    assert entry["traffic"] == {"v1": 80, "canary": 20}
    assert vlive.endpoint_of("us-central1", "legacy")["labels"]["deployer-stack"] == repo.stack

    _adopt_into(repo, result.stdout)
    repo.assert_no_changes()


@pytest.mark.parametrize(
    ("endpoint_body", "settings"),
    [
        (
            {
                "dedicatedEndpointEnabled": True,
                "clientConnectionConfig": {"inferenceTimeout": "120s"},
            },
            {"dedicated": True, "inference_timeout": "120s"},
        ),
        (
            {
                "privateServiceConnectConfig": {
                    "enablePrivateServiceConnect": True,
                    "projectAllowlist": ["acme-prod"],
                }
            },
            {"private_service_connect": {"project_allowlist": ["acme-prod"]}},
        ),
    ],
    ids=["dedicated", "private-service-connect"],
)
def test_import_keeps_endpoint_settings_and_spot_then_plan_is_empty(
    repo: Repo,
    vertex_client: Any,
    wait_vertex: Any,
    upload_dir: Any,
    pristine: Any,
    endpoint_body: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    """A production-shaped model (issue 24's keys) is adopted as it runs, not as a plan that
    would replace its endpoint or redeploy it off spot nodes."""
    from emulator import vertex_support as vs

    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    first = vs.upload(
        vertex_client, wait_vertex, repo.project, "ranker", image=vs.TF_IMAGE, uri=uri
    )
    endpoint = vs.create_endpoint(
        vertex_client, wait_vertex, repo.project, displayName="ranker", **endpoint_body
    )["name"]
    spot = {**vs.CPU, "spot": True}
    done = vs.deploy(
        vertex_client, wait_vertex, endpoint, f"{first['response']['model']}@1", {"0": 100},
        dedicatedResources=spot,
    )  # fmt: skip
    assert "error" not in done, done
    repo.write([], backend="vertex")

    result = repo.run("import", "ranker")
    assert result.returncode == 0, str(result)
    (entry,) = yaml.safe_load(result.stdout)["models"]
    assert entry["endpoint"] == settings
    assert entry["versions"][0]["spot"] is True
    _adopt_into(repo, result.stdout)
    repo.assert_no_changes()
