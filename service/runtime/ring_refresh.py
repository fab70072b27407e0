"""The ring table that refreshes itself: recomputed from the edge store, one worker at a time.

``RingRefresher.refresh`` takes the lease in ``ring_refresh_state`` (a
compare-and-set ``UPDATE``, on SQLite and PostgreSQL; a lease of
``LEASE`` renewed as the work goes on, so a crashed refresher blocks the
others for at most that long), reads every edge of the store
(``db.edges``) in one read transaction, runs the same three detectors as
`trueclout rings` on it (``features.graph``: the stored rows become integer
edge parts, merged and detected as the batch path does) and writes the
table atomically where the servers' ``RingTableLookup`` reads it, so every
worker picks it up within ``TRUECLOUT_RING_TABLE_CHECK_SECONDS``.

What is incremental: a refresh first compares the store's signature (count,
max and sum of the source ids, which change with any insert, replacement or
purge) with the one the last refresh recorded, and stops there when nothing
changed; re-scoring the same snapshot does not change it.  A changed store
is recomputed in full: dense blocks (FRAUDAR's greedy peeling), lockstep
groups and mutual cores are global results, and the edge store also shrinks
(replacements, retention), which insertion-only maintenance such as Spade's
incremental peeling does not cover.  benchmarks/ring_refresh.py measures
what a full refresh costs.

With ``TRUECLOUT_RING_REFRESH_SCHEDULER`` the store is read on a Dask cluster
(partitions of source ids; each worker connects to the database itself) and
merged and detected on the caller, as ``trueclout batch --scheduler`` does.

``PeriodicRingRefresh`` is the server's loop: every
``TRUECLOUT_RING_REFRESH_SECONDS`` each worker makes the cheap check, and
when the store changed and no one holds the lease it runs `trueclout rings
refresh` in a child process, so the graph's memory and CPU never sit in a
serving process.  It also publishes the last refresh's figures to /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from trueclout.errors import UserError
from trueclout.features.graph.ingest import EdgePart, edge_part_from_columns
from trueclout.files import utc_now
from trueclout.service.db.edges import (
    RefreshRecord,
    RingRefreshState,
    iter_source_rows,
    refresh_state,
    release_lease,
    source_id_range,
    store_signature,
    take_lease,
    unpack_sources,
)
from trueclout.service.db.engine import Database
from trueclout.service.runtime import metrics
from trueclout.service.runtime.tasks import PeriodicLoop
from trueclout.settings import Settings

log = logging.getLogger("trueclout.service")

LEASE = timedelta(minutes=5)
# Edges per chunk read from the database (about 40 MiB of packed columns).
CHUNK_EDGES = 1_000_000
StageHook = Callable[[str, float], None]


class LeaseLost(Exception):
    """Another refresher took the lease (this one stalled past it): nothing was written."""


@dataclass(frozen=True)
class RefreshOutcome:
    """What one call did: ``refreshed``, ``unchanged``, ``empty`` store, or ``busy`` elsewhere."""

    status: Literal["refreshed", "unchanged", "empty", "busy"]
    path: Path
    accounts: int = 0
    edges: int = 0
    seconds: float = 0.0
    holder: str | None = None
    lease_until: datetime | None = None

    def message(self) -> str:
        """One line for people (the CLI, the logs)."""
        if self.status == "busy":
            until = self.lease_until.isoformat(timespec="seconds") if self.lease_until else "?"
            return (f"another refresh is running ({self.holder}, lease until {until}); "
                    "nothing done")
        if self.status == "empty":
            return "the edge store is empty (nothing scored and stored yet); nothing written"
        if self.status == "unchanged":
            return f"the edge store has not changed since the last refresh; {self.path} is current"
        return (f"refreshed {self.path}: {self.accounts:,} accounts from {self.edges:,} edges "
                f"in {self.seconds:.1f} s")


def holder_name() -> str:
    """Who holds the lease: host, process and a per-refresher suffix (threads differ too)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def read_parts(connection: Connection, *, chunk_edges: int = CHUNK_EDGES,
               sources: tuple[int, int] | None = None,
               on_chunk: Callable[[], None] | None = None) -> Iterator[EdgePart]:
    """The store (or a range of its source ids) as integer edge parts, one per chunk."""
    for rows in iter_source_rows(connection, chunk_edges=chunk_edges, sources=sources):
        columns = unpack_sources(rows)
        yield edge_part_from_columns(
            columns.actor, columns.target, columns.post, columns.kind, columns.at,
            post_owner=columns.post_owner, post_id=columns.post_id, created=columns.created,
            # Each source's edges are unique (deduplicated when stored); only a repost
            # seen from both sides repeats, and the merge drops those.
            deduplicate=False)
        if on_chunk is not None:
            on_chunk()


