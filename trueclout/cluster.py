"""Dask clusters for the scale-out paths (batch scoring, distributed training).

One place decides how TrueClout gets a cluster: a ``LocalCluster`` of worker
processes (one per core, one thread each, OpenMP waiting passively so
XGBoost's idle threads do not spin on shared cores), or a running scheduler
by address.  A scheduler that cannot be reached is a ``UserError`` (the CLI
exits 2 with the address and the reason), never a traceback.

``ordered_map`` runs a function over many items on the cluster with a bounded
number of tasks in flight and yields results in item order, so a client that
writes results as they come keeps memory flat however many items there are.

Dask is imported inside the functions: the CLI starts fast without it.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from trueclout.errors import UserError

if TYPE_CHECKING:
    from distributed import Client

# Environment every worker process gets: XGBoost's OpenMP threads sleep when idle.
WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
CONNECT_TIMEOUT_SECONDS = 10


class ClusterError(UserError):
    """No usable Dask cluster: the message names the address and why."""


@contextmanager
def dask_client(scheduler: str | None = None, *, n_workers: int | None = None,
                memory_limit: str = "auto") -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a new local cluster when None.

    The local cluster has ``n_workers`` processes (default: one per core) with
    one thread each; it is closed on exit.  A remote cluster is left running.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_SECONDS}s",
                            set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}"
                               ) from None
        try:
            client.run(_quiet_openmp)
            yield client
        finally:
            client.close()
        return
    workers = n_workers or available_cores()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=memory_limit,
                           env=dict(WORKER_ENV))
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _quiet_openmp() -> None:
    """Run on each worker of a remote cluster: effective unless OpenMP already started."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def worker_count(client: Client) -> int:
    """Workers the scheduler knows now (at least 1, for sizing the tasks in flight)."""
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


def ordered_map(client: Client, fn: Callable[..., Any], items: Iterable[Any], *,
                in_flight: int | None = None, key_prefix: str = "trueclout",
                **kwargs: Any) -> Iterator[Any]:
    """``fn(item, **kwargs)`` for every item on the cluster; results in item order.

    At most ``in_flight`` tasks (default: twice the workers) are submitted
    ahead of the result being waited for, so finished results wait for at
    most that many others.  ``kwargs`` that are large should be scattered
    futures.  A task's exception is raised here, as it was raised there.
    """
    run = uuid.uuid4().hex[:12]
    numbers = itertools.count()

    def submit(item: Any) -> Any:
        return client.submit(fn, item, key=f"{key_prefix}-{run}-{next(numbers)}", **kwargs)

    def collect(future: Any) -> Any:
        result = future.result()
        future.release()
        return result

    return in_order(submit, collect, items, in_flight or 2 * worker_count(client),
                    cancel=lambda future: future.cancel())


def in_order(submit: Callable[[Any], Any], collect: Callable[[Any], Any], items: Iterable[Any],
             limit: int, *, cancel: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """``collect(submit(item))`` for every item, in item order, with at most ``limit``
    submitted items not yet collected (``cancel`` drops them if the caller stops early)."""
    pending: deque[Any] = deque()
    source = iter(items)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                item = next(source, _END)
                if item is _END:
                    exhausted = True
                    break
                pending.append(submit(item))
            if not pending:
                return
            yield collect(pending.popleft())
    finally:
        if cancel is not None:
            for handle in pending:  # the caller stopped early or a task failed
                cancel(handle)


_END = object()
