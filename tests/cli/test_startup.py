"""Issue 12, start-up: what each light command loads, so a fast start cannot silently regress.

Timings live in bench/startup.py; these tests only look at `sys.modules` after a command ran in
a fresh interpreter, which is what decides the time and does not depend on the machine.
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
# namespace packages a site-packages *-nspkg.pth made at start-up (google.cloud, with the
# google-cloud-aiplatform SDK installed) are not loaded by the command
before = {name for name, m in sys.modules.items() if getattr(m, "__file__", None) is None}
from deployer.cli import main
sys.argv = ['deployer', *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(set(sys.modules) - before)), file=sys.stderr)
"""

# Nothing that only reading manifests, calling the cloud or printing a plan needs.
NOT_FOR_HELP = (
    "tensorflow",
    "googleapiclient",
    "google.auth",
    "google.cloud",
    "httplib2",
    "rich",
    "yaml",
    "sqlite3",
    "deployer.config",
    "deployer.workflow",
    "deployer.plan",
    "deployer.providers",
    "deployer.render",
    "deployer.artifacts",
    "deployer.emulator",
)
# Validating manifests reads YAML with pydantic models and each backend's manifest rules (its
# package's light modules: catalog, rules, resource model); it calls no API and prints no plan.
PROVIDER_MODULES = ("provider", "client", "reader", "writer", "state", "importer", "predict")
NOT_FOR_VALIDATE = (
    "tensorflow",
    "googleapiclient",
    "google.auth",
    "google.cloud",
    "httplib2",
    "rich",
    "deployer.workflow",
    "deployer.plan",
    "deployer.providers.discovery",
    "deployer.providers.retry",
    *(f"deployer.providers.{b}.{m}" for b in ("mlengine", "vertex") for m in PROVIDER_MODULES),
    "deployer.render",
    "deployer.emulator",
)


def loaded(*args: str, cwd: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])


def heavy(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == b or m.startswith(b + ".") for b in banned)]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],
        ["plan", "--help"],
        ["apply", "--help"],
        ["validate", "--help"],
        ["emulator", "--help"],
        ["doctor", "--help"],
        ["predict", "--help"],
    ],
)
def test_help_loads_only_the_command_line(args: list[str], tmp_path: Path) -> None:
    modules = loaded(*args, cwd=tmp_path)
    assert "deployer.cli" in modules
    assert heavy(modules, NOT_FOR_HELP) == []


def test_top_level_help_loads_no_pydantic(tmp_path: Path) -> None:
    """A command's own --help does: typer coerces the group's options through pydantic."""
    assert heavy(loaded("--help", cwd=tmp_path), ("pydantic", "pydantic_core")) == []


def test_validate_loads_no_cloud_client_and_no_renderer(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    for model, version in (("iris", "1"), ("fashion_mnist", "1"), ("fashion_mnist", "2")):
        target = tmp_path / "export" / model / version
        target.mkdir(parents=True)
        (target / "saved_model.pb").write_bytes(b"")
    modules = loaded("validate", "manifests", cwd=tmp_path)
    assert "deployer.config.loader" in modules
    assert heavy(modules, NOT_FOR_VALIDATE) == []


def test_commands_give_typer_annotation_objects_not_strings() -> None:
    """String annotations (`from __future__ import annotations` in a command module) make typer
    compile and evaluate each one on every start."""
    from deployer.cli import app

    for command in app.registered_commands:
        assert command.callback is not None
        for name, parameter in inspect.signature(command.callback).parameters.items():
            assert not isinstance(parameter.annotation, str), (command.callback, name)
