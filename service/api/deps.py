"""Request dependencies as ``Annotated`` types, so routes stay thin and tests can override them.

The cheap ones are ``async def`` on purpose: FastAPI runs a plain ``def``
dependency in the thread pool, which costs a thread hop per request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trueclout.contract import validate_json
from trueclout.fast_contract import ScorableSnapshot, read_snapshot_json
from trueclout.service.analysts.disputes import DisputeLimiter
from trueclout.service.db.engine import Database, StorageError
from trueclout.service.db.keys import SCOPES, KeyInfo
from trueclout.service.db.models import as_utc
from trueclout.service.runtime.auth import authorize
from trueclout.service.runtime.errors import ApiError, invalid_snapshot
from trueclout.service.scoring.offload import off_loop
from trueclout.service.scoring.scorer import Scorer, require_ready
from trueclout.settings import Settings

C = TypeVar("C")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")

# Paged lists (history, the analysts' queue): newest first, continued with ``before``.
MAX_PAGE = 500
BeforeParam = Annotated[str | None, Query(
    max_length=200, description="`next_cursor` of the previous page.")]

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `trueclout keys create`, sent as `Authorization: Bearer tc_...`.",
)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.database


def get_session(request: Request) -> Iterator[Session]:
    """A session in one transaction for plain ``def`` routes (FastAPI runs them in a thread)."""
    database: Database = request.app.state.database
    try:
        with database.transaction() as session:
            yield session
    except SQLAlchemyError as exc:
        raise StorageError(exc.__class__.__name__) from exc


async def get_dispute_limiter(request: Request) -> DisputeLimiter:
    """The application's one dispute limiter (made with the app, per worker process)."""
    return request.app.state.dispute_limiter


async def get_ready_scorer(request: Request) -> Scorer:
    return require_ready(request.app.state.scorer)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
ScorerDep = Annotated[Scorer, Depends(get_ready_scorer)]
DisputeLimiterDep = Annotated[DisputeLimiter, Depends(get_dispute_limiter)]


def require_scope(*scopes: str) -> Callable[..., Coroutine[Any, Any, KeyInfo]]:
    """A dependency admitting bearer keys with any of ``scopes`` (``authorize``)."""

    async def scoped_key(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> KeyInfo:
        return await authorize(request, credentials.credentials if credentials else None, scopes)

    return scoped_key


PlatformKey = Annotated[KeyInfo, Depends(require_scope("platform"))]
HistoryKey = Annotated[KeyInfo, Depends(require_scope("platform", "analyst"))]
AnalystKey = Annotated[KeyInfo, Depends(require_scope("analyst"))]
RecruiterKey = Annotated[KeyInfo, Depends(require_scope("recruiter"))]
AnyScopeKey = Annotated[KeyInfo, Depends(require_scope(*SCOPES))]


def utc_in_range(value: datetime | None) -> datetime | None:
    """A query's time in UTC (a time without a zone taken as UTC); one that cannot be
    expressed in UTC (``0001-01-01T00:00:00+14:00``) is a 422, not an overflow."""
    try:
        return as_utc(value)
    except OverflowError:
        raise ValueError("is outside the range of times this service handles") from None


def page_cursor(before: str | None, decode: Callable[[str], C]) -> C | None:
    """The ``before`` cursor of a paged list, decoded; one it did not hand out is a 422."""
    if before is None:
        return None
    try:
        return decode(before)
    except ValueError as exc:
        raise ApiError(422, "invalid cursor", details=[
            {"field": "query.before", "reason": str(exc), "type": "cursor"}]) from None


def require_json(request: Request) -> None:
    """415 for a body declared as something other than JSON (a form, plain text): it is
    not scored by guess.  A body with no Content-Type at all is read as JSON."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media_type = declared.partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
            media_type.startswith("application/") and media_type.endswith("+json")):
        raise ApiError(415, "send the body as JSON with `Content-Type: application/json`",
                       details=[{"field": "header.content-type",
                                 "reason": f"is {declared[:100]!r}, not application/json",
                                 "type": "unsupported_media_type"}])


async def parse_body(request: Request, model: type[M], what: str = "snapshot", *,
                     known_keys: frozenset[str] | None = None) -> M:
    """The raw JSON body as ``model`` (``contract.validate_json``: duplicate keys and key
    floods refused, then pydantic's own JSON parser with exact field paths), which is why
    routes read bodies themselves; 415 for a body not sent as JSON, 400 for no JSON, 422
    naming each field.  Validated in a scoring thread (``scoring.offload``): a 150 KB
    snapshot takes milliseconds, a batch of them far more, and the loop keeps answering."""
    return await _read_body(request, partial(validate_json, model, known_keys=known_keys), what)


async def parse_snapshot(request: Request) -> ScorableSnapshot:
    """The body as one AccountSnapshot, as ``parse_body`` would accept or refuse it, read
    the fast way (``fast_contract.read_snapshot_json``: msgspec Structs that scoring reads
    directly; a body it cannot vouch for gets ``validate_json`` and its errors)."""
    return await _read_body(request, read_snapshot_json, "snapshot")


async def _read_body(request: Request, read: Callable[[bytes], R], what: str) -> R:
    """``read`` of the raw body in a scoring thread; its ValidationError as the API's 4xx."""
    require_json(request)
    raw = await request.body()
    try:
        return await off_loop(read, raw)
    except ValidationError as exc:
        raise invalid_snapshot(exc, what=what) from None
