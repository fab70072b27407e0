"""CPU-bound scoring off the event loop, in a thread pool bounded by the worker's cores.

Validating a snapshot, computing its features and predicting are CPU work of
tens of milliseconds; run on the event loop they stall ``/healthz`` and every
other request of the worker.  ``off_loop`` runs them in anyio's worker
threads instead, at most ``scoring_threads()`` at a time per event loop: more
threads than cores only add GIL contention, and XGBoost predicts on one thread
per call (``model_scorer.PREDICT_THREADS``) so threads do not oversubscribe
the cores.  numpy and XGBoost release the GIL in their kernels, so the loop
keeps answering while a request is scored.  Storage stays async
(``Database.run``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
from anyio import to_thread

from trueclout.cluster import available_cores
from trueclout.settings import get_settings

P = ParamSpec("P")
T = TypeVar("T")

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary())


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Each of ``workers`` server processes' share of the cores (at least one thread).

    Two workers scoring on two threads each, on two cores, spent 37-44 ms of CPU per
    request against 28-38 with one thread each (four CPU-bound threads contending for
    two cores and each process's GIL), and answered 37-48 against 50-69 requests/s
    (`benchmarks/service.py --duration 15 --workers 2 --connections 8`, alternating
    runs, 2026-12-07; docs/API.md "Speed")."""
    return max(1, (available_cores() if cores is None else cores) // max(1, workers))


def scoring_threads() -> int:
    """Threads that may score at once in this process: ``TRUECLOUT_SCORING_THREADS``
    (`trueclout serve` sets each worker's share of the cores), else the cores it may use."""
    return get_settings().scoring_threads or available_cores()


def scoring_limiter() -> anyio.CapacityLimiter:
    """The running event loop's one limiter (one per loop: a limiter belongs to its loop)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(scoring_threads())
    return limiter


async def off_loop(work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` in a scoring thread; its result or its exception, as is."""
    return await to_thread.run_sync(partial(work, *args, **kwargs), limiter=scoring_limiter())
