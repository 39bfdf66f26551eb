"""The HTTP gateway: API routes as API Gateway would serve them, plus the `/_local` endpoints."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from infra import wiring
from infra.local import apigw, names
from infra.local.events import BadEvent
from infra.local.invoker import HandlerError

log = logging.getLogger("omp.local")

_DRAIN_LIMIT = 64 * 1024 * 1024  # larger bodies are refused without reading them
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
_LOCAL = re.compile(r"^/_local/(invoke|tick)/([A-Za-z0-9_.-]+)$")

SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>om-platform API (local)</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/v1/openapi.json", dom_id: "#swagger-ui",
persistAuthorization: true});</script></body></html>
"""


class Backend(Protocol):
    """What the gateway needs from the platform."""

    catalog: wiring.Catalog

    def invoke(self, name: str, event: Any, source: str = "invoke") -> Any: ...

    def put_event(self, event: dict[str, Any]) -> dict[str, Any]: ...

    def tick(self, name: str) -> Any: ...


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, payload: Any, request_id: str = "") -> Response:
    headers = [("Content-Type", "application/json")]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    return Response(status, json.dumps(payload).encode(), headers)


def error(status: int, code: str, message: str, request_id: str) -> Response:
    return json_response(
        status, {"error": {"code": code, "message": message, "request_id": request_id}}, request_id
    )


