"""Issue 19 item 8: secrets handed to a serving container (env values, `--var` values from CI
secrets, args marked sensitive) never appear in a text plan, the Markdown comment, the JSON
plan, a saved plan file, apply's progress, the history or an error message; a change to them
is still planned, shown as `(sensitive value)`, and `apply PLAN.json` writes the real values,
taking them from the manifests (with the same `--var`), refusing a plan whose values moved."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from cli.helpers import Repo, model, version
from cli.vertex_live import VertexLive

from deployer.core import sensitive
from deployer.core.sensitive import SHOWN, ScrubbingStream, Sensitive

TOKEN, ROTATED, SIGNING = "tok-8f2b1c9d", "tok-rotated-77aa", "sign-4c4c4c4c"
IMAGE = "us-docker.pkg.dev/my-project/serving/custom:1"


def _write(repo: Repo) -> None:
    container = {
        "image_uri": IMAGE,
        "predict_route": "/predict",
        "health_route": "/health",
        "env": {
            "API_TOKEN": "${var.token}",
            "SIGNING_KEY": SIGNING,  # env values are sensitive unless declared otherwise
            "LOG_LEVEL": {"value": "verbose", "sensitive": False},
        },
        "args": ["--port=8080", "--token=${var.token}"],
    }
    v1 = version("v1", machine_type="n1-standard-2", container=container)
    repo.write(
        [model("m", [v1], regions=["us-central1"])],
        backend="vertex",
        sensitive_vars=["token"],
        vars={"token": "placeholder"},
    )


def _outputs(*results: Any) -> str:
    return "".join(r.stdout + r.stderr for r in results)


def _container(vlive: VertexLive) -> dict[str, Any]:
    versions = vlive.versions("us-central1", "m")
    newest = max(versions, key=lambda v: int(v["versionId"]))
    return dict(newest["containerSpec"])


def test_secrets_never_shown_anywhere_and_applied_from_a_saved_plan(
    repo: Repo, vertex_client: Any
) -> None:
    vlive = VertexLive(vertex_client, repo.project)
    _write(repo)
    secret = ("--var", f"token={TOKEN}")
    text = repo.run("plan", "manifests", *secret)
    markdown = repo.run("plan", "manifests", "--format", "markdown", *secret)
    as_json = repo.run("plan", "manifests", "--format", "json", *secret)
    saved = repo.run("plan", "manifests", "--out", "plan.json", *secret)
    for result in (text, markdown, as_json, saved):
        assert result.returncode == 0, str(result)
    plan_file = (repo.root / "plan.json").read_text()
    everything = _outputs(text, markdown, as_json, saved) + plan_file
    for value in (TOKEN, SIGNING):
        assert value not in everything
    assert "container.env: {" in text.stdout and "container.env: {" in markdown.stdout
    assert "(sensitive value)" in text.stdout and "(sensitive value)" in markdown.stdout
    doc = json.loads(plan_file)
    create = next(a for a in doc["actions"] if a["address"] == "us-central1/m/v1")
    env = {e["name"]: e["value"] for e in create["desired"]["containerSpec"]["env"]}
    assert set(env["API_TOKEN"]) == {"sensitive"} and env["LOG_LEVEL"] == "verbose"
    assert create["desired"]["containerSpec"]["args"][0] == "--port=8080"

    # CI's apply job has the checkout and the secret again; nothing it prints shows it.
    without = repo.run("apply", "plan.json")
    assert without.returncode == 1 and "pass the same --var values" in without.stderr
    applied = repo.run("apply", "plan.json", *secret)
    assert applied.returncode == 0, str(applied)
    history = repo.run("history", "manifests", "--format", "json")
    for value in (TOKEN, SIGNING):
        assert value not in _outputs(applied, history)
    live = _container(vlive)
    assert {e["name"]: e["value"] for e in live["env"]} == {
        "API_TOKEN": TOKEN,
        "LOG_LEVEL": "verbose",
        "SIGNING_KEY": SIGNING,
    }
    assert live["args"] == ["--port=8080", f"--token={TOKEN}"]
    assert repo.run("plan", "manifests", "--detailed-exitcode", *secret).returncode == 0


def test_a_rotation_is_planned_without_showing_either_value(repo: Repo, vertex_client: Any) -> None:
    _write(repo)
    assert (
        repo.run("apply", "manifests", "--auto-approve", "--var", f"token={TOKEN}").returncode == 0
    )
    rotated = ("--var", f"token={ROTATED}")
    text = repo.run("plan", "manifests", *rotated)
    markdown = repo.run("plan", "manifests", "--format", "markdown", *rotated)
    saved = repo.run("plan", "manifests", "--out", "plan.json", *rotated)
    assert text.returncode == 0 and "+/- us-central1/m/v1" in text.stdout, str(text)
    assert "container.env" in text.stdout and "container.args" in text.stdout
    everything = _outputs(text, markdown, saved) + (repo.root / "plan.json").read_text()
    for value in (TOKEN, ROTATED, SIGNING):
        assert value not in everything
    doc = json.loads((repo.root / "plan.json").read_text())
    change = next(
        c
        for a in doc["actions"]
        for c in a["changes"]
        if a["address"] == "us-central1/m/v1" and c["path"] == "containerSpec"
    )
    token = [
        {e["name"]: e["value"] for e in change[side]["env"]}["API_TOKEN"]
        for side in ("before", "after")
    ]
    assert token[0] != token[1]  # the change shows through the digests
    shown = repo.run("show-plans", "plan.json")  # the plan file read back, as in CI's comment
    assert shown.returncode == 0 and SHOWN in shown.stdout, str(shown)
    assert "container.env" in shown.stdout and TOKEN not in shown.stdout

    stale = repo.run("apply", "plan.json", "--var", "token=something-else")
    assert stale.returncode == 1 and "saved plan is stale" in stale.stderr, str(stale)
    assert "something-else" not in stale.stderr + stale.stdout


def test_a_sensitive_variable_anywhere_else_is_refused(repo: Repo) -> None:
    repo.write(
        [model("m", [version("v1", description="key ${var.token}")], regions=["us-central1"])],
        sensitive_vars=["token"],
        vars={"token": TOKEN},
    )
    result = repo.run("validate", "manifests")
    assert result.returncode == 1
    assert "variable 'token' is sensitive" in result.stderr and TOKEN not in result.stderr


# ---- free text: what any message or log line would quote --------------------------------------


@pytest.fixture
def registered() -> Any:
    saved = set(sensitive._REGISTERED)
    sensitive.register([TOKEN, 'quo"te-secret', "ab"])
    yield
    sensitive._REGISTERED.clear()
    sensitive._REGISTERED.update(saved)


def test_printed_text_is_scrubbed_even_across_writes(registered: None) -> None:
    out = io.StringIO()
    stream = ScrubbingStream(out)
    stream.write(f"error: request {{'API_TOKEN': '{TOKEN[:5]}")
    stream.write(f"{TOKEN[5:]}'}} refused\n")
    stream.write(json.dumps({"v": 'quo"te-secret'}) + "\n")
    stream.write("ab and abc stay\n")
    stream.flush()
    assert TOKEN not in out.getvalue() and "quo" not in out.getvalue()
    assert out.getvalue().count(SHOWN) == 2
    assert "ab and abc stay" in out.getvalue()  # too short to search for


def test_a_sensitive_value_hides_in_repr_but_is_still_the_value() -> None:
    value = Sensitive(TOKEN)
    assert repr(value) == repr(SHOWN) and TOKEN not in repr({"k": value})
    assert value == TOKEN and json.dumps(value) == json.dumps(TOKEN)


def test_the_json_digest_is_salted_per_plan() -> None:
    a, b = sensitive.digest(TOKEN, "plan-1"), sensitive.digest(TOKEN, "plan-2")
    assert a != b and a == sensitive.digest(Sensitive(TOKEN), "plan-1")
