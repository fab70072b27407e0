"""The server's own background loops (drift figures, purges, ring refresh, WAL checkpoints):
run and stopped the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trueclout.service.db.engine import Database

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has stopped (None: nothing runs)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class PeriodicLoop:
    """``turn()`` at start-up and then every ``interval`` seconds, until stopped.

    A failing turn is logged with ``failure`` and retried at the next one,
    never raised into the server; an interval of 0 never starts the loop.
    """

    def __init__(self, name: str, interval: float, turn: Callable[[], Awaitable[Any]], *,
                 failure: str, log: logging.Logger) -> None:
        self.name = name
        self.interval = interval
        self.turn = turn
        self.failure = failure
        self.log = log
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.turn()
            except Exception:  # noqa: BLE001 - the next turn retries
                self.log.exception(self.failure)
            await asyncio.sleep(self.interval)


# Often enough that each checkpoint copies about a second of writes (~1.4 MB at 70 stored
# scorings a second), off the requests' path.
CHECKPOINT_SECONDS = 1.0


def checkpoint_loop(database: Database) -> PeriodicLoop:
    """The loop that copies SQLite's write-ahead log into the database every
    ``CHECKPOINT_SECONDS``, in a worker thread, for a database built with
    ``background_checkpoints`` (otherwise SQLite does it inside whichever commit crosses
    1,000 pages, and that request waits for it; other databases get a loop that never
    starts).  With several workers each runs it; SQLite lets one checkpoint at a time.
    What the last second wrote is copied when the engine closes its connections."""
    async def turn() -> None:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(database.checkpoint)

    return PeriodicLoop("trueclout-wal-checkpoint",
                        CHECKPOINT_SECONDS if database.background_checkpoints else 0.0, turn,
                        failure="the WAL checkpoint failed; it will be retried", log=log)
