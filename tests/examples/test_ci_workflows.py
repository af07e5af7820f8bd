"""Issue 11: every CI example parses, and each `deployer` command it runs exists with the
flags it passes (checked against the CLI's own command definitions)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted(
    p
    for pattern in ("*.yml", "*.yaml")
    for p in EXAMPLES.rglob(pattern)
    if ".github" in p.parts or p.name in (".gitlab-ci.yml", "cloudbuild.yaml")
)


def _scripts(doc: Any) -> Iterator[str]:
    """Every shell script in a workflow: GitHub `run:`, GitLab `script`/`before_script`,
    Cloud Build `args` of a bash step."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                yield value
            elif key in ("script", "before_script", "after_script"):
                yield from ([value] if isinstance(value, str) else [str(v) for v in value])
            else:
                yield from _scripts(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _scripts(item)


def _invocations(script: str) -> Iterator[list[str]]:
    """`deployer …` command lines (continuations joined; cut at a redirection, pipe or `;`)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    for line in joined.splitlines():
        if not line.strip().startswith("deployer "):
            continue
        lexer = shlex.shlex(line.strip(), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for token in lexer:
            if token and all(ch in "();<>|&" for ch in token):
                break
            words.append(token)
        yield words


def _command(name: str) -> Any:
    import typer.main

    from deployer.cli import app

    group = typer.main.get_command(app)
    return group.commands.get(name)  # type: ignore[attr-defined]


def test_there_are_examples_for_github_and_gitlab() -> None:
    names = {p.name for p in FILES}
    assert {"deployer-plan.yml", "deployer-apply.yml", "deployer-drift.yml"} <= names
    assert ".gitlab-ci.yml" in names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_deployer_command_exists_with_its_flags(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    calls = [c for s in _scripts(doc) for c in _invocations(s)]
    assert calls, f"{path} runs no deployer command"
    for words in calls:
        command = _command(words[1])
        assert command is not None, f"{path}: no command `deployer {words[1]}`"
        flags = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for word in words[2:]:
            if word.startswith("--"):
                assert word.split("=", 1)[0] in flags, f"{path}: `{' '.join(words)}`: {word}?"


def test_github_workflows_use_wif_sticky_comment_and_artifacts() -> None:
    text = {p.name: p.read_text() for p in FILES}
    plan = yaml.safe_load(text["deployer-plan.yml"])
    steps = [s.get("uses", "") for job in plan["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("marocchino/sticky-pull-request-comment@") for u in steps)
    assert any(u.startswith("actions/upload-artifact@") for u in steps)
    for name in ("deployer-plan.yml", "deployer-apply.yml", "deployer-drift.yml"):
        doc = yaml.safe_load(text[name])
        assert doc["permissions"]["id-token"] == "write"
        assert "google-github-actions/auth@" in text[name]
        assert "credentials_json" not in text[name]
        for job in doc["jobs"].values():
            if "deployer" in str(job.get("steps")):
                assert job.get("strategy", {}).get("matrix", {}).get("env") or "comment" in str(job)
    assert "--detailed-exitcode" in text["deployer-drift.yml"]
