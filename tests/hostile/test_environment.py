"""Item 7: broken environments answer in seconds with one line: Cloud Storage or AI Platform
unreachable (refused or silent), GOOGLE_APPLICATION_CREDENTIALS naming a missing or invalid
file, credentials that cannot be refreshed, and a note when one emulator variable is missing."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli.helpers import Repo, model, version

from hostile.helpers import assert_one_line_error

FAST = 15.0
"""Every case answers well within this (the silent-server probe takes 5 s)."""


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def _timed(repo: Repo, *args: str) -> tuple[object, float]:
    started = time.monotonic()
    result = repo.run(*args, timeout=60)
    return result, time.monotonic() - started


def _write(repo: Repo) -> None:
    repo.write([model("m", [version("v1")], regions=["us-central1"])])


@pytest.mark.parametrize("which", ["closed", "silent"])
def test_cloud_storage_unreachable_is_one_line_in_seconds(
    repo: Repo, which: str, closed_port: int, silent_port: int
) -> None:
    _write(repo)
    port = closed_port if which == "closed" else silent_port
    repo.env = {**repo.env, "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}"}
    for args in (("apply", "manifests", "--auto-approve"), ("force-unlock", "abc", "manifests")):
        result, seconds = _timed(repo, *args)
        assert_one_line_error(result, "cannot reach the Cloud Storage emulator", str(port))
        assert seconds < FAST, (args, seconds)


def test_ai_platform_silent_is_one_line_in_seconds(repo: Repo, silent_port: int) -> None:
    _write(repo)
    repo.env = {**repo.env, "AIPLATFORM_EMULATOR_HOST": f"http://127.0.0.1:{silent_port}"}
    result, seconds = _timed(repo, "plan", "manifests")
    assert_one_line_error(result, "cannot reach the AI Platform twin", str(silent_port))
    assert seconds < FAST, seconds


def _real_cloud(repo: Repo, credentials: Path | str) -> None:
    env = {k: v for k, v in repo.env.items() if not k.endswith("_EMULATOR_HOST")}
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(credentials)
    env["CLOUDSDK_CONFIG"] = str(repo.root / "gcloud")
    repo.env = env


BAD_FILES = {
    "missing": (None, "the file does not exist"),
    "empty": (b"", "not a JSON credentials file"),
    "garbage": (b"\x00\xffnot json", "not a JSON credentials file"),
    "object": (b"{}", "not a Google credentials file (no 'type'"),
    "list": (b"[]", "not a Google credentials file"),
    "unknown_type": (json.dumps({"type": "magic"}).encode(), "type 'magic'"),
    "truncated": (b'{"type": "service_account", "private_key": "-----BEGIN', "not a JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["plan", "predict"])
def test_credentials_file_problems_name_the_file(repo: Repo, case: str, command: str) -> None:
    _write(repo)
    content, needle = BAD_FILES[case]
    path = repo.root / f"{case}.json"
    if content is not None:
        path.write_bytes(content)
    _real_cloud(repo, path)
    args = ("plan", "manifests") if command == "plan" else ("predict", "m", "--instances", "[]")
    result, seconds = _timed(repo, *args)
    assert_one_line_error(result, f"GOOGLE_APPLICATION_CREDENTIALS={path}", needle)
    assert seconds < FAST


def test_a_directory_as_credentials_file(repo: Repo) -> None:
    _write(repo)
    _real_cloud(repo, repo.root)
    assert_one_line_error(repo.run("plan", "manifests"), "not a regular file")


@pytest.mark.parametrize("command", ["plan", "predict"])
def test_credentials_that_cannot_be_refreshed_are_one_line(
    repo: Repo, closed_port: int, command: str
) -> None:
    _write(repo)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = repo.root / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": repo.project,
                "private_key_id": "k",
                "private_key": pem,
                "client_email": f"sa@{repo.project}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"http://127.0.0.1:{closed_port}/token",  # the network is down
            }
        )
    )
    _real_cloud(repo, path)
    args = ("plan", "manifests") if command == "plan" else ("predict", "m", "--instances", "[]")
    result, seconds = _timed(repo, *args)
    assert_one_line_error(result, "cannot refresh Google Cloud credentials", str(path))
    assert seconds < FAST, seconds


def test_a_missing_emulator_variable_is_said(repo: Repo) -> None:
    _write(repo)
    repo.env = {k: v for k, v in repo.env.items() if k != "STORAGE_EMULATOR_HOST"}
    repo.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(repo.root / "none.json")
    result = repo.run("apply", "manifests", "--auto-approve", timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, str(result)
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("note: STORAGE_EMULATOR_HOST is not set"), str(result)
    assert "real Google Cloud" in lines[0] and len(lines) == 2, str(result)
