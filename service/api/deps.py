"""Request dependencies as ``Annotated`` types, so routes stay thin and tests can override them.

The cheap ones are ``async def`` on purpose: FastAPI runs a plain ``def``
dependency in the thread pool, which costs a thread hop per request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trueclout.service.db.engine import Database, StorageError
from trueclout.service.db.keys import SCOPES, KeyInfo
from trueclout.service.runtime.auth import KeyAuthenticator
from trueclout.service.runtime.errors import ApiError
from trueclout.service.runtime.ratelimit import RateLimiter
from trueclout.service.scoring.scorer import ModelNotLoaded, Scorer
from trueclout.settings import Settings

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


async def get_ready_scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    if not scorer.ready():
        scorer.model_info()  # raises ModelNotLoaded with the reason
        raise ModelNotLoaded("model not loaded")
    return scorer


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
ScorerDep = Annotated[Scorer, Depends(get_ready_scorer)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyInfo:
    """The caller's active key; 401 without one, or with an unknown or revoked one."""
    if credentials is None:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    authenticator: KeyAuthenticator = request.app.state.keys
    info = await authenticator.lookup(credentials.credentials)
    if info is None:
        raise _unauthorized("invalid or revoked API key")
    request.state.key_id = info.id
    return info


CurrentKey = Annotated[KeyInfo, Depends(current_key)]


def require_scope(*scopes: str) -> Callable[..., Coroutine[Any, Any, KeyInfo]]:
    """A dependency admitting keys with any of ``scopes`` (else 403), then rate-limiting them."""

    async def scoped_key(request: Request, key: CurrentKey) -> KeyInfo:
        if not key.scopes.intersection(scopes):
            raise ApiError(403, f"this API key lacks the {' or '.join(scopes)} scope")
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.retry_after(key.id, key.rate_per_second)
        if wait:
            raise ApiError(429, f"rate limit exceeded for this API key; retry in {wait} s",
                           headers={"Retry-After": str(wait)})
        return key

    return scoped_key


PlatformKey = Annotated[KeyInfo, Depends(require_scope("platform"))]
HistoryKey = Annotated[KeyInfo, Depends(require_scope("platform", "analyst"))]
AnyScopeKey = Annotated[KeyInfo, Depends(require_scope(*SCOPES))]