class Gateway:
    """Turns one HTTP request into a Response (no sockets here, so it is easy to test)."""

    def __init__(self, backend: Backend, require_token_for_local: str | None = None) -> None:
        self.backend = backend
        self.router = apigw.Router(backend.catalog.functions)
        self.authorizer = backend.catalog.authorizer()
        self.local_token = require_token_for_local

    def handle(self, req: apigw.Request) -> Response:
        if req.path.startswith("/_local/") or req.path in ("/docs", "/"):
            return self._local(req)
        if len(req.body) > apigw.MAX_PAYLOAD_BYTES:
            return error(413, "PAYLOAD_TOO_LARGE", "Request Too Long", req.request_id)
        route, params, path_known = self.router.match(req.method, req.path)
        if route is None:
            if path_known:
                return error(
                    405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed here", req.request_id
                )
            return error(404, "ROUTE_NOT_FOUND", f"no route for {req.path}", req.request_id)
        authorizer: dict[str, Any] | None = None
        if route.permission != "public" and self.authorizer is not None:
            denied, authorizer = self._authorize(req, route, params)
            if denied is not None:
                return denied
        event = apigw.proxy_event(req, route, params, authorizer)
        try:
            result = self.backend.invoke(route.function, event, "http")
        except HandlerError:
            return error(502, "INTERNAL_ERROR", "Internal server error", req.request_id)
        return _proxy_response(result, req.request_id)

    def _authorize(
        self, req: apigw.Request, route: apigw.Route, params: dict[str, str]
    ) -> tuple[Response | None, dict[str, Any] | None]:
        assert self.authorizer is not None
        if not req.header("Authorization"):  # the identity source is missing: no call at all
            return error(401, "UNAUTHORIZED", "Unauthorized", req.request_id), None
        event = apigw.authorizer_event(req, route, params)
        try:
            result = self.backend.invoke(self.authorizer.name, event, "authorizer")
        except HandlerError as exc:
            if exc.message == "Unauthorized":
                return error(401, "UNAUTHORIZED", "Unauthorized", req.request_id), None
            return error(500, "INTERNAL_ERROR", "Internal server error", req.request_id), None
        try:
            context = apigw.authorizer_context(result)
            allowed = apigw.policy_allows(result, event["methodArn"])
        except apigw.AuthorizerMisconfigured as exc:
            log.error("authorizer answer rejected: %s", exc)
            return error(500, "INTERNAL_ERROR", "Internal server error", req.request_id), None
        if not allowed:
            message = "User is not authorized to access this resource"
            return error(403, "FORBIDDEN", message, req.request_id), None
        return None, context

    # ---- local endpoints ----------------------------------------------------------------------

    def _local(self, req: apigw.Request) -> Response:
        rid = req.request_id
        if req.path == "/":
            return Response(302, b"", [("Location", "/docs")])
        if req.path == "/docs":
            return Response(
                200, SWAGGER_HTML.encode(), [("Content-Type", "text/html; charset=utf-8")]
            )
        if self.local_token and req.header("Authorization") != f"Bearer {self.local_token}":
            return error(401, "UNAUTHORIZED", "Unauthorized", rid)
        if req.path == "/_local/functions":
            if req.method != "GET":
                return error(405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed here", rid)
            return json_response(
                200, {"functions": [describe(fn) for fn in self.backend.catalog.functions]}
            )
        if req.method != "POST":
            known = req.path == "/_local/events" or _LOCAL.match(req.path)
            if known:
                return error(405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed here", rid)
            return error(404, "ROUTE_NOT_FOUND", f"no route for {req.path}", rid)
        try:
            body = json.loads(req.body) if req.body.strip() else {}
        except ValueError:
            return error(400, "MALFORMED_JSON", "the request body is not valid JSON", rid)
        if req.path == "/_local/events":
            events = body if isinstance(body, list) else [body]
            try:
                results = [self.backend.put_event(e) for e in events]
            except BadEvent as exc:
                return error(400, "VALIDATION_FAILED", str(exc), rid)
            return json_response(200, results if isinstance(body, list) else results[0])
        m = _LOCAL.match(req.path)
        if not m:
            return error(404, "ROUTE_NOT_FOUND", f"no route for {req.path}", rid)
        action, name = m.groups()
        try:
            fn = self.backend.catalog.function(name)
        except KeyError:
            return error(404, "FUNCTION_NOT_FOUND", f"no function {name}", rid)
        try:
            if action == "tick":
                if not isinstance(fn.trigger, wiring.Schedule):
                    return error(400, "NOT_SCHEDULED", f"{name} has no schedule", rid)
                result = self.backend.tick(name)
            else:
                result = self.backend.invoke(name, body, "invoke")
        except HandlerError as exc:
            resp = json_response(200, exc.payload())
            resp.headers.append(("X-Amz-Function-Error", "Unhandled"))
            return resp
        return json_response(200, result)


def describe(fn: wiring.Function) -> dict[str, Any]:
    trigger = fn.trigger
    info: dict[str, Any] = {"type": "none"}
    if isinstance(trigger, wiring.HttpRoute):
        info = {
            "type": "http",
            "method": trigger.method,
            "path": trigger.path,
            "permission": trigger.permission,
        }
    elif isinstance(trigger, wiring.Schedule):
        info = {"type": "schedule", "expression": trigger.expression}
    elif isinstance(trigger, wiring.EventRule):
        info = {"type": "event", "bus": trigger.bus, "pattern": trigger.pattern}
    elif isinstance(trigger, wiring.QueueTrigger):
        info = {"type": "queue", "queue": trigger.queue, "batch_size": trigger.batch_size}
    elif isinstance(trigger, wiring.TopicTrigger):
        info = {"type": "topic", "topic": trigger.topic}
    elif isinstance(trigger, wiring.StateMachineTask):
        info = {"type": "state-machine-task", "machine": trigger.machine}
    elif isinstance(trigger, wiring.DirectInvoke):
        # Invoked by an AWS service; locally through POST /_local/invoke/{function}.
        info = {"type": "direct", "principal": trigger.principal}
    elif isinstance(trigger, wiring.Authorizer):
        info = {"type": "authorizer"}
    return {"name": fn.name, "service": fn.service, "handler": fn.handler, "trigger": info}


def _proxy_response(result: Any, request_id: str) -> Response:
    """What API Gateway makes of a Lambda proxy integration's answer."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        log.error("malformed Lambda proxy response: %.200r", result)
        return error(502, "INTERNAL_ERROR", "Internal server error", request_id)
    body = result.get("body") or ""
    if not isinstance(body, str):
        log.error("malformed Lambda proxy response body: %.200r", body)
        return error(502, "INTERNAL_ERROR", "Internal server error", request_id)
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    headers: list[tuple[str, str]] = []
    for key, values in multi.items():
        headers.extend((key, str(v)) for v in values)
    headers.extend((k, str(v)) for k, v in single.items() if k not in multi)
    headers = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return Response(result["statusCode"], raw, headers)


# ---- sockets ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def _dispatch(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        body, too_large = self._read_body()
        req = apigw.Request(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        if too_large:
            resp = error(413, "PAYLOAD_TOO_LARGE", "Request Too Long", req.request_id)
        else:
            try:
                resp = self.server.gateway.handle(req)
            except Exception:
                log.exception("gateway failure on %s %s", self.command, self.path)
                resp = error(500, "INTERNAL_ERROR", "Internal server error", req.request_id)
        self.send_response(resp.status)
        for key, value in resp.headers:
            self.send_header(key, value)
        payload = b"" if self.command == "HEAD" else resp.body
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        self.wfile.write(payload)
        log.info(
            "%s %s %d %.1f ms",
            self.command,
            url.path,
            resp.status,
            (time.perf_counter() - started) * 1000,
        )

    def _read_body(self) -> tuple[bytes, bool]:
        limit = apigw.MAX_PAYLOAD_BYTES
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(65537).split(b";", 1)[0].strip()
                n = int(line or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537).strip():
                        pass  # trailers
                    break
                size += n
                data = self.rfile.read(n)
                self.rfile.readline()
                if size <= limit:
                    chunks.append(data)
                elif size > _DRAIN_LIMIT:
                    self.close_connection = True
                    return b"", True
            return b"".join(chunks), size > limit
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            if length > _DRAIN_LIMIT:
                self.close_connection = True
            else:
                remaining = length
                while remaining > 0:
                    remaining -= len(self.rfile.read(min(remaining, 1 << 20)) or b"x" * remaining)
            return b"", True
        return (self.rfile.read(length) if length else b""), False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every verb (TRACE, PROPFIND, ...) goes to the router
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is logged by _dispatch


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever on a server never served
            self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


__all__ = ["Gateway", "GatewayServer", "Response", "describe", "names"]
