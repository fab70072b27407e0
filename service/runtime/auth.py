"""Who is calling: bearer keys looked up by hash, cached briefly per worker, and admitted.

``authorize`` is the one gate for every key, whether it came as a bearer
header (the API) or in a form field (the ``/trust`` page): the same lookup,
scope check and rate limit, the same errors.  Requests without a valid key
are rate-limited per client address, and a secret found unknown is
remembered, so guessing keys costs the database little.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Literal

from starlette.requests import Request

from trueclout.service.db.engine import Database
from trueclout.service.db.keys import KeyInfo, find_active_key, hash_secret, touch_key
from trueclout.service.runtime.errors import ApiError
from trueclout.service.runtime.ratelimit import RateLimiter

log = logging.getLogger("trueclout.service")


class KeyAuthenticator:
    """Finds the active key for a bearer secret.

    A found key is trusted for ``cache_seconds`` (0: look it up every time), so
    a revoked key stops working within that time in every worker.  A secret
    found unknown (or revoked) is remembered as such for ``unknown_seconds``, up
    to ``max_unknown`` secrets, oldest forgotten first: no key is ever created
    with a secret someone already tried, so this cannot refuse a valid key.
    ``last_used_at`` is written at most once per ``touch_seconds`` per key, off
    the request's path.
    """

    def __init__(
        self,
        database: Database,
        *,
        cache_seconds: float,
        touch_seconds: float = 60.0,
        unknown_seconds: float = 600.0,
        max_unknown: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.cache_seconds = cache_seconds
        self.touch_seconds = touch_seconds
        self.unknown_seconds = unknown_seconds
        self.max_unknown = max_unknown
        self.clock = clock
        self._cache: dict[str, tuple[KeyInfo, float]] = {}
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._touched: dict[int, float] = {}

    def cached(self, secret: str) -> KeyInfo | None:
        """The key for ``secret`` if it is trusted from the cache right now (no look-up)."""
        entry = self._cache.get(hash_secret(secret))
        return entry[0] if entry is not None and entry[1] > self.clock() else None

    async def lookup(self, secret: str) -> KeyInfo | None:
        digest = hash_secret(secret)
        now = self.clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            info: KeyInfo | None = cached[0]
        elif self._unknown.get(digest, 0.0) > now:
            return None
        else:
            info = await self.database.run(find_active_key, secret=secret)
            if info is not None and self.cache_seconds > 0:
                self._cache[digest] = (info, now + self.cache_seconds)
            else:
                self._cache.pop(digest, None)
            if info is None:
                self._remember_unknown(digest, now)
        if info is not None:
            self._touch_later(info.id, now)
        return info

    def _remember_unknown(self, digest: str, now: float) -> None:
        self._unknown.pop(digest, None)
        self._unknown[digest] = now + self.unknown_seconds
        while len(self._unknown) > self.max_unknown:
            self._unknown.popitem(last=False)

    def _touch_later(self, key_id: int, now: float) -> None:
        last = self._touched.get(key_id)
        if last is not None and now - last < self.touch_seconds:
            return
        self._touched[key_id] = now
        asyncio.get_running_loop().run_in_executor(None, self._touch, key_id)

    def _touch(self, key_id: int) -> None:
        """Best effort: a busy database may delay the "last used" time, never a request."""
        try:
            self.database.call(touch_key, key_id=key_id)
        except Exception:  # noqa: BLE001
            log.warning("could not record the key's last use", exc_info=True,
                        extra={"fields": {"key_id": key_id}})


RefusalReason = Literal["missing", "invalid", "scope", "rate"]


class KeyRefused(ApiError):
    """A key that was not admitted; ``reason`` lets a page word it its own way."""

    def __init__(self, reason: RefusalReason, status: int, message: str, *,
                 retry_after: int = 0, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)
        self.reason = reason
        self.retry_after = retry_after


def _unauthorized(reason: RefusalReason, message: str) -> KeyRefused:
    return KeyRefused(reason, 401, message, headers={"WWW-Authenticate": "Bearer"})


async def authorize(request: Request, secret: str | None, scopes: Collection[str]) -> KeyInfo:
    """The active key for ``secret`` if it has any of ``scopes`` and is within its rate.

    Raises ``KeyRefused``: 401 without a key or with an unknown or revoked one,
    403 without the scope, 429 over the rate.  The key's id is noted on the
    request (for the access log) as soon as the key is known.
    """
    limiter: RateLimiter = request.app.state.limiter
    if not secret:
        _count_unauthenticated(request, limiter)
        raise _unauthorized("missing", "missing API key: send `Authorization: Bearer <key>`")
    authenticator: KeyAuthenticator = request.app.state.keys
    if authenticator.cached(secret) is None:
        # An address that keeps failing waits before its next key is even looked up.
        _count_unauthenticated(request, limiter, take=False)
    key = await authenticator.lookup(secret)
    if key is None:
        _count_unauthenticated(request, limiter)
        raise _unauthorized("invalid", "invalid or revoked API key")
    request.state.key_id = key.id
    if not key.scopes.intersection(scopes):
        raise KeyRefused("scope", 403, f"this API key lacks the {' or '.join(scopes)} scope")
    _refuse_if_limited(limiter.retry_after(key.id, key.rate_per_second), "for this API key")
    return key


def _refuse_if_limited(wait: int, whose: str) -> None:
    if wait:
        raise KeyRefused("rate", 429, f"rate limit exceeded {whose}; retry in {wait} s",
                         retry_after=wait, headers={"Retry-After": str(wait)})


def _count_unauthenticated(request: Request, limiter: RateLimiter, *, take: bool = True
                           ) -> None:
    """Charge (or with ``take=False`` only check) the client address's budget of requests
    without a valid key; 429 once it is spent."""
    address = request.client.host if request.client is not None else "unknown"
    _refuse_if_limited(limiter.retry_after(("address", address), limiter.unauthenticated_rate,
                                           take=take),
                       "for requests without a valid API key from this address")
