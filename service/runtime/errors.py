"""One error shape for every 4xx/5xx answer, and the handlers that produce it.

    {"error": {"code": "validation_error", "message": "...", "request_id": "...",
               "details": [{"field": "engagements[3].post_id", "reason": "...", "type": "..."}]}}

``code`` is stable and machine-readable; ``message`` is for people; ``details``
name each offending field the way ``trueclout validate`` does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from trueclout.contract import describe_errors, format_loc
from trueclout.errors import UserError
from trueclout.service.db.engine import StorageError
from trueclout.service.scoring.scorer import ModelNotLoaded

log = logging.getLogger("trueclout.service")

CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODE_BY_STATUS.get(status, "error")
        self.message = message
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})


def invalid_snapshot(error: ValidationError, *, what: str = "snapshot") -> ApiError:
    """400 for a body that is not JSON at all, 422 naming every offending field otherwise."""
    details = describe_errors(error)
    if any(d["type"] == "json_invalid" for d in details):
        return ApiError(400, "the request body is not valid JSON", code="invalid_json",
                        details=details)
    return ApiError(422, f"the {what} is invalid ({len(details)} problem(s))", details=details)


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


def error_body(
    code: str, message: str, *, request_id: str | None, details: Sequence[Mapping[str, str]] = ()
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id,
                      "details": [dict(d) for d in details]}}


# An absolute file path (two components or more): where the server keeps its files is
# nobody's business but the operator's, who finds it in the logs.
_SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"():,;/]+/)+([^\s'\"():,;/]*)")


def without_server_paths(text: str) -> str:
    """``text`` with each absolute path cut to its last part: ``.../card.json``."""
    return _SERVER_PATH.sub(lambda m: f".../{m.group(1)}", text)


def error_response(
    scope: Scope,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The standard error body; a server fault's (5xx) text shows no server paths."""
    if status >= 500:
        message = without_server_paths(message)
        details = [{k: without_server_paths(v) for k, v in d.items()} for d in details]
    body = error_body(code or CODE_BY_STATUS.get(status, "error"), message,
                      request_id=request_id_of(scope), details=details)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=dict(headers or {}))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request.scope, exc.status, exc.message, code=exc.code,
                          details=exc.details, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (and any HTTPException) in our shape."""
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "no such endpoint", 405: "method not allowed on this endpoint"}
    message = messages.get(exc.status_code) or str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request.app, request.scope)
        headers["Allow"] = ", ".join(allowed)
        message = f"{message}; it allows {', '.join(allowed)}"
    return error_response(request.scope, exc.status_code, message, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's).

    Asked of the routes themselves, one method at a time: included routers match as
    a whole, so their routes' methods cannot simply be listed.
    """
    return [method for method in _METHODS
            if any(route.matches({**scope, "method": method})[0] == Match.FULL
                   for route in app.router.routes)]


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    """Path, query and header parameters FastAPI validated, with ``query.limit``-style paths."""
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": format_loc(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return error_response(request.scope, 422, f"the request is invalid ({len(details)} "
                          "problem(s))", details=details)


async def _model_not_loaded(request: Request, exc: Exception) -> Response:
    """503 saying why (the full reason, paths included, is in the service log)."""
    return error_response(request.scope, 503, str(exc), code="model_not_loaded")


async def _storage_error(request: Request, exc: Exception) -> Response:
    log.error("storage failed", exc_info=exc,
              extra={"fields": {"request_id": request_id_of(request.scope)}})
    return error_response(
        request.scope, 503,
        "the database could not store or read the data; nothing was stored, try again",
        code="storage_error", headers={"Retry-After": "1"},
    )


async def _user_error(request: Request, exc: Exception) -> Response:
    return error_response(request.scope, 400, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(ModelNotLoaded, _model_not_loaded)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(UserError, _user_error)
