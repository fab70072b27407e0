"""The graph of everything scored: each account's newest stored snapshot's edges.

Written by ``store_scored`` in the same transaction as the snapshot and its
assessment, so an acknowledged scoring never loses its edges.  One
``graph_sources`` row per (platform, account) holds the edges of the
snapshot it came from: its engagements (actor -> this account), its reposts
made (this account -> target), each deduplicated, and its post times (for
the prompt-engagement share).

Versions, decided here:

- the **same snapshot again** (same ``observed_at``, same edges) keeps its row
  and only extends ``expires_at``: re-scoring never duplicates edges and does
  not wake the refresher;
- a **newer snapshot** (``observed_at`` not earlier) replaces the account's row;
- an **older snapshot** (a backfill) leaves the newer one's edges in place.

Retention follows the snapshots': a source expires with the snapshot that
wrote it (``purge_expired``), an account purge deletes its source, and with
``TRUECLOUT_SNAPSHOT_RETENTION_DAYS=0`` nothing is kept.  Another account's
snapshot that names the purged account as an actor keeps that edge: it is
that other account's data, as its stored snapshot is.

**Packed, not one row per edge.**  A snapshot may hold 120,000 edges; a row
each would make a large scoring request insert that many rows, and the
refresher turn tens of millions of values into Python objects (about 3 s
per million rows through the drivers, measured).  Each source therefore
stores its edges column-wise in four binary columns, which the refresher
turns into Arrow arrays without a Python object per edge
(``unpack_sources``):

- ``ids``: the UTF-8 id strings, concatenated, in this order: engagement
  actors, engagement post ids, repost targets, repost post ids (empty: none),
  post ids;
- ``id_lengths``: each of those strings' byte length (uint16, little-endian);
- ``kinds``: each engagement's kind, an index into ``graph.build.KINDS`` (int8);
- ``times_us``: engagement times, repost times, post times, UTC microseconds
  (int64, little-endian);

with the counts in ``engagements``, ``reposts`` and ``posts``.

``ring_refresh_state`` is the refresher's lock row and its record of the last
refresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    BigInteger,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from trueclout.fast_contract import ScorableSnapshot
from trueclout.features.graph.build import KINDS, REPOST
from trueclout.service.db.models import Base, UTCDateTime
from trueclout.tables import aware_times

REFRESH_JOB = "ring_table"


class GraphSource(Base):
    """The edges of an account's newest stored snapshot, packed (see the module docstring)."""

    __tablename__ = "graph_sources"
    __table_args__ = (
        UniqueConstraint("platform", "account_id", name="uq_graph_sources_account"),
        Index("ix_graph_sources_expires_at", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(128))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    digest: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    engagements: Mapped[int] = mapped_column(Integer)
    reposts: Mapped[int] = mapped_column(Integer)
    posts: Mapped[int] = mapped_column(Integer)
    ids: Mapped[bytes] = mapped_column(LargeBinary)
    id_lengths: Mapped[bytes] = mapped_column(LargeBinary)
    kinds: Mapped[bytes] = mapped_column(LargeBinary)
    times_us: Mapped[bytes] = mapped_column(LargeBinary)


class RingRefreshState(Base):
    """The refresher's lease (``holder`` until ``lease_until``) and its last completed refresh."""

    __tablename__ = "ring_refresh_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature: Mapped[str | None] = mapped_column(String(200))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    accounts: Mapped[int | None] = mapped_column(Integer)
    edges: Mapped[int | None] = mapped_column(BigInteger)


# ---------------------------------------------------------------------------------------------
# What a snapshot contributes


_KIND_CODES = {name: code for code, name in enumerate(KINDS)}


def _micros_many(times: Sequence[datetime]) -> list[int]:
    """Aware times (as the contract parsed them) in UTC microseconds (``aware_times``:
    1,200 engagement times in about 0.1 ms)."""
    return aware_times(times).cast(pa.int64()).to_pylist() if times else []


@dataclass(frozen=True)
class SnapshotGraph:
    """The edges and post times of one snapshot, deduplicated: (ids..., µs) tuples."""

    platform: str
    account_id: str
    observed_at: datetime
    engagements: list[tuple[str, str, int, int]]  # actor, post, kind code, at
    reposts: list[tuple[str, str | None, int]]  # target, post, at
    posts: list[tuple[str, int]]  # post, created

    @classmethod
    def of(cls, snapshot: ScorableSnapshot) -> SnapshotGraph:
        """From a snapshot the contract accepted: the pydantic model or the decoded Struct
        the API scored (read by attribute, so the body is not parsed again)."""
        engagements, reposts, posts = snapshot.engagements, snapshot.reposts_made, snapshot.posts
        return cls(
            snapshot.platform, snapshot.account_id, snapshot.observed_at,
            list(dict.fromkeys(zip([e.actor_id for e in engagements],
                                   [e.post_id for e in engagements],
                                   [_KIND_CODES[e.kind] for e in engagements],
                                   _micros_many([e.at for e in engagements]), strict=True))),
            list(dict.fromkeys(zip([r.target_account_id for r in reposts],
                                   [r.post_id for r in reposts],
                                   _micros_many([r.at for r in reposts]), strict=True))),
            list(dict.fromkeys(zip([p.post_id for p in posts],
                                   _micros_many([p.created_at for p in posts]), strict=True))))

    @property
    def n_edges(self) -> int:
        return len(self.engagements) + len(self.reposts)

    def packed(self) -> dict[str, Any]:
        """The four binary columns and three counts of its ``graph_sources`` row."""
        strings = ([e[0] for e in self.engagements] + [e[1] for e in self.engagements]
                   + [r[0] for r in self.reposts] + [r[1] or "" for r in self.reposts]
                   + [p[0] for p in self.posts])
        # Arrow encodes them as UTF-8 back to back: its data buffer is the ids column and
        # the differences of its offsets the lengths (ids are at most MAX_ID bytes).
        column = pa.array(strings, pa.string())
        offsets = np.frombuffer(column.buffers()[1], dtype=np.int32, count=len(strings) + 1)
        ids = column.buffers()[2]
        times = ([e[3] for e in self.engagements] + [r[2] for r in self.reposts]
                 + [p[1] for p in self.posts])
        return {
            "engagements": len(self.engagements), "reposts": len(self.reposts),
            "posts": len(self.posts),
            "ids": ids.to_pybytes()[:int(offsets[-1])] if ids is not None else b"",
            "id_lengths": np.diff(offsets).astype("<u2").tobytes(),
            "kinds": np.array([e[2] for e in self.engagements], dtype=np.int8).tobytes(),
            "times_us": np.array(times, dtype="<i8").tobytes(),
        }


def store_snapshot_edges(*, session: Session, graphs: Sequence[SnapshotGraph],
                         stored_at: datetime, expires_at: datetime) -> None:
    """Add each snapshot's edges in the caller's transaction (the one storing the snapshots).

    Accounts are taken in one order (platform, id), so two concurrent batches
    lock their rows in the same order and cannot deadlock on PostgreSQL.
    """
    for graph in sorted(graphs, key=lambda g: (g.platform, g.account_id)):
        _store_one(session, graph, stored_at, expires_at)


def _store_one(session: Session, graph: SnapshotGraph, stored_at: datetime,
               expires_at: datetime) -> None:
    # Core statements on the session's connection: the ORM's bulk machinery costs about
    # 0.15 ms per statement here, and nothing reads these rows back as objects.
    connection, table = session.connection(), _SOURCES
    packed = graph.packed()
    digest = hashlib.sha256(b"".join(
        packed[c] for c in ("ids", "id_lengths", "kinds", "times_us"))).hexdigest()
    # Two attempts: a concurrent transaction may insert the account's row between our
    # look-up and our insert (PostgreSQL); the second look-up then waits for it and sees it.
    for _ in range(2):
        current = connection.execute(
            select(table.c.id, table.c.observed_at, table.c.digest, table.c.expires_at)
            .where(table.c.platform == graph.platform, table.c.account_id == graph.account_id)
            .with_for_update()).one_or_none()
        if current is not None:
            if current.observed_at > graph.observed_at:
                return  # an older snapshot: the newer one's edges stay
            if current.digest == digest:
                connection.execute(update(table).where(table.c.id == current.id)
                                   .values(expires_at=max(current.expires_at, expires_at)))
                return
            # Deleted and inserted anew (not updated): a new id tells the refresher.
            connection.execute(delete(table).where(table.c.id == current.id))
        if _insert_source(connection, {
                "platform": graph.platform, "account_id": graph.account_id,
                "observed_at": graph.observed_at, "digest": digest, "stored_at": stored_at,
                "expires_at": expires_at, **packed}):
            return
    raise RuntimeError(  # pragma: no cover - a third writer of the account, same instant
        f"graph source {graph.platform}:{graph.account_id} kept changing")


_SOURCES = GraphSource.__table__


def _insert_source(connection: Connection, values: dict[str, Any]) -> bool:
    """Insert unless the account's row exists (then False), on SQLite and PostgreSQL alike."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = (dialect_insert(_SOURCES).values(**values)
                 .on_conflict_do_nothing(index_elements=["platform", "account_id"])
                 .returning(_SOURCES.c.id))
    return connection.execute(statement).scalar_one_or_none() is not None


def delete_expired_sources(*, session: Session, now: datetime, batch: int) -> int:
    """One batch of retention: sources whose snapshot expired, with their edges."""
    ids = select(GraphSource.id).where(GraphSource.expires_at <= now).limit(batch)
    result = session.execute(delete(GraphSource).where(GraphSource.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_account_sources(*, session: Session, platform: str, account_id: str) -> int:
    """The account's own edges (from its snapshots), for a purge on request."""
    result = session.execute(delete(GraphSource).where(
        GraphSource.platform == platform, GraphSource.account_id == account_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# What the refresher reads


def store_signature(connection: Connection | Session) -> str:
    """Changes whenever the set of sources does (ids are never reused): count, max, sum."""
    count, top, total = connection.execute(
        select(func.count(), func.max(GraphSource.id), func.sum(GraphSource.id))).one()
    return f"{count}:{top or 0}:{total or 0}"


def source_id_range(connection: Connection) -> tuple[int, int]:
    """The smallest and largest source id (0, -1 when empty): for partitioning the read."""
    low, high = connection.execute(select(func.min(GraphSource.id), func.max(GraphSource.id))
                                   ).one()
    return (int(low), int(high)) if low is not None else (0, -1)


_PACKED = "account_id, engagements, reposts, posts, ids, id_lengths, kinds, times_us"


def iter_source_rows(connection: Connection, *, chunk_edges: int,
                     sources: tuple[int, int] | None = None) -> Iterator[list[tuple]]:
    """Packed source rows in lists holding about ``chunk_edges`` edges each.

    The driver's own cursor (a server-side cursor on PostgreSQL), so rows
    stream; ``sources`` limits the read to a range of source ids.
    """
    raw = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    sql = f"SELECT {_PACKED} FROM graph_sources"
    if sources is not None:
        sql += " WHERE id BETWEEN %s AND %s" if postgres else " WHERE id BETWEEN ? AND ?"
    # A named cursor is PostgreSQL's server-side cursor: rows arrive batch by batch.
    cursor = raw.cursor(name="trueclout_graph_read") if postgres else raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, sources or ())
        chunk: list[tuple] = []
        edges = 0
        while rows := cursor.fetchmany(1_000):
            for row in rows:
                chunk.append(row)
                edges += row[1] + row[2] + row[3]
                if edges >= chunk_edges:
                    yield chunk
                    chunk, edges = [], 0
        if chunk:
            yield chunk
    finally:
        cursor.close()


@dataclass(frozen=True)
class EdgeColumns:
    """Unpacked sources: the arguments of ``features.graph.ingest.edge_part_from_columns``."""

    actor: pa.Array
    target: pa.Array
    post: pa.Array
    kind: np.ndarray
    at: np.ndarray
    post_owner: pa.Array
    post_id: pa.Array
    created: np.ndarray


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _section(base: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices ``base[i] .. base[i] + counts[i] - 1`` of every row i, concatenated."""
    return np.repeat(base, counts) + _ranks(counts)


def unpack_sources(rows: Sequence[tuple]) -> EdgeColumns:
    """Rows of ``iter_source_rows`` as edge columns, without a Python object per edge."""
    account = pa.array([r[0] for r in rows], pa.string())
    eng, rep, posts = (np.array([r[i] for r in rows], dtype=np.int64) for i in (1, 2, 3))
    data = np.frombuffer(b"".join(bytes(r[4]) for r in rows), dtype=np.uint8)
    lengths = np.frombuffer(b"".join(bytes(r[5]) for r in rows), dtype="<u2").astype(np.int64)
    kinds = np.frombuffer(b"".join(bytes(r[6]) for r in rows), dtype=np.int8)
    times = np.frombuffer(b"".join(bytes(r[7]) for r in rows), dtype="<i8")
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    strings = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets),
                                               pa.py_buffer(data))
    per_row = 2 * eng + 2 * rep + posts
    base = np.cumsum(per_row) - per_row
    timed = eng + rep + posts
    tbase = np.cumsum(timed) - timed
    row = np.arange(len(rows))

    def take(indices: np.ndarray) -> pa.Array:
        return strings.take(pa.array(indices, pa.int64())).cast(pa.string())

    repost_post = take(_section(base + 2 * eng + rep, rep))
    repost_post = pc.if_else(pc.greater(pc.binary_length(repost_post), 0), repost_post,
                             pa.scalar(None, pa.string()))
    return EdgeColumns(
        actor=pa.concat_arrays([take(_section(base, eng)),
                                account.take(pa.array(np.repeat(row, rep)))]),
        target=pa.concat_arrays([account.take(pa.array(np.repeat(row, eng))),
                                 take(_section(base + 2 * eng, rep))]),
        post=pa.concat_arrays([take(_section(base + eng, eng)), repost_post]),
        kind=np.concatenate([kinds, np.full(int(rep.sum()), REPOST, dtype=np.int8)]),
        at=np.concatenate([times[_section(tbase, eng)], times[_section(tbase + eng, rep)]]),
        post_owner=account.take(pa.array(np.repeat(row, posts))),
        post_id=take(_section(base + 2 * eng + 2 * rep, posts)),
        created=times[_section(tbase + eng + rep, posts)],
    )


# ---------------------------------------------------------------------------------------------
# The refresher's lease


@dataclass(frozen=True)
class RefreshRecord:
    """What a completed refresh read and wrote, kept in ``ring_refresh_state``."""

    signature: str
    refreshed_at: datetime
    duration_seconds: float
    accounts: int
    edges: int


def take_lease(*, session: Session, holder: str, now: datetime, lease: timedelta) -> bool:
    """Become the refresher until ``now + lease`` unless another holder's lease is running.

    One compare-and-set ``UPDATE``: atomic on SQLite (one writer) and on
    PostgreSQL (a second ``UPDATE`` waits for the first and re-checks the row).
    Taking a lease you hold renews it.
    """
    state = RingRefreshState
    result = session.execute(
        update(state).where(state.name == REFRESH_JOB)
        .where((state.holder.is_(None)) | (state.lease_until <= now) | (state.holder == holder))
        .values(holder=holder, lease_until=now + lease))
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    # The row is made by the migration; recreate it if someone deleted it.
    exists = session.scalar(select(func.count()).select_from(state)
                            .where(state.name == REFRESH_JOB))
    if not exists:
        session.add(RingRefreshState(name=REFRESH_JOB, holder=holder, lease_until=now + lease))
        return True
    return False


def release_lease(*, session: Session, holder: str, record: RefreshRecord | None) -> None:
    """Give the lease up; with a ``record``, note the refresh that just completed."""
    values: dict[str, Any] = {"holder": None, "lease_until": None}
    if record is not None:
        values.update(signature=record.signature, refreshed_at=record.refreshed_at,
                      duration_seconds=record.duration_seconds, accounts=record.accounts,
                      edges=record.edges)
    session.execute(update(RingRefreshState)
                    .where(RingRefreshState.name == REFRESH_JOB,
                           RingRefreshState.holder == holder).values(**values))


def refresh_state(*, session: Session) -> RingRefreshState | None:
    """The lock row as it is now (detached: safe to read after the session closes)."""
    row = session.get(RingRefreshState, REFRESH_JOB)
    if row is not None:
        session.expunge(row)
    return row
