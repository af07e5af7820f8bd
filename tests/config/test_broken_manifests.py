"""Each file under broken/ breaks one manifest rule; `deployer validate` must name its position.

A case's first line is `# expect: LINE:COL: message` (the message may be a prefix). Model-file
cases run beside a good deployer.yaml; `settings_*` cases are the deployer.yaml, beside a good
model file. `# args:` on the next line adds command-line arguments; `# settings: YAML` lines
add keys to the good deployer.yaml (the opt-in or a pool a model file needs). Cases under
broken_vertex/ run the same way with `backend: vertex` in the good deployer.yaml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BROKEN = Path(__file__).parent / "broken"
BROKEN_VERTEX = Path(__file__).parent / "broken_vertex"
CASES = sorted(BROKEN.glob("*.yaml"))
VERTEX_CASES = sorted(BROKEN_VERTEX.glob("*.yaml"))

GOOD_SETTINGS = """\
project: demo-project
artifacts: gs://demo-models/deployer
vars: {bucket: demo-models}
"""
GOOD_MODEL = """\
models:
  - name: good
    versions:
      - {name: v1, artifact: model, runtime_version: "2.11"}
"""
GOOD_VERTEX_SETTINGS = GOOD_SETTINGS + "backend: vertex\n"


def _expectation(case: Path) -> tuple[str, list[str]]:
    lines = case.read_text().splitlines()
    assert lines[0].startswith("# expect: "), f"{case.name} has no '# expect:' header"
    args = (
        lines[1].removeprefix("# args:").split()
        if lines[1:2] and lines[1].startswith("# args:")
        else []
    )
    return lines[0].removeprefix("# expect: "), args


def _extra_settings(case: Path) -> str:
    lines = case.read_text().splitlines()
    return "".join(
        line.removeprefix("# settings: ") + "\n"
        for line in lines
        if line.startswith("# settings: ")
    )


def _workspace(tmp_path: Path, case: Path, settings: str = GOOD_SETTINGS) -> str:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    (tmp_path / "two_files").mkdir()
    for name in ("model.joblib", "model.pkl"):
        (tmp_path / "two_files" / name).write_bytes(b"x")
    if case.name.startswith("settings_"):
        shutil.copy(case, tmp_path / "deployer.yaml")
        (tmp_path / "good.yaml").write_text(GOOD_MODEL)
        return "deployer.yaml"
    (tmp_path / "deployer.yaml").write_text(settings + _extra_settings(case))
    shutil.copy(case, tmp_path / case.name)
    return case.name


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len(VERTEX_CASES) >= 30


@pytest.mark.parametrize(
    "case",
    [*CASES, *VERTEX_CASES],
    ids=[c.stem for c in CASES] + [f"vertex/{c.stem}" for c in VERTEX_CASES],
)
def test_broken_manifest_is_reported_at_its_position(tmp_path: Path, case: Path) -> None:
    expected, args = _expectation(case)
    settings = GOOD_VERTEX_SETTINGS if case.parent == BROKEN_VERTEX else GOOD_SETTINGS
    file = _workspace(tmp_path, case, settings)
    result = subprocess.run(
        [sys.executable, "-m", "deployer", "validate", ".", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.endswith("in manifests")]
    assert errors == [errors[0]], f"expected exactly one error, got:\n{result.stderr}"
    assert errors[0].startswith(f"{file}:{expected}"), result.stderr
    assert result.stderr.rstrip().endswith("1 error in manifests")
