"""Reads the Vertex half of the twin straight from its API, for setup and checks in CLI tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REGIONS = ("us-central1", "europe-west4")


def _all(request_for: Callable[[str | None], Any], key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = request_for(token).execute(num_retries=5)
        items.extend(page.get(key, []))
        token = page.get("nextPageToken")
        if not token:
            return items


class VertexLive:
    def __init__(self, client: Any, project: str) -> None:
        self.client = client
        self.project = project
        self.loc = client.projects().locations()

    def parent(self, region: str) -> str:
        return f"projects/{self.project}/locations/{region}"

    def models(self, region: str) -> list[dict[str, Any]]:
        models = self.loc.models()
        return _all(lambda t: models.list(parent=self.parent(region), pageToken=t), "models")

    def versions(self, region: str, model: str) -> list[dict[str, Any]]:
        models = self.loc.models()
        name = f"{self.parent(region)}/models/{model}"
        return _all(lambda t: models.listVersions(name=name, pageToken=t), "models")

    def endpoints(self, region: str) -> list[dict[str, Any]]:
        eps = self.loc.endpoints()
        return _all(lambda t: eps.list(parent=self.parent(region), pageToken=t), "endpoints")

    def endpoint_of(self, region: str, model: str) -> dict[str, Any]:
        found = [
            e
            for e in self.endpoints(region)
            if (e.get("labels") or {}).get("deployer-model") == model
        ]
        assert len(found) == 1, found
        return found[0]

    def serving(self, region: str, model: str) -> dict[str, int]:
        """display name of each deployed model -> its traffic percent."""
        ep = self.endpoint_of(region, model)
        split = ep.get("trafficSplit") or {}
        return {d["displayName"]: int(split.get(d["id"], 0)) for d in ep.get("deployedModels", [])}

    def predict(self, region: str, model: str, instances: list[Any]) -> dict[str, Any]:
        ep = self.endpoint_of(region, model)
        body = {"instances": instances}
        return self.loc.endpoints().predict(endpoint=ep["name"], body=body).execute()

    def snapshot(self) -> dict[str, Any]:
        """Every model, version and endpoint in the project's test regions (no etags/times)."""
        out: dict[str, Any] = {}
        drop = ("etag", "updateTime", "versionUpdateTime")
        for region in REGIONS:
            for m in self.models(region):
                short = m["name"].rsplit("/", 1)[-1]
                for v in self.versions(region, short):
                    out[f"{region}/{short}@{v['versionId']}"] = {
                        k: x for k, x in v.items() if k not in drop
                    }
            for e in self.endpoints(region):
                out[e["name"]] = {k: x for k, x in e.items() if k not in drop}
        return out


@dataclass
class Prober:
    """Predicts every `interval` seconds in a thread; records errors and who answered."""

    call: Callable[[], dict[str, Any]]
    interval: float = 0.05
    answers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.call()
                self.answers.append(str(result.get("deployedModelId")))
            except Exception as exc:  # every failure is what the test looks for
                self.errors.append(str(exc).splitlines()[0])
            self._stop.wait(self.interval)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
