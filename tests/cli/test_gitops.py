"""Issue 11: the pull-request flow as CI runs it (no TTY, CI=true): Markdown and JSON plans,
apply of the saved plan, an empty re-plan, drift made through the API caught by the nightly
check (exit 2), and `deployer history` listing the applies with their outcome."""

from __future__ import annotations

import json
from typing import Any

from cli.helpers import Live, Repo, model, version


def test_pull_request_flow_on_the_twin(repo: Repo, live: Live) -> None:
    repo.env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_REPOSITORY="acme/manifests",
        GITHUB_RUN_ID="4242",
        GITHUB_SHA="0123456789abcdef0123",
        GITHUB_SERVER_URL="https://github.com",
    )
    repo.write([model("iris", [version("v1")])])

    # pull request: a Markdown comment and the JSON plan as an artifact
    md = repo.run("plan", "manifests", "--format", "markdown", "--detailed-exitcode")
    assert md.returncode == 2, str(md)
    assert "iris" in md.stdout and len(md.stdout) <= 65_000
    saved = repo.root / "plan.json"
    plan = repo.run("plan", "manifests", "--format", "json", "--out", str(saved))
    assert plan.returncode == 0, str(plan)
    assert json.loads(plan.stdout)["commit"] == "0123456789ab"

    # merge: apply exactly the saved plan
    applied = repo.run("apply", str(saved))
    assert applied.returncode == 0, str(applied)
    assert "Apply complete!" in applied.stdout
    repo.assert_no_changes()

    # the saved plan is stale now: refused, and that refusal is recorded too
    stale = repo.run("apply", str(saved))
    assert stale.returncode == 1 and "stale" in stale.stderr, str(stale)

    # nightly drift check: a change made through the API
    live.patch_version("us-central1", "iris", "v1", "description", {"description": "by hand"})
    drift = repo.run("plan", "manifests", "--detailed-exitcode")
    assert drift.returncode == 2, str(drift)

    # a second apply (from the manifests) converges
    assert repo.apply().returncode == 0
    repo.assert_no_changes()

    listed = repo.run("history", "manifests", "--format", "json")
    assert listed.returncode == 0, str(listed)
    records: list[dict[str, Any]] = listed.json()
    assert [(r["operation"], r["outcome"]) for r in records] == [
        ("apply", "success"),
        ("apply", "refused"),
        ("apply", "success"),
    ]
    last, _, first = records
    assert first["saved_plan"] == str(saved) and first["plan"]["add"] == 2
    assert last["plan"]["change"] == 1 and last["done"]["change"] == 1
    assert first["who"] == "octocat" and first["commit"] == "0123456789ab"
    assert first["ci"]["url"] == "https://github.com/acme/manifests/actions/runs/4242"
    assert all(r["duration_s"] >= 0 for r in records)
    table = repo.run("history", "manifests")
    assert table.returncode == 0, str(table)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["when", "(UTC)", "operation", "outcome"]
    assert [line.split()[3] for line in lines[1:]] == ["success", "refused", "success"]


def test_history_of_a_new_stack_is_empty(repo: Repo) -> None:
    repo.write([model("iris", [version("v1")])])
    empty = repo.run("history", "manifests")
    assert empty.returncode == 0 and "No applies" in empty.stdout, str(empty)


class _Unwritable:
    def bucket(self, name: str) -> Any:
        return self

    def blob(self, name: str) -> Any:
        return self

    def upload_from_string(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("Connection refused")


def test_recording_never_fails_the_run_and_keeps_its_error() -> None:
    from deployer.history import ci_run, recording

    warnings: list[str] = []
    with recording(
        _Unwritable(), "gs://b/d", "s", "apply", project="p", backend="mlengine",
        warn=warnings.append, environ={},
    ):  # fmt: skip
        pass
    assert len(warnings) == 1 and "could not record" in warnings[0]
    try:
        with recording(
            _Unwritable(), "gs://b/d", "s", "apply", project="p", backend="vertex",
            warn=warnings.append, environ={},
        ):  # fmt: skip
            raise ValueError("boom")
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the run's own error must pass through")
    gitlab = ci_run({"GITLAB_CI": "true", "CI_PIPELINE_ID": "7", "CI_JOB_URL": "https://g/j/1"})
    assert (gitlab.system, gitlab.run_id, gitlab.url) == ("gitlab-ci", "7", "https://g/j/1")
