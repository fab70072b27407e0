"""Readable error pages under ``/trust``.

The service answers every error in one JSON shape.  Under the pages' prefix
the reader is a person with a browser, so ``PageErrorsMiddleware`` turns
those answers (413 from the body limit, 404 and 405 from routing, 429, 500)
into a short HTML page with the same status, the same message and the
request id to quote.  It sits between the request-context middleware (which
still logs and counts every answer) and the body-size limit (whose 413 it
must see).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trueclout.service.runtime.errors import request_id_of
from trueclout.service.trust.format import human_bytes
from trueclout.service.web.rendering import PAGE_HEADERS, render_page

log = logging.getLogger("trueclout.service")

PAGES_PREFIX = "/trust"

TITLES = {
    400: "The request could not be read",
    401: "A valid key is needed",
    403: "This key cannot do that",
    404: "Not found",
    405: "This page cannot be used that way",
    413: "What you sent is too large",
    422: "Something in the request is not right",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "The service cannot answer right now",
}

def is_page_path(path: str) -> bool:
    return path == PAGES_PREFIX or path.startswith(PAGES_PREFIX + "/")


def error_page(status: int, message: str, request_id: str | None) -> bytes:
    """The HTML body of an error page."""
    response = render_page("trust_error.html", status=status,
                           title=TITLES.get(status, "Something is not right"),
                           message=message, status_code=status, request_id=request_id)
    return bytes(response.body)


def page_error(request: Request, status: int, message: str,
               headers: Mapping[str, str] | None = None) -> Response:
    """An error page answered by a page route itself (with the pages' headers)."""
    body = error_page(status, message, request_id_of(request.scope))
    return Response(body, status_code=status, media_type="text/html; charset=utf-8",
                    headers={**PAGE_HEADERS, **(headers or {})})


class PageErrorsMiddleware:
    """Error answers under ``/trust`` as HTML pages; everything else passes through untouched."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []
        started = False

        async def rewrite(message: Message) -> None:
            nonlocal held, started
            if message["type"] == "http.response.start":
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                if message["status"] >= 400 and content_type.startswith("application/json"):
                    held = message
                    return
                started = True
                await send(message)
                return
            if held is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                started = True
                await self._send_page(scope, held, b"".join(chunks), send)

        try:
            await self.app(scope, receive, rewrite)
        except Exception:
            if started:
                raise
            request_id = scope.get("state", {}).get("request_id")
            log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            await self._send(send, 500, error_page(
                500, "An unexpected error stopped this page. If it happens again, quote the "
                "reference below when you report it.", request_id), extra_headers=[])

    async def _send_page(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        status = start["status"]
        try:
            message = orjson.loads(body)["error"]["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = ""
        if status == 413:
            message = (f"The limit is {human_bytes(self.max_body_bytes)}. Send a smaller "
                       "snapshot: fewer followers, engagements or days of history.")
        elif status == 404:
            message = "No page has this address. Check the link you were given."
        request_id = scope.get("state", {}).get("request_id")
        kept = [(k, v) for k, v in start.get("headers", [])
                if k.lower() in (b"retry-after", b"allow", b"connection")]
        await self._send(send, status, error_page(status, message, request_id), kept)

    @staticmethod
    async def _send(send: Send, status: int, body: bytes,
                    extra_headers: list[tuple[bytes, bytes]]) -> None:
        headers = [(b"content-type", b"text/html; charset=utf-8"),
                   (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
        headers += extra_headers
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
