"""Helpers for the end-to-end CLI tests: a manifests repository in a temporary directory, the
`deployer` command run as a user runs it (a subprocess), and snapshots of the live state read
straight from the twin's API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENDPOINTS = ("global", "us-central1", "europe-west4")
"""The endpoints these tests deploy to (state snapshots read all of them)."""
RUN_TIMEOUT = 120.0


def poll(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Call `check` until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def version(name: str, artifact: str = "a", **fields: Any) -> dict[str, Any]:
    """A version entry; `artifact` names a directory under the repo's `export/`."""
    return {
        "name": name,
        "artifact": f"../../export/{artifact}",
        "runtime_version": "2.11",
        **fields,
    }


def model(name: str, versions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields, "versions": versions}


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"deployer {' '.join(self.args)} -> {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


@dataclass
class Repo:
    """A manifests repository: `<root>/manifests/deployer.yaml`, one file per model under
    `manifests/models/`, artifacts under `<root>/export/<name>`."""

    root: Path
    stack: str
    project: str
    bucket: str
    env: dict[str, str]
    artifacts: Mapping[str, Path]
    """Named pristine SavedModels that `put_artifact` copies into `export/`."""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def artifacts_uri(self) -> str:
        return f"gs://{self.bucket}/deployer"

    def put_artifact(self, name: str, source: str) -> Path:
        """(Re)place `export/<name>` with a fresh copy of the pristine SavedModel `source`."""
        target = self.root / "export" / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.artifacts[source], target, copy_function=shutil.copyfile)
        return target

    def write(self, models: Iterable[Mapping[str, Any]], **settings: Any) -> None:
        """Write deployer.yaml and one file per model (replacing any previous model files)."""
        doc = {
            "stack": self.stack,
            "project": self.project,
            "artifacts": self.artifacts_uri,
            "region": "us-central1",
            **self.settings,
            **settings,
        }
        self.manifests.mkdir(parents=True, exist_ok=True)
        (self.manifests / "deployer.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        models_dir = self.manifests / "models"
        if models_dir.exists():
            shutil.rmtree(models_dir)
        models_dir.mkdir()
        for entry in models:
            text = yaml.safe_dump({"models": [dict(entry)]}, sort_keys=False)
            (models_dir / f"{entry['name']}.yaml").write_text(text)
        for entry in models:
            for v in entry.get("versions", []):
                art = str(v["artifact"])
                if art.startswith("../../export/"):
                    name = art.removeprefix("../../export/")
                    if not (self.root / "export" / name).exists():
                        self.put_artifact(name, name if name in self.artifacts else "a")

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "deployer", *args]

    def run(self, *args: str, timeout: float = RUN_TIMEOUT, stdin: Any = None) -> Result:
        proc = subprocess.run(
            self.command(*args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def apply(self, *extra: str) -> Result:
        return self.run("apply", "manifests", "--auto-approve", *extra)

    def plan_json(self, *extra: str) -> tuple[Result, dict[str, Any]]:
        result = self.run("plan", "manifests", "--format", "json", *extra)
        assert result.returncode in (0, 2) or result.stdout.startswith("{"), str(result)
        return result, json.loads(result.stdout)

    def assert_no_changes(self) -> None:
        result = self.run("plan", "manifests", "--detailed-exitcode")
        assert result.returncode == 0, str(result)
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        assert lines[0].startswith(f'Stack "{self.stack}"'), str(result)
        assert f'in project "{self.project}", backend ' in lines[0], str(result)
        assert [line for line in lines if "No changes" in line] == [lines[-1]], str(result)
        assert lines[-1].startswith("No changes"), str(result)
        assert not any(line.startswith(("+", "-/+", "~", "»", "Plan:")) for line in lines)


def cli_env(twin_env: Mapping[str, str], cache: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_")) and key not in ("NO_COLOR", "FORCE_COLOR")
    }
    env.update(twin_env)
    env["NO_GCE_CHECK"] = "true"
    env["XDG_CACHE_HOME"] = str(cache)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ---- the live state, straight from the API ---------------------------------------------------


def _execute(request: Any) -> Any:
    return request.execute(num_retries=10)


class Live:
    """Reads and writes the twin directly (not through deployer), for setup and checks."""

    def __init__(self, ml_client: Callable[..., Any], project: str) -> None:
        self.project = project
        self.clients = {ep: ml_client(ep, validate=False) for ep in ENDPOINTS}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """address -> API body (without etag) of every model and version in the project."""
        found: dict[str, dict[str, Any]] = {}
        for ep, client in self.clients.items():
            models = _list(client.projects().models(), parent=f"projects/{self.project}")
            for body in models.get("models", []):
                short = body["name"].rsplit("/", 1)[-1]
                found[f"{ep}/{short}"] = _stable(body)
                versions = _list(client.projects().models().versions(), parent=body["name"])
                for vbody in versions.get("versions", []):
                    found[f"{ep}/{short}/{vbody['name'].rsplit('/', 1)[-1]}"] = _stable(vbody)
        return found

    def wait(self, ep: str, op: Mapping[str, Any], timeout: float = 60) -> dict[str, Any]:
        ops = self.clients[ep].projects().operations()
        return poll(
            lambda: (current := _execute(ops.get(name=op["name"]))).get("done") and current,
            timeout,
            f"operation {op['name']}",
        )

    def create_model(self, ep: str, name: str, labels: Mapping[str, str] | None = None) -> None:
        body: dict[str, Any] = {
            "name": name,
            "regions": ["us-central1" if ep == "global" else ep],
            "labels": dict(labels or {}),
        }
        _execute(
            self.clients[ep]
            .projects()
            .models()
            .create(parent=f"projects/{self.project}", body=body)
        )

    def create_version(
        self,
        ep: str,
        model: str,
        name: str,
        uri: str,
        labels: Mapping[str, str] | None = None,
        wait: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "deploymentUri": uri,
            "runtimeVersion": "2.11",
            "pythonVersion": "3.7",
            "framework": "TENSORFLOW",
            "machineType": "mls1-c1-m2" if ep == "global" else "n1-standard-2",
            "labels": dict(labels or {}),
            **fields,
        }
        parent = f"projects/{self.project}/models/{model}"
        op = _execute(
            self.clients[ep].projects().models().versions().create(parent=parent, body=body)
        )
        return self.wait(ep, op) if wait else op

    def patch_version(self, ep: str, model: str, name: str, mask: str, body: Any) -> None:
        full = f"projects/{self.project}/models/{model}/versions/{name}"
        op = _execute(
            self.clients[ep]
            .projects()
            .models()
            .versions()
            .patch(name=full, updateMask=mask, body=body)
        )
        self.wait(ep, op)


def _list(resource: Any, parent: str) -> dict[str, Any]:
    items: dict[str, list[Any]] = {}
    token = None
    while True:
        page = _execute(resource.list(parent=parent, pageToken=token))
        for key, value in page.items():
            if isinstance(value, list):
                items.setdefault(key, []).extend(value)
        token = page.get("nextPageToken")
        if not token:
            return items


def _stable(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("etag",)}


def labels_of(body: Mapping[str, Any]) -> dict[str, str]:
    return dict(body.get("labels") or {})


def managed(snapshot: Mapping[str, Mapping[str, Any]], stack: str) -> dict[str, Any]:
    """The part of a snapshot that carries `stack`'s labels."""
    return {
        address: body
        for address, body in snapshot.items()
        if labels_of(body).get("deployer-stack") == stack
        and labels_of(body).get("managed-by") == "deployer"
    }


def unmanaged(snapshot: Mapping[str, Mapping[str, Any]], stack: str) -> dict[str, Any]:
    keep = managed(snapshot, stack)
    return {a: b for a, b in snapshot.items() if a not in keep}


LOCK_ID = re.compile(r"deployer force-unlock (\w+)")
