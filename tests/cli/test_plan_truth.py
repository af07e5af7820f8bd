"""Issue 22 through the CLI, on the twin: a Vertex name held by an unmanaged registry model is
a plan error naming an import that import accepts (item 5); a plan that fails still writes a
JSON and Markdown plan that `show-plans` shows as failed, with the manifests' FILE:LINE:COL,
and manifest warnings reach the comment (item 7); a `--target` plan says it is partial (item 8).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from cli.helpers import Repo, model, version


def test_vertex_name_held_by_an_unmanaged_model_fails_the_plan_with_an_import_that_works(
    repo: Repo, vertex_client: Any, wait_vertex: Any, upload_dir: Any, pristine: Any
) -> None:
    from emulator import vertex_support as vs

    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    first = vs.upload(
        vertex_client, wait_vertex, repo.project, "legacy", image=vs.TF_IMAGE, uri=uri
    )
    endpoint = vs.create_endpoint(vertex_client, wait_vertex, repo.project)["name"]
    done = vs.deploy(
        vertex_client, wait_vertex, endpoint, f"{first['response']['model']}@1", {"0": 100}
    )
    assert "error" not in done, done
    repo.write([model("legacy", [version("v1", machine_type="n1-standard-2")])], backend="vertex")

    result, plan = repo.plan_json()
    assert result.returncode == 1, str(result)
    assert [a["address"] for a in plan["actions"]] == []  # never a "create" apply cannot do
    (error,) = plan["errors"]
    assert "us-central1/legacy is declared but the live model of that name is not managed" in error
    command = re.search(r"`(deployer import [^`]+)`", error)
    assert command is not None, error
    assert command.group(1) == "deployer import legacy --region us-central1"

    adopted = repo.run(*shlex.split(command.group(1))[1:])  # exactly what the plan suggested
    assert adopted.returncode == 0, str(adopted)
    (repo.manifests / "models" / "legacy.yaml").write_text(adopted.stdout)
    repo.assert_no_changes()


def test_a_failed_plan_still_writes_json_and_markdown_that_show_plans_shows(
    repo: Repo, vertex_client: Any
) -> None:
    repo.write([model("iris", [version("v1", machine_type="n1-standard-2", tpyo=1)])])
    text = (repo.manifests / "models" / "iris.yaml").read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "tpyo" in t)

    result = repo.run("plan", "manifests", "--format", "markdown", "--out", "plan-prod.json")
    assert result.returncode == 1, str(result)
    md = result.stdout
    assert md.startswith(f"## deployer plan: stack `{repo.stack}` in project `{repo.project}`")
    assert md.index("**:x: Plan failed: 1 error. Nothing will be applied.**") < md.index(
        "### :x: Errors"
    )
    assert f"manifests/models/iris.yaml:{line}:" in md and "tpyo" in md
    assert f"manifests/models/iris.yaml:{line}:" in result.stderr  # still said where it was

    saved = json.loads((repo.root / "plan-prod.json").read_text())
    assert saved["errors"] and f"iris.yaml:{line}:" in saved["errors"][0]
    assert saved["actions"] == []

    shown = repo.run("show-plans", "plan-prod.json")
    assert shown.returncode == 0, str(shown)
    assert "**:x: Plan failed: 1 error. Nothing will be applied.**" in shown.stdout
    assert f"iris.yaml:{line}:" in shown.stdout

    refused = repo.run("apply", "plan-prod.json", "--auto-approve")
    assert refused.returncode != 0, str(refused)


def test_manifest_warnings_reach_the_comment_and_a_target_plan_says_it_is_partial(
    repo: Repo, vertex_client: Any
) -> None:
    repo.write(
        [
            model("iris", [version("v1", machine_type="n1-standard-2", python_version="3.7")]),
            model("mnist", [version("v1", machine_type="n1-standard-2")]),
        ],
        backend="vertex",
    )
    md = repo.run("plan", "manifests", "--format", "markdown", "--target", "iris")
    assert md.returncode == 0, str(md)
    warnings = md.stdout[md.stdout.index("### Warnings") :]
    assert (
        "manifests/models/iris.yaml:" in warnings and "python\\_version has no meaning" in warnings
    )
    assert (
        "> [!WARNING]\n> **Resource targeting is in effect: only iris \\(and what it needs\\) "
        "was planned; other changes may be pending." in md.stdout
    )
    assert "mnist" not in md.stdout.split("### Warnings")[0].split("Resource targeting")[1]

    text = repo.run("plan", "manifests", "--target", "iris")
    assert "Resource targeting is in effect: only iris" in text.stdout
    _, doc = repo.plan_json("--target", "iris")
    assert doc["targets"] == ["iris"]
    assert any("python_version has no meaning" in w for w in doc["warnings"])
    whole = repo.run("plan", "manifests")
    assert "Resource targeting" not in whole.stdout
