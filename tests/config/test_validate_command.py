"""`deployer validate` and `deployer schema` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A copy of the example manifests with stand-in artifact directories."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    for model, version in (("iris", "1"), ("fashion_mnist", "1"), ("fashion_mnist", "2")):
        target = tmp_path / "export" / model / version
        target.mkdir(parents=True)
        (target / "saved_model.pb").write_bytes(b"")
    return tmp_path


def test_example_manifests_validate(example_repo: Path) -> None:
    result = run("validate", "manifests", cwd=example_repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Valid: stack 'demo' (project demo-project): 2 models, 3 versions in 3 regions "
        "(europe-west4, global, us-central1)."
    )


def test_environment_and_var_override_in_order(example_repo: Path) -> None:
    prod = run("validate", "manifests", "--env", "prod", cwd=example_repo)
    assert "(project acme-prod)" in prod.stdout
    cli = run(
        "validate", "manifests", "--env", "prod", "--var", "project=cli-project", cwd=example_repo
    )
    assert "(project cli-project)" in cli.stdout


def test_single_model_file_uses_settings_beside_it(example_repo: Path) -> None:
    (example_repo / "manifests" / "models" / "deployer.yaml").write_text(
        "stack: iris-only\nproject: demo-project\nartifacts: gs://demo-models/x\n"
    )
    result = run("validate", "manifests/models/iris.yaml", cwd=example_repo)
    assert result.returncode == 0, result.stderr
    assert "stack 'iris-only'" in result.stdout
    assert "1 model, 1 version in 1 region (global)" in result.stdout


def test_every_error_is_reported_sorted_by_file_and_line(example_repo: Path) -> None:
    models = example_repo / "manifests" / "models"
    (models / "a.yaml").write_text(
        "models:\n"
        "  - name: bad-name\n"
        "    versions:\n"
        "      - {name: v1, artifact: gs://demo-models/a, runtime_version: '9.9'}\n"
    )
    (models / "b.yaml").write_text("models:\n  - name: iris\n    regions: [global]\n")
    result = run("validate", "manifests", cwd=example_repo)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "manifests/models/a.yaml:2:11: invalid model name 'bad-name': start with a letter, then "
        "letters, digits or underscores (no hyphens), at most 128 characters",
        "manifests/models/a.yaml:4:67: unknown runtime_version '9.9' (known: 1.15, 2.1, 2.2, "
        "2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.11)",
        "manifests/models/iris.yaml:2:11: model 'iris' is declared twice for region global "
        "(first at manifests/models/b.yaml:2)",
        "3 errors in manifests",
    ]


def test_missing_settings_file(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("models: []\n")
    result = run("validate", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("deployer.yaml:1:1: settings file not found")


def test_missing_path_and_bad_var_are_one_line_errors(example_repo: Path) -> None:
    missing = run("validate", "nowhere", cwd=example_repo)
    assert (missing.returncode, missing.stderr) == (
        1,
        "Error: nowhere: no such file or directory\n",
    )
    bad = run("validate", "manifests", "--var", "novalue", cwd=example_repo)
    assert bad.returncode == 2  # a bad option value exits 2, as the parser
    assert bad.stderr.startswith("Error: --var 'novalue': expected NAME=VALUE")
    assert "Traceback" not in missing.stderr + bad.stderr


def test_help_and_validate_do_not_load_tensorflow_or_api_discovery(example_repo: Path) -> None:
    probe = (
        "import sys\n"
        "from deployer.cli import main\n"
        "sys.argv = ['deployer', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'\n"
        "    or m.startswith('googleapiclient.discovery') or m == 'google.cloud.storage')\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    for args in (["--help"], ["validate", "manifests"], ["schema"]):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args],
            cwd=example_repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "HEAVY []" in result.stderr, (args, result.stderr)


def test_schema_describes_model_files_and_settings(tmp_path: Path) -> None:
    model_schema = json.loads(run("schema", cwd=tmp_path).stdout)
    assert model_schema["required"] == ["models"]
    version = model_schema["$defs"]["VersionSpec"]
    assert {"artifact", "runtime_version", "scaling"} <= set(version["properties"])
    assert version["additionalProperties"] is False
    settings = json.loads(run("schema", "--settings", cwd=tmp_path).stdout)
    assert set(settings["required"]) == {"project", "artifacts"}
    assert settings["properties"]["backend"]["enum"] == ["mlengine", "vertex"]
    assert settings["properties"]["backend"]["description"]


def test_schema_documents_the_vertex_fields(tmp_path: Path) -> None:
    defs = json.loads(run("schema", cwd=tmp_path).stdout)["$defs"]
    version = defs["VersionSpec"]["properties"]
    for key in ("deployed", "framework_version", "container", "service_account", "python_version"):
        assert version[key]["description"], key
    assert "vertex" in version["deployed"]["description"]
    assert "traffic" in defs["ModelSpec"]["properties"]
    assert "vertex" in defs["ModelSpec"]["properties"]["traffic"]["description"]
    container = defs["Container"]
    assert container["required"] == ["image_uri"]
    assert set(container["properties"]) == {
        "image_uri",
        "predict_route",
        "health_route",
        "env",
        "ports",
        "command",
        "args",
    }
    assert "NVIDIA_L4" in defs["Accelerator"]["properties"]["type"]["enum"]
