"""Item 3 (and the manifests-directory part of item 5): YAML that is hostile by shape or by
file type. Each case ends in one positioned diagnostic, exit 1, in well under the timeout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.config.yamlsource import MAX_BYTES, MAX_DEPTH, load_yaml
from deployer.core.diagnostics import Diagnostics

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "project: demo-project\nartifacts: gs://demo-bucket/deployer\n"


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nmodels: *a{levels}\n"


def _deep_block(levels: int) -> str:
    return "models:\n" + "".join("  " * (i + 1) + "- k:\n" for i in range(levels)) + "\n"


HOSTILE = {
    "alias_bomb.yaml": (_bomb(), "1:", "expands to more than"),
    "deep_flow.yaml": ("models: " + "[" * 500 + "]" * 500 + "\n", "1:", "nesting deeper"),
    "deep_flow_map.yaml": ("models: " + "{a: " * 400 + "1" + "}" * 400 + "\n", "1:", "nesting"),
    "deep_block.yaml": (_deep_block(300), "17:", "nesting deeper"),
    "recursive_anchor.yaml": ("models: &x [*x]\n", "1:", "nesting deeper"),
    "huge.yaml": ("models: []\n" + "#" * (MAX_BYTES + 10) + "\n", "1:1", "byte limit"),
    "latin1.yaml": ("models: [caf\xe9]\n", "1:1", "not UTF-8"),
}


def _validate(manifests: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_GCE_CHECK": "true", "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "deployer", "validate", str(manifests), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=manifests.parent,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "deployer.yaml").write_text(SETTINGS)
    return root


def _one_diagnostic(result: subprocess.CompletedProcess[str], where: str, *needles: str) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1] == "1 error in manifests", result.stderr
    assert len(lines) == 2, result.stderr
    assert where.removeprefix("manifests/") in lines[0], result.stderr
    for needle in needles:
        assert needle in lines[0], result.stderr
    return lines[0]


def test_a_plain_settings_file_is_valid(manifests: Path) -> None:
    assert _validate(manifests).returncode == 0


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_yaml_is_one_positioned_error(manifests: Path, name: str) -> None:
    text, position, needle = HOSTILE[name]
    path = manifests / name
    path.write_bytes(text.encode("latin-1") if name == "latin1.yaml" else text.encode())
    _one_diagnostic(_validate(manifests), f"manifests/{name}:{position}", needle)
    # The same file given alone as PATH.
    _one_diagnostic(_validate(path), f"manifests/{name}:{position}", needle)


def test_a_fifo_is_reported_not_read(manifests: Path) -> None:
    os.mkfifo(manifests / "pipe.yaml")
    _one_diagnostic(_validate(manifests), "manifests/pipe.yaml:1:1", "not a regular file")
    _one_diagnostic(_validate(manifests / "pipe.yaml"), "manifests/pipe.yaml", "regular file")


def test_a_socket_is_reported(manifests: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(manifests / "s.yaml"))
        _one_diagnostic(_validate(manifests), "manifests/s.yaml", "not a regular file")


def test_a_broken_link_is_reported_not_skipped(manifests: Path) -> None:
    (manifests / "gone.yaml").symlink_to(manifests / "nowhere.yaml")
    _one_diagnostic(_validate(manifests), "manifests/gone.yaml", "broken symbolic link")


def test_a_device_as_path_is_refused(tmp_path: Path, manifests: Path) -> None:
    result = _validate(Path("/dev/zero"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result
    assert "zero:1:1: not a regular file" in result.stderr  # (shown relative to the cwd, /dev)


# ---- the loader never raises, whatever the text ----------------------------------------------

yaml_ish = st.lists(
    st.sampled_from([*list("[]{}:,-&*!|>'\"#\n ab1"), "&a ", "*a", "\n  ", "- "]),
    max_size=120,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=yaml_ish, depth=st.integers(0, 200))
def test_the_loader_never_raises(tmp_path_factory: pytest.TempPathFactory, text: str, depth: int):
    path = tmp_path_factory.mktemp("y") / "m.yaml"
    path.write_text("[" * depth + text + "]" * depth)
    diags = Diagnostics()
    doc = load_yaml(path, "m.yaml", diags)
    assert doc is not None or diags
    if depth > MAX_DEPTH + 1:
        assert diags


def test_nesting_at_the_limit_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    diags = Diagnostics()
    assert load_yaml(path, "m.yaml", diags) is not None and not diags
