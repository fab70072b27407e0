"""Pure ASGI middleware: request context (id, access log, metrics, last-resort 500) and body size.

Pure ASGI rather than ``BaseHTTPMiddleware``: it adds microseconds, not a task
per request, and can refuse an oversize body before anything reads it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trueclout.service.runtime import metrics
from trueclout.service.runtime.errors import ApiError, error_response

access_log = logging.getLogger("trueclout.access")
error_log = logging.getLogger("trueclout.service")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a fresh one."""
    given = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if given and _SAFE_REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives each request an id, logs one JSON line and records metrics when it ends.

    It also turns any exception that escaped the routes into the standard 500
    body, after logging it with the request id (never the payload).
    """

    def __init__(self, app: ASGIApp, *, model_version: Callable[[], str | None]) -> None:
        self.app = app
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            if response_started:
                raise
            await error_response(scope, 500, "internal error; the request id identifies it in "
                                 "the service logs")(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started_at)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_label(scope)
        method = scope["method"]
        metrics.REQUESTS.labels(method, route, str(status)).inc()
        metrics.LATENCY.labels(method, route).observe(seconds)
        state = scope.get("state", {})
        access_log.info("request", extra={"fields": {
            "request_id": state.get("request_id"),
            "method": method,
            "route": route,
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "key_id": state.get("key_id"),
            "model_version": self.model_version(),
        }})


def _route_label(scope: Scope) -> str:
    """The matched path template (``/v1/accounts/{platform}/{account_id}/history``).

    Never the raw path of an unmatched request: labels must stay few.
    """
    template = getattr(scope.get("route"), "path", None)
    if template:
        return template
    # FastAPI's own pages (/docs, /openapi.json) do not mark their route in the scope.
    plain = {getattr(r, "path", None) for r in getattr(scope.get("app"), "routes", ())}
    return scope["path"] if scope["path"] in plain else "unmatched"


class PayloadTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes",
                         details=[{"field": "(body)", "reason": f"exceeds {limit} bytes",
                                   "type": "too_large"}])


class BodySizeLimitMiddleware:
    """413 for bodies over ``max_bytes``: by Content-Length before the app runs at all,
    and while streaming a body sent without one (chunked), before any of it is parsed.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                too_large = False  # the server rejects a malformed length itself
            if too_large:
                await self._refuse(scope, receive, send)
                return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge:
            if response_started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        err = PayloadTooLarge(self.max_bytes)
        response = error_response(scope, err.status, err.message, code=err.code,
                                  details=err.details, headers={"Connection": "close"})
        await response(scope, receive, send)
