"""The server's own background loops (drift figures, purges, ring refresh): run and stopped
the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any


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
