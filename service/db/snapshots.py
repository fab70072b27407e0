"""Scored snapshots: the snapshot behind each stored assessment, kept for a retention period.

Written in the same transaction as the assessment it produced (``store_scored``),
so an assessment id that a platform received always has its snapshot until
``expires_at``.  Read back by trust checks given an ``assessment_id`` and, later,
by analysts' exports.  The table is built for the jobs that follow: purging
after retention (index on ``expires_at``), purging one account on request
(index on platform and account), exporting (``content_encoding`` says how to
decode ``snapshot``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
import zstandard
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from trueclout.assessment import Assessment
from trueclout.fast_contract import ScorableSnapshot
from trueclout.service.db.assessments import store_assessments
from trueclout.service.db.edges import SnapshotGraph, store_snapshot_edges
from trueclout.service.db.models import Base, UTCDateTime

# zstd at level 1: the 148 KiB benchmark snapshot becomes 10 KiB in 0.12 ms, where
# zlib at level 1 (the encoding until 2026-12-07, still read) made 18 KiB in 0.39 ms
# and took 0.64 ms to read back against zstd's 0.05.  It runs in the database thread,
# off the event loop.
ENCODING = "zstd"
COMPRESSION_LEVEL = 1
# Rows stored before or since the switch say which decoder reads them.  zstandard's
# one-shot functions make a context per call (about 0.02 ms): safe across the
# database threads, where a shared (de)compressor is not.
_DECODERS: dict[str, Callable[[bytes], bytes]] = {"zstd": zstandard.decompress,
                                                  "zlib": zlib.decompress}


class ScoredSnapshot(Base):
    """The snapshot one stored assessment was computed from, compressed JSON."""

    __tablename__ = "scored_snapshots"
    __table_args__ = (
        Index("ix_scored_snapshots_account", "platform", "account_id"),
        Index("ix_scored_snapshots_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Deleting an assessment deletes its snapshot; purging snapshots keeps the assessments.
    assessment_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("assessments.assessment_id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_encoding: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)


def encode_snapshot(document: bytes | Any) -> tuple[bytes, int]:
    """(compressed bytes, uncompressed size) of a snapshot given as JSON bytes or a JSON value."""
    raw = document if isinstance(document, bytes) else orjson.dumps(document)
    return zstandard.compress(raw, level=COMPRESSION_LEVEL), len(raw)


def decode_snapshot(data: bytes, encoding: str) -> bytes:
    """The snapshot's JSON bytes, as they were stored."""
    decoder = _DECODERS.get(encoding)
    if decoder is None:
        raise ValueError(f"unknown snapshot encoding {encoding!r}")
    return decoder(data)


def store_scored(
    *,
    session: Session,
    items: Sequence[tuple[Assessment, str]],
    documents: Sequence[bytes | Any],
    snapshots: Sequence[ScorableSnapshot],
    api_key_id: int | None,
    stored_at: datetime,
    retention_days: int,
) -> None:
    """Store assessments and, unless retention is 0, the snapshot of each and its edges
    (``db.edges``), in one transaction.

    ``snapshots[i]`` is the snapshot ``items[i]`` was computed from, as validated (its
    edges are read off it), and ``documents[i]`` the same snapshot as the JSON bytes
    received or a parsed JSON value (stored, encoded here, off the event loop).
    """
    if not len(items) == len(documents) == len(snapshots):
        raise ValueError("one snapshot and its document per assessment are needed")
    store_assessments(session=session, items=items, api_key_id=api_key_id)
    if retention_days <= 0 or not items:
        return
    expires_at = stored_at + timedelta(days=retention_days)
    rows = []
    for (assessment, _), document in zip(items, documents, strict=True):
        data, size = encode_snapshot(document)
        rows.append({
            "assessment_id": assessment.assessment_id,
            "account_id": assessment.account_id,
            "platform": assessment.platform,
            "stored_at": stored_at,
            "expires_at": expires_at,
            "content_encoding": ENCODING,
            "size_bytes": size,
            "snapshot": data,
            "api_key_id": api_key_id,
        })
    session.execute(insert(ScoredSnapshot.__table__), rows)
    # The graph of everything scored (for the ring refresher), in the same transaction.
    graphs = [SnapshotGraph.of(snapshot) for snapshot in snapshots]
    store_snapshot_edges(session=session, graphs=graphs, stored_at=stored_at,
                         expires_at=expires_at)


@dataclass(frozen=True)
class SnapshotLookup:
    """What ``find_scored_snapshot`` found: the JSON when it is still kept, else why not."""

    status: Literal["found", "expired", "unknown"]
    snapshot_json: bytes | None = None
    expires_at: datetime | None = None


def find_scored_snapshot(*, session: Session, assessment_id: str, now: datetime) -> SnapshotLookup:
    """The snapshot behind ``assessment_id``, unless it is unknown or past its retention."""
    row = session.execute(
        select(ScoredSnapshot.snapshot, ScoredSnapshot.content_encoding,
               ScoredSnapshot.expires_at)
        .where(ScoredSnapshot.assessment_id == assessment_id)
    ).one_or_none()
    if row is None:
        return SnapshotLookup("unknown")
    if row.expires_at <= now:
        return SnapshotLookup("expired", expires_at=row.expires_at)
    return SnapshotLookup("found", decode_snapshot(row.snapshot, row.content_encoding),
                          row.expires_at)


def latest_per_account(*, session: Session, since: datetime, now: datetime,
                       limit: int) -> list[Any]:
    """The newest kept snapshot of each account stored since ``since``, newest first, at most
    ``limit`` accounts; rows of (platform, account_id, snapshot, content_encoding)."""
    query = (select(ScoredSnapshot.platform, ScoredSnapshot.account_id,
                    ScoredSnapshot.snapshot, ScoredSnapshot.content_encoding)
             .where(ScoredSnapshot.stored_at >= since, ScoredSnapshot.expires_at > now)
             .order_by(ScoredSnapshot.stored_at.desc(), ScoredSnapshot.id.desc()))
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in session.execute(query.execution_options(yield_per=500)):
        key = (row.platform, row.account_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows
