"""Who is calling: bearer keys looked up by hash, cached briefly per worker."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from trueclout.service.db.engine import Database
from trueclout.service.db.keys import KeyInfo, find_active_key, hash_secret, touch_key

log = logging.getLogger("trueclout.service")


class KeyAuthenticator:
    """Finds the active key for a bearer secret.

    A found key is trusted for ``cache_seconds`` (0: look it up every time), so
    a revoked key stops working within that time in every worker.  Unknown
    secrets are never cached.  ``last_used_at`` is written at most once per
    ``touch_seconds`` per key, off the request's path.
    """

    def __init__(
        self,
        database: Database,
        *,
        cache_seconds: float,
        touch_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.cache_seconds = cache_seconds
        self.touch_seconds = touch_seconds
        self.clock = clock
        self._cache: dict[str, tuple[KeyInfo, float]] = {}
        self._touched: dict[int, float] = {}

    async def lookup(self, secret: str) -> KeyInfo | None:
        digest = hash_secret(secret)
        now = self.clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            info: KeyInfo | None = cached[0]
        else:
            info = await self.database.run(find_active_key, secret=secret)
            if info is not None and self.cache_seconds > 0:
                self._cache[digest] = (info, now + self.cache_seconds)
            else:
                self._cache.pop(digest, None)
        if info is not None:
            self._touch_later(info.id, now)
        return info

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
