"""Item 5, the smaller ones: predict never prints invalid JSON, `plan --out` of a plan with
errors does not invite applying it, `deployer emulator` start-up errors are one line."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli.helpers import Live, Repo, model, version
from hypothesis import given
from hypothesis import strategies as st

from deployer.cli.predict_cmd import finite
from hostile.helpers import assert_one_line_error

REPO = Path(__file__).resolve().parents[2]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_finite_output_is_always_valid_json(value: object) -> None:
    cleaned, count = finite(value)
    text = json.dumps(cleaned, allow_nan=False)
    assert json.loads(text) is not None or cleaned is None
    assert count == _nonfinite(value)


def _nonfinite(value: object) -> int:
    if isinstance(value, float):
        return 0 if math.isfinite(value) else 1
    if isinstance(value, dict):
        return sum(_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return sum(_nonfinite(v) for v in value)
    return 0


def test_predict_with_nan_results_prints_valid_json(repo: Repo) -> None:
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    assert repo.apply().returncode == 0
    huge = json.dumps([[1e308, -1e308, 1e308, -1e308], [1.0, 2.0, 3.0, 4.0]])
    result = repo.run("predict", "m", "--instances", huge)
    assert result.returncode == 0 and "Traceback" not in result.stderr, str(result)
    doc = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} printed"))
    flat = json.dumps(doc["predictions"][0])
    assert "NaN" in flat, str(result)  # softmax of +-1e308: the model answers NaN
    assert "NaN or infinite" in result.stderr, str(result)
    assert all(math.isfinite(x) for x in doc["predictions"][1])


@pytest.mark.parametrize("bad", ["[NaN]", "[[Infinity]]", "[-Infinity]"])
def test_predict_refuses_nan_in_instances(repo: Repo, bad: str) -> None:
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    assert_one_line_error(repo.run("predict", "m", "--instances", bad), "--instances", "JSON")


def test_plan_out_with_errors_does_not_invite_applying(repo: Repo, live: Live) -> None:
    live.create_model("us-central1", "m")  # unmanaged, with a declared name: a plan error
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    out = repo.root / "plan.json"
    result = repo.run("plan", "manifests", "--out", str(out))
    assert result.returncode == 1, str(result)
    assert "deployer apply" not in result.stderr and "cannot be applied" in result.stderr
    before = live.snapshot()
    applied = repo.run("apply", str(out), "--auto-approve")
    assert applied.returncode == 1 and "Traceback" not in applied.stderr, str(applied)
    assert live.snapshot() == before


def _emulator(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_GCE_CHECK": "true", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "deployer", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "needle", "code"),
    [
        (("--port", "70000"), "--port", 2),
        (("--port", "-1"), "--port", 2),
        (("--gcs-port", "99999"), "--gcs-port", 2),
        (("--data-dir", "afile"), "--data-dir afile: exists and is not a directory", 2),
        (("--data-dir", "afile/sub"), "--data-dir afile/sub: cannot create it", 2),
    ],
)
def test_emulator_start_up_errors_are_one_line(
    tmp_path: Path, args: tuple[str, ...], needle: str, code: int
) -> None:
    (tmp_path / "afile").write_text("x")
    result = _emulator(tmp_path, *args)
    assert result.returncode == code and "Traceback" not in result.stderr, result
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and needle in errors[0], result.stderr


def test_emulator_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for args in (("--port", port, "--no-gcs"), ("--port", "0", "--gcs-port", port)):
            result = _emulator(tmp_path, "--data-dir", "d", *args)
            assert_one_line_error(result, port, code=1)
