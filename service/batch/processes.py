"""Worker processes on this machine for an in-process batch run (``BatchOptions.workers``).

One Python process uses one core: features, prediction and composition, and
the reading of the graph's edge parts, are all CPU work.  A pool of worker
processes runs ``batch.spread``'s tasks on the other cores without a Dask
cluster's scheduler and network, so ``trueclout batch`` uses the whole
machine by default.  Workers are *spawned*, not forked: a forked child of a
process whose OpenMP (XGBoost) or Arrow threads have started can hang, and
each worker loads the model itself, once (``chunk.scorer_for``).

Each task reports the CPU seconds it took and its worker's peak memory, so
the run's summary counts the workers' work as the Dask runner does.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult
from typing import Any

from trueclout.cluster import in_order
from trueclout.service.batch.spread import peak_rss_mib


class ProcessExecutor:
    """``batch.spread``'s executor on ``workers`` spawned processes (a context manager)."""

    def __init__(self, workers: int) -> None:
        # Inherited by the workers: XGBoost's idle OpenMP threads sleep instead of spinning.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.workers = workers
        self.runner = f"in-process, {workers} worker processes"
        self.shares_disk = True
        self._pool = multiprocessing.get_context("spawn").Pool(workers)
        self._cpu = 0.0
        self._peaks: dict[int, float] = {}

    def ordered_map(self, fn: Callable[..., Any], items: Iterable[Any], *, key_prefix: str,
                    in_flight: int | None = None, **kwargs: Any) -> Iterator[Any]:
        """Results in item order, at most ``in_flight`` tasks (default: twice the
        workers) ahead; ``key_prefix`` (Dask's task names) is not needed here."""
        del key_prefix
        call = functools.partial(_measured, fn, kwargs)

        def collect(pending: AsyncResult) -> Any:
            result, cpu, pid, peak = pending.get()
            self._cpu += cpu
            self._peaks[pid] = max(peak, self._peaks.get(pid, 0.0))
            return result

        return in_order(lambda item: self._pool.apply_async(call, (item,)), collect, items,
                        in_flight or 2 * self.workers)

    def cpu_seconds(self) -> float:
        return self._cpu

    def peak_mib(self) -> list[float]:
        return list(self._peaks.values())

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self._pool.close()
        else:
            self._pool.terminate()
        self._pool.join()


def _measured(fn: Callable[..., Any], kwargs: dict[str, Any], item: Any
              ) -> tuple[Any, float, int, float]:
    """In a worker: ``fn(item, **kwargs)``, its CPU seconds, the worker's pid and peak MiB."""
    started = time.process_time()
    result = fn(item, **kwargs)
    return result, time.process_time() - started, os.getpid(), peak_rss_mib()
