"""State survives stopping, restarting and SIGKILL; the command shuts down cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery

SK = {"runtimeVersion": "2.11", "pythonVersion": "3.7", "framework": "SCIKIT_LEARN"}
STARTUP_TIMEOUT = 60.0


def client(url: str, region: str = "global") -> Any:
    endpoint = f"{url}/" if region == "global" else f"{url}/{region}/"
    return discovery.build(
        "ml",
        "v1",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


@pytest.fixture
def sk_artifact(bucket: Any) -> str:
    """A scikit-learn artifact: validated by file name only, so no TensorFlow is loaded."""
    bucket.blob("sk/model.joblib").upload_from_string(b"joblib")
    return f"gs://{bucket.name}/sk"


def _seed_state(ml: Any, parent: str, uri: str) -> dict[str, Any]:
    ml.projects().models().create(parent=parent, body={"name": "m", "labels": {"a": "b"}}).execute()
    regional = ml.projects().models()
    body = {"name": "v1", "deploymentUri": uri, **SK}
    return dict(regional.versions().create(parent=f"{parent}/models/m", body=body).execute())


def test_stop_and_restart_keeps_everything(
    tmp_path: Path, twin: Any, project: str, sk_artifact: str, wait_operation: Any
) -> None:
    from deployer.emulator import Knobs, start

    parent = f"projects/{project}"
    knobs = Knobs(op_seconds=0.2)
    with start(tmp_path, gcs_port=None, storage_url=twin.gcs_url, knobs=knobs) as first:
        ml = client(first.url)
        op = _seed_state(ml, parent, sk_artifact)
        wait_operation(ml, op)
        west = client(first.url, "europe-west4")
        west.projects().models().create(parent=parent, body={"name": "w"}).execute()
        # an operation still in flight at shutdown
        first.knobs.update({"op_seconds": 1.0})
        body = {"name": "v2", "deploymentUri": sk_artifact, **SK}
        pending = (
            ml.projects().models().versions().create(parent=f"{parent}/models/m", body=body)
        ).execute()
        before = {
            "model": ml.projects().models().get(name=f"{parent}/models/m").execute(),
            "ops": ml.projects().operations().list(name=parent).execute(),
        }
    with start(tmp_path, gcs_port=None, storage_url=twin.gcs_url, knobs=knobs) as second:
        ml = client(second.url)
        assert ml.projects().models().get(name=f"{parent}/models/m").execute() == before["model"]
        assert (
            ml.projects().operations().list(name=parent).execute()["operations"][0]
            == (before["ops"]["operations"][0])
        )
        west = client(second.url, "europe-west4")
        assert west.projects().models().get(name=f"{parent}/models/w").execute()
        done = wait_operation(ml, pending)
        assert "error" not in done
        version = ml.projects().models().versions().get(name=f"{parent}/models/m/versions/v2")
        assert version.execute()["state"] == "READY"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Command:
    """`deployer emulator` as a subprocess, its output in a file."""

    def __init__(self, data_dir: Path, log: Path, *args: str, env: dict[str, str]) -> None:
        self.log = log
        self.log_file = open(log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deployer", "emulator", "--data-dir", str(data_dir), *args],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        self.url = self._wait_for("AIPLATFORM_EMULATOR_HOST")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_for(self, variable: str) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(rf"^export {variable}=(\S+)$", self.output(), re.M)
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                raise AssertionError(f"emulator exited: {self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"emulator did not start: {self.output()}")

    def finish(self, sig: int) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.log_file.close()


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for command in started:
        if command.proc.poll() is None:
            command.finish(signal.SIGKILL)


def test_sigkill_mid_operation_loses_nothing(
    tmp_path: Path,
    twin: Any,
    project: str,
    sk_artifact: str,
    wait_operation: Any,
    commands: list[Command],
) -> None:
    data = tmp_path / "data"
    env = {"STORAGE_EMULATOR_HOST": twin.gcs_url}
    args = ("--port", "0", "--no-gcs", "--op-seconds", "2")
    first = Command(data, tmp_path / "first.log", *args, env=env)
    commands.append(first)
    parent = f"projects/{project}"
    ml = client(first.url)
    op = _seed_state(ml, parent, sk_artifact)
    name = f"{parent}/models/m/versions/v1"
    assert ml.projects().models().versions().get(name=name).execute()["state"] == "CREATING"
    assert first.finish(signal.SIGKILL) == -signal.SIGKILL

    second = Command(data, tmp_path / "second.log", *args, env=env)
    commands.append(second)
    ml = client(second.url)
    model = ml.projects().models().get(name=f"{parent}/models/m").execute()
    assert model["labels"] == {"a": "b"}
    assert "defaultVersion" not in model  # the first version to become READY is the default
    done = wait_operation(ml, op["name"])
    assert "error" not in done and done["response"]["state"] == "READY"
    assert ml.projects().models().versions().get(name=name).execute()["state"] == "READY"
    model = ml.projects().models().get(name=f"{parent}/models/m").execute()
    assert model["defaultVersion"]["name"] == name
    assert second.finish(signal.SIGTERM) == 0
    assert "stopped" in second.output()


def test_command_starts_gcs_and_stops_both_on_sigterm(
    tmp_path: Path, commands: list[Command], project: str
) -> None:
    gcs_port = _free_port()
    command = Command(
        tmp_path / "data",
        tmp_path / "out.log",
        "--port", "0", "--gcs-port", str(gcs_port), "--op-seconds", "0.1",
        env={},
    )  # fmt: skip
    commands.append(command)
    assert f"export STORAGE_EMULATOR_HOST=http://127.0.0.1:{gcs_port}" in command.output()
    assert command.url.startswith("http://127.0.0.1:")
    ml = client(command.url)
    assert ml.projects().models().list(parent=f"projects/{project}").execute() == {}
    assert command.finish(signal.SIGTERM) == 0
    with socket.socket() as sock:  # the GCS emulator is gone: nothing listens on its port
        assert sock.connect_ex(("127.0.0.1", gcs_port)) != 0
    assert (tmp_path / "data" / "state.sqlite3").exists()


def test_command_refuses_bad_knobs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deployer", "emulator", "--data-dir", str(tmp_path),
         "--fault-rate", "2", "--no-gcs"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "fault_rate must be between 0 and 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigkill_takes_the_gcs_emulator_down_too(tmp_path: Path, commands: list[Command]) -> None:
    gcs_port = _free_port()
    args = ("--port", "0", "--gcs-port", str(gcs_port))
    command = Command(tmp_path / "data", tmp_path / "out.log", *args, env={})
    commands.append(command)
    assert command.finish(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", gcs_port)) != 0:
                break
        assert time.monotonic() < deadline, "fake-gcs-server outlived the killed twin"
        time.sleep(0.05)
    # and the same ports can be used again at once
    again = Command(tmp_path / "data", tmp_path / "again.log", *args, env={})
    commands.append(again)
    assert again.finish(signal.SIGTERM) == 0


def test_reset_route_forgets_everything(tmp_path: Path, project: str) -> None:
    from deployer.emulator import start

    with start(tmp_path, gcs_port=None) as twin:
        ml = client(twin.url)
        ml.projects().models().create(parent=f"projects/{project}", body={"name": "m"}).execute()
        request = urllib.request.Request(f"{twin.url}/_emulator/reset", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert ml.projects().models().list(parent=f"projects/{project}").execute() == {}