def read_range_task(sources: tuple[int, int], *, database_url: str,
                    chunk_edges: int) -> list[EdgePart]:
    """On a Dask worker: the parts of one range of source ids (the worker connects itself)."""
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        with database.engine.connect() as connection:
            return list(read_parts(connection, chunk_edges=chunk_edges, sources=sources))
    finally:
        database.dispose()


class RingRefresher:
    """Recomputes the ring table at ``path`` from ``database``'s edge store, under the lease."""

    def __init__(self, database: Database, path: Path, *, scheduler: str | None = None,
                 lease: timedelta = LEASE, chunk_edges: int = CHUNK_EDGES,
                 holder: str | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.database = database
        self.path = path
        self.scheduler = scheduler
        self.lease = lease
        self.chunk_edges = chunk_edges
        self.holder = holder or holder_name()
        self._clock = clock
        self._renewed = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> RingRefresher:
        return cls(database, settings.resolved_ring_table,
                   scheduler=settings.ring_refresh_scheduler)

    def refresh(self, *, force: bool = False, on_stage: StageHook | None = None
                ) -> RefreshOutcome:
        """Refresh unless another refresher holds the lease or (without ``force``) nothing
        changed since the last refresh."""
        if not self.database.call(take_lease, holder=self.holder, now=self._clock(),
                                  lease=self.lease):
            state = self.database.call(refresh_state)
            return RefreshOutcome("busy", self.path, holder=state.holder if state else None,
                                  lease_until=state.lease_until if state else None)
        self._renewed = time.monotonic()
        record: RefreshRecord | None = None
        try:
            outcome, record = self._refresh_holding_lease(force, on_stage)
        finally:
            self.database.call(release_lease, holder=self.holder, record=record)
        if record is not None:
            publish(record)
        return outcome

    def _refresh_holding_lease(self, force: bool, on_stage: StageHook | None
                               ) -> tuple[RefreshOutcome, RefreshRecord | None]:
        from trueclout.features.graph.table import save_ring_table
        from trueclout.service.batch.graph import EdgeStats, detect_rings_in_parts

        started = time.perf_counter()
        state = self.database.call(refresh_state)
        engine = self.database.engine
        if engine.dialect.name == "postgresql":  # one consistent view for the whole read
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with engine.connect() as connection, connection.begin():
            signature = store_signature(connection)
            if signature.startswith("0:"):
                return RefreshOutcome("empty", self.path), None
            if not force and state is not None and state.signature == signature \
                    and self.path.exists():
                return RefreshOutcome("unchanged", self.path), None
            if self.scheduler is None:
                parts = list(read_parts(connection, chunk_edges=self.chunk_edges,
                                        on_chunk=self._renew))
            else:
                parts = self._read_on_dask(source_id_range(connection))
        _report(on_stage, "read edge store", time.perf_counter() - started)
        stats = EdgeStats.of(parts)

        def stage_done(stage: str, seconds: float) -> None:
            self._renew()
            _report(on_stage, stage, seconds)

        table = detect_rings_in_parts(parts, on_stage=stage_done)
        self._renew(force=True)  # still ours: only then replace the file
        saved_at = time.perf_counter()
        save_ring_table(table, self.path)
        _report(on_stage, "write", time.perf_counter() - saved_at)
        seconds = time.perf_counter() - started
        record = RefreshRecord(signature=signature, refreshed_at=self._clock(),
                               duration_seconds=seconds, accounts=table.num_rows,
                               edges=stats.edges)
        return RefreshOutcome("refreshed", self.path, accounts=table.num_rows,
                              edges=stats.edges, seconds=seconds), record

    def _renew(self, *, force: bool = False) -> None:
        """Extend the lease (at most every third of it, unless ``force``); LeaseLost if gone."""
        if not force and time.monotonic() - self._renewed < self.lease.total_seconds() / 3:
            return
        if not self.database.call(take_lease, holder=self.holder, now=self._clock(),
                                  lease=self.lease):
            raise LeaseLost(f"the ring refresh lease of {self.holder} was taken over")
        self._renewed = time.monotonic()

    def _read_on_dask(self, sources: tuple[int, int]) -> list[EdgePart]:
        from trueclout.cluster import dask_client, ordered_map, worker_count

        url = self.database.engine.url.render_as_string(hide_password=False)
        with dask_client(self.scheduler) as client:
            ranges = _split(sources, 4 * worker_count(client))
            parts: list[EdgePart] = []
            for range_parts in ordered_map(client, read_range_task, ranges, database_url=url,
                                           chunk_edges=self.chunk_edges, key_prefix="edge-store"):
                parts.extend(range_parts)
                self._renew()
        return parts


def _split(sources: tuple[int, int], pieces: int) -> list[tuple[int, int]]:
    """``pieces`` contiguous, non-empty ranges covering the id range ``sources``."""
    low, high = sources
    bounds = np.unique(np.linspace(low, high + 1, max(1, pieces) + 1).astype(np.int64))
    return [(int(a), int(b) - 1) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _report(on_stage: StageHook | None, stage: str, seconds: float) -> None:
    if on_stage is not None:
        on_stage(stage, seconds)


def publish(state: RefreshRecord | RingRefreshState) -> None:
    """Set the ring-table gauges from the last refresh (no-op before the first)."""
    if state.refreshed_at is None:
        return
    metrics.RING_TABLE_ACCOUNTS.set(state.accounts or 0)
    metrics.RING_TABLE_EDGES.set(state.edges or 0)
    metrics.RING_REFRESH_SECONDS.set(state.duration_seconds or 0.0)
    metrics.RING_REFRESHED_AT.set(state.refreshed_at.timestamp())


def refresh_due(*, session: Session, path: Path, now: datetime) -> bool:
    """Whether a refresh would do anything now: the store changed (or the table is missing)
    and no one holds the lease.  Publishes the last refresh's figures on the way."""
    state = refresh_state(session=session)
    if state is not None:
        publish(state)
    if state is not None and state.holder and state.lease_until and state.lease_until > now:
        return False
    signature = store_signature(session)
    if signature.startswith("0:"):
        return False
    return state is None or state.signature != signature or not path.exists()


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment of `trueclout rings refresh` run for this server's settings."""
    env = {**os.environ, "TRUECLOUT_DATABASE_URL": settings.resolved_database_url,
           "TRUECLOUT_RING_TABLE": str(settings.resolved_ring_table),
           "TRUECLOUT_DATA_DIR": str(settings.data_dir)}
    if settings.ring_refresh_scheduler:
        env["TRUECLOUT_RING_REFRESH_SCHEDULER"] = settings.ring_refresh_scheduler
    # The child's gauges would be read as a worker's: it reports through the database.
    env.pop(metrics.MULTIPROC_ENV, None)
    return env


class PeriodicRingRefresh:
    """The server's refresher loop: a cheap check every ``interval`` seconds, and a child
    process running `trueclout rings refresh` when the edge store changed.

    Every worker runs the loop; the lease lets one child refresh at a time,
    the others find it busy (or nothing changed) and stay idle.  Failures are
    logged and retried at the next turn, never raised into the server.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._loop = PeriodicLoop("trueclout-ring-refresh", settings.ring_refresh_seconds,
                                  self.turn, log=log,
                                  failure="the ring-table refresh failed; it will be retried")

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def turn(self) -> bool:
        """One check, and a refresh in a child process when due; True if one ran and succeeded."""
        due = await self.database.run(refresh_due, path=self.settings.resolved_ring_table,
                                      now=utc_now())
        if not due:
            return False
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "trueclout.cli", "rings", "refresh",
            env=child_environment(self.settings), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await child.communicate()
        except asyncio.CancelledError:  # the server stops: so does its child
            child.kill()
            await child.wait()
            raise
        text = output.decode(errors="replace").strip()
        if child.returncode == 0:
            log.info("ring table refresh: %s", text.splitlines()[-1] if text else "done")
            await self.database.run(refresh_due, path=self.settings.resolved_ring_table,
                                    now=utc_now())  # publishes the new figures
            return True
        if child.returncode != BUSY_EXIT:
            raise UserError(f"`trueclout rings refresh` exited {child.returncode}: {text[-2000:]}")
        return False


# `trueclout rings refresh` exits with this when another refresh holds the lease.
BUSY_EXIT = 3
