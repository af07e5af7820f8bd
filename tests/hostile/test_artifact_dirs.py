"""Item 4: artifact directories that are hostile. Symlink cycles, FIFOs, sockets, devices and
broken links are refused with the path, in well under a second, never a hang or a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli.helpers import Live, Repo, model, version

from deployer.artifacts.digest import ArtifactError, HashCache, list_files, local_digest
from hostile.helpers import assert_one_line_error


def _fifo(d: Path) -> str:
    os.mkfifo(d / "variables" / "pipe")
    return "variables/pipe is a FIFO"


def _cycle(d: Path) -> str:
    (d / "variables" / "loop").symlink_to("..")
    return "symlink cycle at variables/loop"


def _self_link(d: Path) -> str:
    (d / "me").symlink_to("me")
    return "symlink me cannot be followed (symlink loop)"


def _broken(d: Path) -> str:
    (d / "gone").symlink_to("nowhere")
    return "symlink gone cannot be followed"


def _outside(d: Path) -> str:
    (d / "out").symlink_to("/etc")
    return "symlink out points outside"


def _socket(d: Path) -> str:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "s"))
    sock.close()
    return "s is a socket"


def _device(d: Path) -> str:
    (d / "null").symlink_to("/dev/null")  # outside too; a device inside needs root: link it
    return "symlink null points outside"


HOSTILE: dict[str, Callable[[Path], str]] = {
    "fifo": _fifo,
    "cycle": _cycle,
    "self_link": _self_link,
    "broken": _broken,
    "outside": _outside,
    "socket": _socket,
    "device": _device,
}


@pytest.fixture
def artifact(tmp_path: Path, pristine: dict[str, Path]) -> Path:
    target = tmp_path / "art"
    shutil.copytree(pristine["a"], target)
    (target / "variables").mkdir(exist_ok=True)
    return target


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_entries_are_refused_with_their_path(artifact: Path, case: str) -> None:
    needle = HOSTILE[case](artifact)
    with pytest.raises(ArtifactError) as caught:
        local_digest(artifact, HashCache(artifact.parent / "cache.json"))
    assert needle in str(caught.value) and str(artifact.resolve()) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_links_inside_the_artifact_are_still_followed(artifact: Path) -> None:
    before = dict(list_files(artifact))
    (artifact / "alias").symlink_to("variables")
    after = dict(list_files(artifact))
    assert set(before) < set(after)


def test_a_device_as_the_artifact_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="is not a directory"):
        local_digest(Path("/dev/null"))


@pytest.mark.parametrize("case", ["fifo", "cycle", "socket"])
def test_plan_and_apply_refuse_a_hostile_artifact_in_one_line(
    repo: Repo, live: Live, case: str
) -> None:
    repo.write([model("m", [version("v1", "h")], regions=["us-central1"])])
    needle = HOSTILE[case](repo.root / "export" / "h")
    for command in (("plan", "manifests"), ("apply", "manifests", "--auto-approve")):
        result = repo.run(*command, timeout=30)
        assert_one_line_error(result, "export/h", needle)
    assert live.snapshot() == {}


def test_an_artifact_path_that_is_a_symlink_loop_is_a_validation_error(repo: Repo) -> None:
    repo.write([model("m", [version("v1", "x")], regions=["us-central1"])])
    shutil.rmtree(repo.root / "export" / "x")
    (repo.root / "export" / "x").symlink_to("x")
    result = repo.run("validate", "manifests", timeout=30)
    assert result.returncode == 1 and "Traceback" not in result.stderr, str(result)
    assert "symlink that loops" in result.stderr, str(result)


def _deployer(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_GCE_CHECK": "true", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_a_saved_model_pb_over_2_gib_is_refused_unread(tmp_path: Path) -> None:
    """Issue 19 item 12: `inspect` read a 3 GB saved_model.pb whole into memory. No protobuf
    may reach 2 GiB, so the size alone refuses it (the file here is sparse: nothing to read)."""
    artifact = tmp_path / "huge"
    artifact.mkdir()
    with (artifact / "saved_model.pb").open("wb") as handle:
        handle.truncate(3 * 1024**3)
    result = _deployer(tmp_path, "inspect", str(artifact))
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "over the 2 GiB every protobuf must stay under" in lines[0], result
    assert "saved_model.pb is 3" in lines[0], result


def test_a_fifo_as_saved_model_pb_is_refused_not_read(tmp_path: Path) -> None:
    artifact = tmp_path / "fifo"
    artifact.mkdir()
    os.mkfifo(artifact / "saved_model.pb")
    result = _deployer(tmp_path, "inspect", str(artifact))
    assert result.returncode == 1 and "not a regular file" in result.stderr, result
