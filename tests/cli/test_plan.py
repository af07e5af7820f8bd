"""Issue 4, `deployer plan`, end to end: the CLI as a user runs it against the twin."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import pytest

from cli.helpers import Live, Repo, model, version


def _base(repo: Repo) -> list[dict[str, Any]]:
    return [
        model(
            "keep",
            [version("v1", machine_type="mls1-c1-m2", scaling={"mode": "auto", "min_nodes": 0})],
            regions=["global"],
            description="kept",
        ),
        model(
            "drifty",
            [
                version(
                    "v1",
                    "b",
                    description="as declared",
                    scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 2},
                )
            ],
            regions=["us-central1"],
        ),
    ]


def _by_address(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for action in plan["actions"]:
        found.setdefault(action["address"], []).append(action)
    return found


def test_plan_sorts_live_resources_into_actions_ignored_errors_drift_and_warnings(
    repo: Repo, live: Live, twin_knobs: Any, upload_dir: Any, pristine: Any
) -> None:
    repo.write(_base(repo))
    assert repo.apply().returncode == 0
    ours = {"managed-by": "deployer", "deployer-stack": repo.stack}
    uri = upload_dir(pristine["c"], repo.bucket, "hand-made/c")

    # Someone edits a managed version by hand: drift.
    live.patch_version("us-central1", "drifty", "v1", "description", {"description": "by hand"})
    # Unmanaged model with a version, and a model of another stack: never touched, ignored.
    live.create_model("us-central1", "stranger")
    live.create_version("us-central1", "stranger", "v1", uri)
    live.create_model("global", "theirs", {"managed-by": "deployer", "deployer-stack": "other"})
    # A managed version whose artifact is missing ends FAILED: it is replaced.
    failed = live.create_version("global", "keep", "v2", f"gs://{repo.bucket}/missing", ours)
    assert "error" in failed
    # A managed version still CREATING: apply waits for it instead of creating it again.
    twin_knobs(op_seconds=30.0)
    live.create_version("global", "keep", "v3", uri, ours, wait=False)
    before = live.snapshot()

    models = _base(repo)
    models[0]["versions"] += [
        version("v2", machine_type="mls1-c1-m2", scaling={"mode": "auto", "min_nodes": 0}),
        version("v3", machine_type="mls1-c1-m2", scaling={"mode": "auto", "min_nodes": 0}),
    ]
    models[0]["default_version"] = "v1"
    repo.write(models)
    result = repo.run("plan", "manifests", "--format", "json", "--detailed-exitcode")
    assert result.returncode == 2, str(result)
    plan = result.json()
    assert plan["format_version"].startswith("2.")
    assert (plan["stack"], plan["project"]) == (repo.stack, repo.project)
    actions = _by_address(plan)
    assert {a: [x["kind"] for x in xs] for a, xs in actions.items()} == {
        "us-central1/drifty/v1": ["update"],
        "global/keep/v2": ["delete-then-create"],
        "global/keep/v3": ["wait"],
    }, plan["actions"]
    (update,) = actions["us-central1/drifty/v1"]
    assert update["drift"] is True
    assert [(c["path"], c["before"], c["after"]) for c in update["changes"]] == [
        ("description", "by hand", "as declared")
    ]
    assert plan["drift"] == [update["id"]]
    (replace,) = actions["global/keep/v2"]
    assert any(c["path"] == "state" and c["forces_replacement"] for c in replace["changes"])
    assert replace["drift"] is False
    ignored = {i["address"]: i["reason"] for i in plan["ignored"]}
    assert "not managed" in ignored["us-central1/stranger"]
    assert "other" in ignored["global/theirs"]
    assert not any(a.startswith(("us-central1/stranger", "global/theirs")) for a in actions)
    assert any("global/keep/v2 is FAILED" in w for w in plan["warnings"]), plan["warnings"]
    assert any("global/keep/v3 is CREATING" in w for w in plan["warnings"]), plan["warnings"]
    assert plan["errors"] == []
    assert plan["summary"] == {"add": 0, "change": 1, "replace": 1, "destroy": 0, "reroute": 0}

    # A declared name that exists live but is not ours: an error naming `deployer import`.
    live.create_model("global", "adopt")
    repo.write(
        [*models, model("adopt", [version("v1", machine_type="mls1-c1-m2")], regions=["global"])]
    )
    result = repo.run("plan", "manifests", "--format", "json", "--detailed-exitcode")
    assert result.returncode == 1, str(result)
    errors = result.json()["errors"]
    assert len(errors) == 1 and "deployer import adopt --region global" in errors[0], errors
    # Declaring another stack's model is refused, without suggesting an import (import refuses).
    repo.write(
        [*models, model("theirs", [version("v1", machine_type="mls1-c1-m2")], regions=["global"])]
    )
    result = repo.run("plan", "manifests", "--format", "json")
    assert result.returncode == 1, str(result)
    assert any("belongs to stack" in e for e in result.json()["errors"]), result.json()

    # plan never writes anything.
    after = live.snapshot()
    made_here = ("global/keep/v3", "global/adopt")
    assert {a: b for a, b in after.items() if a not in made_here} == {
        a: b for a, b in before.items() if a not in made_here
    }


def test_no_change_plan_exits_0_and_says_so_in_one_line(repo: Repo) -> None:
    repo.write(_base(repo))
    assert repo.apply().returncode == 0
    result = repo.run("plan", "manifests", "--detailed-exitcode")
    assert result.returncode == 0, str(result)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert [line for line in lines if "No changes" in line] == [lines[-1]], result.stdout
    assert lines[-1].startswith("No changes")
    assert not any(line.lstrip().startswith(("+", "-", "~", "»", "Plan:")) for line in lines)
    plain = repo.run("plan", "manifests")
    assert plain.returncode == 0 and plain.stdout == result.stdout
    doc = repo.run("plan", "manifests", "--format", "json", "--detailed-exitcode")
    assert doc.returncode == 0
    assert doc.json()["actions"] == [] and doc.json()["summary"]["add"] == 0


PROBE = """
import sys
from deployer.cli import main
sys.argv = ['deployer', *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow')
print('EXIT', code, 'HEAVY', heavy, file=sys.stderr)
"""


def test_plan_never_imports_tensorflow(repo: Repo) -> None:
    repo.write(_base(repo))
    for args in (["plan", "manifests"], ["plan", "manifests", "--format", "json"]):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            cwd=repo.root,
            env=repo.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "EXIT 0 HEAVY []" in proc.stderr, proc.stderr[-3000:]
        assert "Plan: 4 to add" in proc.stdout or '"add": 4' in proc.stdout, proc.stdout


def test_target_limits_the_plan_and_the_apply(repo: Repo, live: Live) -> None:
    repo.write(_base(repo))
    _, plan = repo.plan_json("--target", "drifty")
    assert {a["address"] for a in plan["actions"]} == {
        "us-central1/drifty",
        "us-central1/drifty/v1",
    }
    result = repo.apply("--target", "drifty/v1")
    assert result.returncode == 0, str(result)
    assert set(live.snapshot()) == {"us-central1/drifty", "us-central1/drifty/v1"}
    _, rest = repo.plan_json()
    assert {a["address"] for a in rest["actions"]} == {"global/keep", "global/keep/v1"}
    bad = repo.run("plan", "manifests", "--target", "no/such/thing")
    assert bad.returncode == 2 and "--target" in bad.stderr and "Traceback" not in bad.stderr


def test_saved_plan_is_executed_exactly(repo: Repo, live: Live) -> None:
    repo.write(_base(repo))
    out = repo.root / "plan.json"
    saved = repo.run("plan", "manifests", "--target", "keep", "--out", str(out))
    assert saved.returncode == 0, str(saved)
    # The manifests change after the plan was saved; the saved plan is still what runs.
    models = _base(repo)
    models[0]["description"] = "changed after the plan was saved"
    repo.write(models)
    result = repo.run("apply", str(out))  # a saved plan was the review: no question
    assert result.returncode == 0, str(result)
    state = live.snapshot()
    assert set(state) == {"global/keep", "global/keep/v1"}
    assert state["global/keep"]["description"] == "kept"
    # Applying it a second time: the live state is no longer what it was made from.
    again = repo.run("apply", str(out), "--auto-approve")
    assert again.returncode == 1 and "stale" in again.stderr, str(again)
    assert live.snapshot() == state


def test_saved_plan_refused_when_live_state_changed(repo: Repo, live: Live) -> None:
    repo.write(_base(repo))
    assert repo.apply().returncode == 0
    models = _base(repo)
    models[1]["versions"][0]["description"] = "new text"
    repo.write(models)
    out = repo.root / "plan.json"
    assert repo.run("plan", "manifests", "--out", str(out)).returncode == 0
    live.create_model("europe-west4", "newcomer")
    before = live.snapshot()
    result = repo.run("apply", str(out), "--auto-approve")
    assert result.returncode == 1, str(result)
    assert "stale" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert live.snapshot() == before


def test_saved_plan_refused_when_artifact_bytes_changed(repo: Repo, live: Live) -> None:
    repo.write(_base(repo))
    out = repo.root / "plan.json"
    assert repo.run("plan", "manifests", "--out", str(out)).returncode == 0
    repo.put_artifact("b", "c")  # same path, other bytes
    result = repo.run("apply", str(out), "--auto-approve")
    assert result.returncode == 1, str(result)
    assert "stale" in result.stderr and "export/b" in result.stderr, result.stderr
    assert live.snapshot() == {}


def test_unreachable_service_is_one_line_error(repo: Repo) -> None:
    repo.write(_base(repo))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    repo.env = {**repo.env, "AIPLATFORM_EMULATOR_HOST": f"http://127.0.0.1:{port}"}
    result = repo.run("plan", "manifests", timeout=90)
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].lower().startswith("error"), result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_changes_give_exit_2_in_every_format(repo: Repo, fmt: str) -> None:
    repo.write(_base(repo))
    result = repo.run("plan", "manifests", "--format", fmt, "--detailed-exitcode")
    assert result.returncode == 2, str(result)
    assert "global/keep/v1" in result.stdout
    assert repo.run("plan", "manifests", "--format", fmt).returncode == 0
