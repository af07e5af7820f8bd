"""The HTTP front: a threading HTTP server answering JSON, with the knobs' latency and faults,
and the `/_emulator/...` control routes."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deployer.emulator.apierrors import ApiError, PredictError, invalid
from deployer.emulator.knobs import KnobBox
from deployer.emulator.predict import MAX_PAYLOAD_BYTES
from deployer.emulator.project.routes import ProjectRouter, is_project_path
from deployer.emulator.project.service import ProjectService, disabled_error
from deployer.emulator.routes import Call, Router, split_endpoint
from deployer.emulator.service import Service
from deployer.emulator.vertex.routes import VertexRouter, is_vertex, ui_operation_path
from deployer.emulator.vertex.service import VertexService
from deployer.providers.mlengine import catalog

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024
CONTROL_PREFIX = "/_emulator/"


class TwinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    """socketserver's default backlog of 5 drops the SYNs of a wide client's burst, which then
    retransmit after a second: a delay the real service never adds."""

    def __init__(
        self,
        address: tuple[str, int],
        service: Service,
        knobs: KnobBox,
        vertex: VertexService | None = None,
        project: ProjectService | None = None,
    ) -> None:
        super().__init__(address, Handler)
        self.service = service
        self.knobs = knobs
        self.router = Router(service)
        self.vertex = VertexRouter(vertex) if vertex is not None else None
        self.project = ProjectRouter(project) if project is not None else None


def _project_of(rest: str) -> str:
    """`P` of `v1/projects/P/...` ("" when the path names none)."""
    parts = rest.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "projects" else ""


class Handler(BaseHTTPRequestHandler):
    server: TwinHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "deployer-emulator"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, indent=2).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    raw_length = 0

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise invalid("Request payload too large.")
        raw = self.rfile.read(length) if length else b""
        self.raw_length = len(raw)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"Invalid JSON payload received. {exc}") from None

    def _handle(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        try:
            body = self._read_body()
            if path.startswith(CONTROL_PREFIX):
                self._control(method, path[len(CONTROL_PREFIX) :], body)
                return
            ui = ui_operation_path(path) if self.server.vertex is not None else None
            project_call = self.server.project is not None and is_project_path(path)
            if project_call:
                endpoint, rest = catalog.GLOBAL, path
            elif self.server.vertex is not None and path.startswith("/v1beta1/"):
                endpoint, rest = catalog.GLOBAL, path.lstrip("/")  # Vertex preview surface
            else:
                endpoint, rest = (catalog.GLOBAL, ui) if ui else split_endpoint(path)
            knobs = self.server.knobs.get()
            if knobs.latency_ms:
                time.sleep(knobs.latency_ms / 1000.0)
            if self.server.knobs.chance(knobs.fault_rate):
                raise self._fault()
            if self.server.project is not None and project_call:
                self._send(200, self.server.project.dispatch(method, path, parsed.query, body))
                return
            vertex_call = self.server.vertex is not None and is_vertex(rest)
            api = "aiplatform.googleapis.com" if vertex_call else "ml.googleapis.com"
            disabled = disabled_error(knobs, api, _project_of(rest))
            if disabled is not None:
                raise disabled
            # The service counts the request's bytes as sent (1.5 MiB), not a re-encoding.
            too_big = rest.endswith(":predict") and self.raw_length > MAX_PAYLOAD_BYTES
            if self.server.vertex is not None and endpoint == catalog.GLOBAL and vertex_call:
                if too_big:
                    raise invalid("Request payload size exceeds the limit: 1572864 bytes.")
                result = self.server.vertex.dispatch(method, rest, query, body)
                self._send(200, result)
                return
            if too_big:
                raise PredictError("Request payload size exceeds the limit: 1572864 bytes.")
            result = self.server.router.dispatch(Call(endpoint, method, rest, query, body))
            self._send(200, result)
        except ApiError as exc:
            self._send(exc.code, exc.body(), exc.headers)
        except PredictError as exc:
            self._send(400, {"error": str(exc)})
        except Exception as exc:  # a bug in the twin: answer like the service would
            log.exception("internal error on %s %s", method, self.path)
            self._send(500, ApiError(500, f"Internal error: {exc}", "INTERNAL").body())

    def _fault(self) -> ApiError:
        code = self.server.knobs.pick((429, 503))
        if code == 429:
            return ApiError(
                429,
                "Quota exceeded (injected by the emulator's fault_rate). Retry later.",
                "RESOURCE_EXHAUSTED",
                {"Retry-After": "1"},
            )
        return ApiError(
            503, "The service is currently unavailable (injected by the emulator).", "UNAVAILABLE"
        )

    def _control(self, method: str, route: str, body: Any) -> None:
        if route == "config" and method == "GET":
            self._send(200, self.server.knobs.as_dict())
        elif route == "config" and method in ("POST", "PATCH"):
            if not isinstance(body, dict):
                raise invalid("POST /_emulator/config takes a JSON object of knobs.")
            try:
                self.server.knobs.update(body)
            except ValueError as exc:
                raise invalid(str(exc)) from None
            self._send(200, self.server.knobs.as_dict())
        elif route == "reset" and method == "POST":
            self.server.service.reset()
            self._send(200, {})
        elif route == "health" and method == "GET":
            self._send(
                200,
                {
                    "status": "ok",
                    "endpoints": list(catalog.ENDPOINTS),
                    "apis": [
                        "ml",
                        "aiplatform",
                        "serviceusage",
                        "cloudresourcemanager",
                        "cloudbilling",
                        "storage (bucket metadata and IAM)",
                    ],
                },
            )
        else:
            raise ApiError(404, f"Unknown control route {method} /_emulator/{route}.")
