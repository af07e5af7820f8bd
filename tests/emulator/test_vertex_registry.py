"""Vertex Model Registry through the real `aiplatform` v1 discovery client (responses checked
against the shipped discovery schemas by the `vertex_client` fixture)."""

from __future__ import annotations

from typing import Any

from emulator.helpers import api_error
from emulator.vertex_support import CUSTOM_IMAGE, LOC, TF_IMAGE, models, parent, upload


def test_upload_first_version_then_get_plain_id_and_alias(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    done = upload(
        vertex_client, wait_vertex, project, labels={"team": "a"}, description="d",
        versionDescription="first",
    )  # fmt: skip
    name = f"{parent(project)}/models/m"
    assert done["name"].startswith(f"{name}/operations/")
    assert done["response"]["model"] == name and done["response"]["modelVersionId"] == "1"
    reg = models(vertex_client)
    plain = reg.get(name=name).execute()
    assert plain == reg.get(name=f"{name}@1").execute() == reg.get(name=f"{name}@default").execute()
    assert plain["versionId"] == "1" and plain["versionAliases"] == ["default"]
    assert plain["labels"] == {"team": "a"} and plain["description"] == "d"
    assert plain["versionDescription"] == "first"
    assert plain["supportedDeploymentResourcesTypes"] == ["DEDICATED_RESOURCES"]
    api_error(lambda: reg.get(name=f"{name}@2").execute(), 404, "NOT_FOUND")
    api_error(lambda: reg.get(name=f"{name}@nope").execute(), 404, "NOT_FOUND")


def test_upload_refusals_at_submission(vertex_client: Any, wait_vertex: Any, project: str) -> None:
    upload(vertex_client, wait_vertex, project, versionAliases=["blue"])
    reg, where = models(vertex_client), parent(project)
    model = {"displayName": "m", "containerSpec": {"imageUri": CUSTOM_IMAGE}}

    def call(body: dict[str, Any]) -> Any:
        return lambda: reg.upload(parent=where, body=body).execute()

    api_error(call({"modelId": "m", "model": model}), 409, "ALREADY_EXISTS")
    api_error(call({"parentModel": f"{where}/models/zz", "model": model}), 404, "NOT_FOUND")
    for bad in (
        {"modelId": "n", "model": {**model, "versionAliases": ["v1.2"]}},
        {"modelId": "n", "model": {"containerSpec": {"imageUri": CUSTOM_IMAGE}}},
        {"modelId": "n", "model": {"displayName": "n"}},
        {"modelId": "n", "model": {"displayName": "n", "containerSpec": {"imageUri": TF_IMAGE}}},
        {"modelId": "9n", "model": model},
        {"modelId": "n", "model": {**model, "colour": "red"}},  # not in the discovery schema
    ):
        api_error(call(bad), 400, "INVALID_ARGUMENT")
    api_error(lambda: reg.list(parent=f"projects/{project}/locations/mars-central1").execute(), 404)


def test_an_upload_naming_a_held_alias_takes_it(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    """[DOCS model-alias]: "If you apply an existing alias that is used in another model
    version, the alias is removed from that version." Request: upload v2 with `blue`, which
    v1 holds. Answer: the upload succeeds, v2 holds `blue`, v1 no longer does."""
    upload(vertex_client, wait_vertex, project, versionAliases=["blue"])
    name = f"{parent(project)}/models/m"
    done = upload(vertex_client, wait_vertex, project, parent_model=name, versionAliases=["blue"])
    assert "error" not in done, done
    reg = models(vertex_client)
    assert reg.get(name=f"{name}@blue").execute()["versionId"] == "2"
    assert reg.get(name=f"{name}@1").execute()["versionAliases"] == ["default"]


def test_versions_count_up_and_default_moves_only_when_named(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    upload(vertex_client, wait_vertex, project, labels={"team": "a"})
    name = f"{parent(project)}/models/m"
    for aliases in (["v2"], ["v3", "default"], []):
        done = upload(
            vertex_client, wait_vertex, project, parent_model=name, versionAliases=aliases,
            labels={"team": "b", "extra": "x"},
        )  # fmt: skip
        assert "error" not in done, done
    reg = models(vertex_client)
    assert reg.get(name=name).execute()["versionId"] == "3"
    assert reg.get(name=f"{name}@v2").execute()["versionId"] == "2"
    assert reg.get(name=f"{name}@1").execute()["versionAliases"] == []
    assert reg.get(name=f"{name}@4").execute()["labels"] == {"team": "b", "extra": "x"}
    page = reg.listVersions(name=name, pageSize=3).execute()
    assert [m["versionId"] for m in page["models"]] == ["1", "2", "3"]
    assert all(m["name"] == name for m in page["models"])
    rest = reg.listVersions(name=name, pageSize=3, pageToken=page["nextPageToken"]).execute()
    assert [m["versionId"] for m in rest["models"]] == ["4"] and "nextPageToken" not in rest
    filtered = reg.listVersions(name=name, filter='labels.extra="x"').execute()
    assert [m["versionId"] for m in filtered["models"]] == ["2", "3", "4"]


def test_models_list_pages_and_filters_on_merged_labels(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    for model_id, labels in (("a", {"k": "1"}), ("b", {"k": "2"}), ("c", {"other": "x"})):
        upload(vertex_client, wait_vertex, project, model_id, labels=labels)
    reg = models(vertex_client)
    page = reg.list(parent=parent(project), pageSize=2).execute()
    assert [m["name"].rsplit("/", 1)[1] for m in page["models"]] == ["a", "b"]
    rest = reg.list(parent=parent(project), pageToken=page["nextPageToken"]).execute()
    assert [m["name"].rsplit("/", 1)[1] for m in rest["models"]] == ["c"]

    def ids(text: str) -> list[str]:
        found = reg.list(parent=parent(project), filter=text).execute().get("models", [])
        return [m["name"].rsplit("/", 1)[1] for m in found]

    assert ids('labels.k="2"') == ["b"]
    assert ids("labels.k:*") == ["a", "b"]
    assert ids("labels:other") == ["c"]
    assert ids('labels.k:* AND labels.k="1"') == ["a"]
    assert ids('display_name="m"') == ["a", "b", "c"]


def test_patch_model_vs_version_fields_by_the_at(
    vertex_client: Any, wait_vertex: Any, project: str
) -> None:
    upload(vertex_client, wait_vertex, project, labels={"team": "a", "v": "1"})
    name = f"{parent(project)}/models/m"
    reg = models(vertex_client)
    out = reg.patch(
        name=name, updateMask="display_name,description,labels",
        body={"displayName": "New", "description": "dd", "labels": {"team": "z"}},
    ).execute()  # fmt: skip
    assert out["displayName"] == "New" and out["description"] == "dd"
    assert out["labels"] == {"team": "a", "v": "1"}  # version 1's own labels win on read
    out = reg.patch(
        name=f"{name}@1", updateMask="versionDescription,labels",
        body={"versionDescription": "vd", "labels": {"v": "2"}},
    ).execute()  # fmt: skip
    assert out["versionDescription"] == "vd" and out["labels"] == {"team": "z", "v": "2"}
    for target, mask in ((f"{name}@1", "description"), (name, "version_description")):
        api_error(
            lambda t=target, m=mask: reg.patch(name=t, updateMask=m, body={}).execute(),
            400, "FAILED_PRECONDITION",
        )  # fmt: skip
    for mask in ("artifactUri", "containerSpec.imageUri", ""):
        api_error(
            lambda m=mask: reg.patch(name=name, updateMask=m, body={}).execute(),
            400, "INVALID_ARGUMENT",
        )  # fmt: skip


def test_merge_version_aliases(vertex_client: Any, wait_vertex: Any, project: str) -> None:
    upload(vertex_client, wait_vertex, project, versionAliases=["blue"])
    name = f"{parent(project)}/models/m"
    upload(vertex_client, wait_vertex, project, parent_model=name)
    reg = models(vertex_client)

    def merge(target: str, aliases: list[str]) -> Any:
        return reg.mergeVersionAliases(name=target, body={"versionAliases": aliases}).execute()

    assert merge(f"{name}@2", ["green", "canary"])["versionAliases"] == ["canary", "green"]
    # [DOCS model-alias] an alias another version holds moves; it is not refused
    assert merge(f"{name}@2", ["blue"])["versionAliases"] == ["canary", "green", "blue"]
    assert reg.get(name=f"{name}@1").execute()["versionAliases"] == ["default"]
    assert merge(f"{name}@1", ["blue"])["versionAliases"] == ["default", "blue"]
    api_error(lambda: merge(f"{name}@1", ["-default"]), 400, "INVALID_ARGUMENT")
    api_error(lambda: merge(f"{name}@1", ["Bad_alias"]), 400, "INVALID_ARGUMENT")
    assert merge(f"{name}@1", ["-blue"])["versionAliases"] == ["default"]
    moved = merge(f"{name}@2", ["default", "-canary"])
    assert moved["versionAliases"] == ["default", "green"]
    assert reg.get(name=name).execute()["versionId"] == "2"
    assert reg.get(name=f"{name}@1").execute().get("versionAliases", []) == []


def test_delete_version_and_model_refusals(
    vertex_client: Any, wait_vertex: Any, project: str, twin_knobs: Any
) -> None:
    upload(vertex_client, wait_vertex, project)
    name = f"{parent(project)}/models/m"
    reg = models(vertex_client)
    only = api_error(lambda: reg.deleteVersion(name=f"{name}@1").execute(), 400)
    assert only["status"] == "FAILED_PRECONDITION" and "only version" in only["message"]
    upload(vertex_client, wait_vertex, project, parent_model=name, versionAliases=["two"])
    held = api_error(lambda: reg.deleteVersion(name=f"{name}@1").execute(), 400)
    assert held["status"] == "FAILED_PRECONDITION" and "default" in held["message"]
    api_error(lambda: reg.deleteVersion(name=f"{name}@two").execute(), 400, "INVALID_ARGUMENT")
    op = reg.deleteVersion(name=f"{name}@2").execute()
    assert op["name"].startswith(f"{name}/operations/")
    done = wait_vertex(vertex_client, op)
    assert "error" not in done
    api_error(lambda: reg.get(name=f"{name}@2").execute(), 404, "NOT_FOUND")
    done = wait_vertex(vertex_client, reg.delete(name=name).execute())
    assert done["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    api_error(lambda: reg.get(name=name).execute(), 404, "NOT_FOUND")
    # numbers are never reused
    upload(vertex_client, wait_vertex, project)
    upload(vertex_client, wait_vertex, project, parent_model=name)
    assert reg.get(name=f"{name}@2").execute()["versionId"] == "2"
    assert LOC in name
