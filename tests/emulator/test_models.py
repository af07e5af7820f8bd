"""Conformance: projects.models through the discovery client."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from emulator.helpers import api_error


@pytest.fixture
def ml(ml_client: Any) -> Any:
    return ml_client()


def models(ml: Any) -> Any:
    return ml.projects().models()


def test_create_get_and_list_a_model(ml: Any, project: str) -> None:
    body = {"name": "iris", "description": "flowers", "labels": {"team": "vision"}}
    created = models(ml).create(parent=f"projects/{project}", body=body).execute()
    assert created["name"] == f"projects/{project}/models/iris"
    assert created["regions"] == ["us-central1"]
    assert created["etag"]
    got = models(ml).get(name=created["name"]).execute()
    assert got == created
    listed = models(ml).list(parent=f"projects/{project}").execute()
    assert listed == {"models": [created]}


def test_snake_case_bodies_are_accepted(ml: Any, project: str) -> None:
    body = {"name": "snake", "online_prediction_logging": True, "regions": ["europe-west4"]}
    created = models(ml).create(parent=f"projects/{project}", body=body).execute()
    assert created["onlinePredictionLogging"] is True
    assert created["regions"] == ["europe-west4"]


def test_empty_list_is_an_empty_object(ml: Any, project: str) -> None:
    assert models(ml).list(parent=f"projects/{project}").execute() == {}


@pytest.mark.parametrize("name", ["my-model", "1model", "_m", "m" * 129, "", "mödel"])
def test_bad_model_names_are_refused(ml: Any, project: str, name: str) -> None:
    error = api_error(
        lambda: models(ml).create(parent=f"projects/{project}", body={"name": name}).execute(),
        400,
        "INVALID_ARGUMENT",
    )
    assert "name" in error["message"]


def test_longest_valid_name_is_accepted(ml: Any, project: str) -> None:
    name = "M" + "a_1" * 42 + "b"
    assert len(name) == 128
    created = models(ml).create(parent=f"projects/{project}", body={"name": name}).execute()
    assert created["name"].endswith(name)


@pytest.mark.parametrize(
    "labels",
    [{"Team": "x"}, {"1team": "x"}, {"team": "Vision"}, {"team": "a" * 64}, {"t" * 64: "x"}],
)
def test_bad_labels_are_refused(ml: Any, project: str, labels: dict[str, str]) -> None:
    body = {"name": "m", "labels": labels}
    error = api_error(
        lambda: models(ml).create(parent=f"projects/{project}", body=body).execute(),
        400,
        "INVALID_ARGUMENT",
    )
    assert "label" in error["message"]


def test_duplicate_model_is_409(ml: Any, project: str) -> None:
    models(ml).create(parent=f"projects/{project}", body={"name": "dup"}).execute()
    api_error(
        lambda: models(ml).create(parent=f"projects/{project}", body={"name": "dup"}).execute(),
        409,
        "ALREADY_EXISTS",
    )


def test_missing_model_is_404(ml: Any, project: str) -> None:
    error = api_error(
        lambda: models(ml).get(name=f"projects/{project}/models/nope").execute(), 404, "NOT_FOUND"
    )
    assert "nope" in error["message"]


def test_unknown_field_is_refused(ml: Any, project: str) -> None:
    body = {"name": "m", "colour": "blue"}
    error = api_error(
        lambda: models(ml).create(parent=f"projects/{project}", body=body).execute(), 400
    )
    assert "colour" in error["message"]


def test_only_one_region_per_model(ml: Any, project: str) -> None:
    body = {"name": "m", "regions": ["us-central1", "europe-west4"]}
    error = api_error(
        lambda: models(ml).create(parent=f"projects/{project}", body=body).execute(), 400
    )
    assert "one region" in error["message"]


def test_console_logging_refused_on_regional_endpoint(ml_client: Any, project: str) -> None:
    regional = ml_client("europe-west1")
    body = {"name": "m", "onlinePredictionConsoleLogging": True}
    api_error(
        lambda: models(regional).create(parent=f"projects/{project}", body=body).execute(), 400
    )
    created = (
        models(ml_client())
        .create(parent=f"projects/{project}", body={**body, "name": "g"})
        .execute()
    )
    assert created["onlinePredictionConsoleLogging"] is True


def test_regional_model_region_must_match_endpoint(ml_client: Any, project: str) -> None:
    regional = ml_client("asia-east1")
    created = models(regional).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    assert created["regions"] == ["asia-east1"]
    body = {"name": "other", "regions": ["us-east1"]}
    api_error(
        lambda: models(regional).create(parent=f"projects/{project}", body=body).execute(), 400
    )


def test_pagination(ml: Any, project: str) -> None:
    names = [f"m{i}" for i in range(5)]
    for name in names:
        models(ml).create(parent=f"projects/{project}", body={"name": name}).execute()
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = models(ml).list(parent=f"projects/{project}", pageSize=2, pageToken=token).execute()
        pages += 1
        assert len(page["models"]) <= 2
        seen += [m["name"].rsplit("/", 1)[1] for m in page["models"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == names
    assert pages == 3
    everything = models(ml).list(parent=f"projects/{project}").execute()
    assert "nextPageToken" not in everything and len(everything["models"]) == 5


def test_filter_on_labels(ml: Any, project: str) -> None:
    parent = f"projects/{project}"
    models(ml).create(parent=parent, body={"name": "a", "labels": {"team": "vision"}}).execute()
    models(ml).create(parent=parent, body={"name": "b", "labels": {"team": "nlp"}}).execute()
    models(ml).create(parent=parent, body={"name": "c"}).execute()
    found = models(ml).list(parent=parent, filter="labels.team=vision").execute()
    assert [m["name"] for m in found["models"]] == [f"{parent}/models/a"]
    found = models(ml).list(parent=parent, filter="labels.team:*").execute()
    assert len(found["models"]) == 2
    found = models(ml).list(parent=parent, filter="labels.team=vision AND labels.x=y").execute()
    assert found == {}


def test_patch_description_and_labels(ml: Any, project: str, wait_operation: Any) -> None:
    name = f"projects/{project}/models/m"
    created = models(ml).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    body = {"description": "new", "labels": {"env": "prod"}}
    # On the global endpoint (mls1-*) labels are fixed at creation (issue 13); regional models
    # take them: tests/hostile/test_mlengine_rules.py.
    refused = models(ml).patch(name=name, body=body, updateMask="description,labels")
    with pytest.raises(HttpError, match="fixed at creation"):
        refused.execute()
    op = models(ml).patch(name=name, body=body, updateMask="description").execute()
    assert op["metadata"]["operationType"] == "UPDATE_MODEL"
    wait_operation(ml, op)
    got = models(ml).get(name=name).execute()
    assert got["description"] == "new" and "labels" not in got
    assert got["etag"] != created["etag"]


def test_patch_accepts_snake_case_update_mask(ml: Any, project: str, wait_operation: Any) -> None:
    name = f"projects/{project}/models/m"
    models(ml).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    request = models(ml).patch(name=name, body={"description": "snake"})
    request.uri += "&update_mask=description"
    wait_operation(ml, request.execute())
    assert models(ml).get(name=name).execute()["description"] == "snake"


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [
        ("regions", "fixed at creation"),
        ("onlinePredictionLogging", "fixed at creation"),
        ("colour", "Invalid update mask"),
        (None, "update mask must be provided"),
    ],
)
def test_patch_mask_whitelist(ml: Any, project: str, mask: str | None, fragment: str) -> None:
    name = f"projects/{project}/models/m"
    models(ml).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    body = {"regions": ["us-east1"], "onlinePredictionLogging": True}
    error = api_error(
        lambda: models(ml).patch(name=name, body=body, updateMask=mask).execute(), 400
    )
    assert fragment in error["message"]


def test_delete_model(ml: Any, project: str, wait_operation: Any) -> None:
    name = f"projects/{project}/models/m"
    models(ml).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    op = models(ml).delete(name=name).execute()
    assert op["metadata"]["operationType"] == "DELETE_MODEL"
    assert op["metadata"]["modelName"] == name
    done = wait_operation(ml, op)
    assert "error" not in done
    api_error(lambda: models(ml).get(name=name).execute(), 404)
    api_error(lambda: models(ml).delete(name=name).execute(), 404)


def test_model_quota(ml: Any, project: str) -> None:
    parent = f"projects/{project}"
    for i in range(100):
        models(ml).create(parent=parent, body={"name": f"m{i:03d}"}).execute()
    error = api_error(
        lambda: models(ml).create(parent=parent, body={"name": "one_too_many"}).execute(),
        429,
        "RESOURCE_EXHAUSTED",
    )
    assert "100" in error["message"]


def test_regional_endpoints_hold_their_own_resources(ml_client: Any, project: str) -> None:
    parent = f"projects/{project}"
    glob, west, east = ml_client(), ml_client("europe-west4"), ml_client("us-east1")
    models(west).create(parent=parent, body={"name": "m", "description": "west"}).execute()
    models(east).create(parent=parent, body={"name": "m", "description": "east"}).execute()
    assert models(west).get(name=f"{parent}/models/m").execute()["description"] == "west"
    assert models(east).get(name=f"{parent}/models/m").execute()["description"] == "east"
    assert models(glob).list(parent=parent).execute() == {}
    api_error(lambda: models(glob).get(name=f"{parent}/models/m").execute(), 404)


def test_unknown_region_is_404_with_a_clear_message(ml_client: Any, project: str) -> None:
    mars = ml_client("mars-west1")
    error = api_error(lambda: models(mars).list(parent=f"projects/{project}").execute(), 404)
    assert "mars-west1" in error["message"] and "us-central1" in error["message"]


@pytest.mark.parametrize(
    "region",
    [
        "us-central1", "us-east1", "us-east4", "us-west1", "northamerica-northeast1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "asia-east1",
        "asia-northeast1", "asia-southeast1", "australia-southeast1",
    ],
)  # fmt: skip
def test_every_regional_endpoint_answers(ml_client: Any, project: str, region: str) -> None:
    client = ml_client(region)
    created = models(client).create(parent=f"projects/{project}", body={"name": "m"}).execute()
    assert created["regions"] == [region]


def test_malformed_filter_is_400(ml: Any, project: str) -> None:
    parent = f"projects/{project}"
    error = api_error(
        lambda: models(ml).list(parent=parent, filter="labels.team vision").execute(),
        400,
        "INVALID_ARGUMENT",
    )
    assert "filter" in error["message"]
    models(ml).create(parent=parent, body={"name": "a", "labels": {"team": "nlp"}}).execute()
    found = models(ml).list(parent=parent, filter="NOT labels.team=vision").execute()
    assert len(found["models"]) == 1
