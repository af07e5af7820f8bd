"""A plan saved by one CI job applies in another checkout of the same commit: its local
artifact paths are relative to the directory `plan` ran in, not absolute."""

from __future__ import annotations

import dataclasses
import json
import shutil

from cli.helpers import Repo, model, version


def test_a_saved_plan_applies_from_another_checkout(repo: Repo) -> None:
    repo.write([model("m", [version("v1", "a")], regions=["us-central1"])])
    saved = repo.run("plan", "manifests", "--out", "plan.json")
    assert saved.returncode == 0, str(saved)
    doc = json.loads((repo.root / "plan.json").read_text())
    assert list(doc["artifacts"]) == ["export/a"]
    elsewhere = dataclasses.replace(repo, root=repo.root.parent / "other-checkout")
    shutil.copytree(repo.root, elsewhere.root)
    shutil.rmtree(repo.root)  # nothing may still point at the first checkout
    applied = elsewhere.run("apply", "plan.json")
    assert applied.returncode == 0, str(applied)
    elsewhere.assert_no_changes()
