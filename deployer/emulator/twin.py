"""Starting and stopping the whole twin: store, operation worker, HTTP server and GCS emulator."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from deployer.core.errors import DeployerError
from deployer.emulator.gcs import GcsReader, GcsServer
from deployer.emulator.knobs import KnobBox, Knobs
from deployer.emulator.operations import OperationWorker
from deployer.emulator.project.service import ProjectService
from deployer.emulator.server import TwinHTTPServer
from deployer.emulator.service import Service
from deployer.emulator.store import Store
from deployer.emulator.vertex.service import VertexService
from deployer.providers.mlengine import catalog

DB_NAME = "state.sqlite3"


@dataclass
class EmulatorHandle:
    """A running twin. `url` is `http://host:port`; `gcs_url` is None without a GCS emulator."""

    url: str
    gcs_url: str | None
    data_dir: Path
    knobs: KnobBox
    _server: TwinHTTPServer
    _thread: threading.Thread
    _worker: OperationWorker
    _store: Store
    _gcs: GcsServer | None
    _stopped: bool = field(default=False)

    def api_endpoint(self, region: str = catalog.GLOBAL) -> str:
        """The `client_options.api_endpoint` for an endpoint (note the trailing slash)."""
        if region == catalog.GLOBAL:
            return f"{self.url}/"
        return f"{self.url}/{region}/"

    @property
    def env(self) -> dict[str, str]:
        env = {"AIPLATFORM_EMULATOR_HOST": self.url}
        if self.gcs_url:
            env["STORAGE_EMULATOR_HOST"] = self.gcs_url
        return env

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._worker.stop()
        self._store.close()
        if self._gcs is not None:
            self._gcs.stop()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    gcs_port: int | None = 0,
    knobs: Knobs | None = None,
    storage_url: str | None = None,
) -> EmulatorHandle:
    """Start the twin. `port=0` / `gcs_port=0` pick free ports; `gcs_port=None` starts no GCS
    emulator, and artifacts are then read from `storage_url` (another GCS emulator), if given."""
    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    gcs: GcsServer | None = None
    if gcs_port is not None:
        gcs = GcsServer(data / "gcs", host, gcs_port, data / "fake-gcs-server.log")
        gcs.start()
        storage_url = gcs.url
    box = KnobBox(knobs or Knobs())
    store = Store(data / DB_NAME)
    reader = GcsReader(storage_url)
    service = Service(store, box, data, reader)
    vertex = VertexService(store, box, data, reader)
    worker = OperationWorker([service, vertex])
    service.wake = vertex.wake = worker.wake
    try:
        server = TwinHTTPServer(
            (host, port), service, box, vertex, ProjectService(box, storage_url)
        )
    except OSError as exc:
        store.close()
        if gcs is not None:
            gcs.stop()
        raise DeployerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    worker.start()
    thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
    shown = f"[{host_text}]" if ":" in host_text else host_text
    return EmulatorHandle(
        url=f"http://{shown}:{bound_port}",
        gcs_url=storage_url,
        data_dir=data,
        knobs=box,
        _server=server,
        _thread=thread,
        _worker=worker,
        _store=store,
        _gcs=gcs,
    )
