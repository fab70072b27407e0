"""The stored tables, as SQLAlchemy 2 typed ORM classes.

The schema itself is owned by the Alembic revisions in ``service/migrations``;
these classes must match them (``tests/service/db/test_migrations.py`` checks).
Later tables (stored snapshots, trust-check reports, feedback) arrive as new
revisions and new classes here.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    and_,
    or_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

# JSON for portability; JSONB on PostgreSQL so analysts can query it.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; a time without a zone is taken as UTC (a bare date: its midnight)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL.

    SQLite has no time zones and hands back naive values; without this, times
    read from SQLite and PostgreSQL would compare and serialise differently.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


class Base(DeclarativeBase):
    pass


# ---------------------------------------------------------------------------------------------
# Paged lists, newest first (an account's history, the analysts' queue)


def encode_cursor(at: datetime, ident: int) -> str:
    """Where the next page starts: the time and id of the last row returned, opaque to clients."""
    raw = f"{at.isoformat()}|{ident}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Row ids are positive and fit the databases' 64-bit integers.
MAX_ROW_ID = 2**63 - 1


def decode_cursor(text: str) -> tuple[datetime, int]:
    """``encode_cursor``'s (time, id); ValueError for anything this service did not hand out.

    The time comes back in UTC and the id within a row id's range, so no forged cursor
    reaches the database with a value it cannot hold (an overflow there would be a 500).
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        when, _, ident_text = raw.partition("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None:
            raise ValueError("naive time")
        ident = int(ident_text)
        if not 0 < ident <= MAX_ROW_ID:
            raise ValueError("id out of range")
        return at.astimezone(UTC), ident
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise ValueError("is not a cursor returned by this endpoint") from exc


def newest_first(
    session: Session, query: Select[Any], *, at: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[int], limit: int, before: tuple[datetime, int] | None,
) -> tuple[list[Any], tuple[datetime, int] | None]:
    """One page of ``query`` by (``at``, ``ident``) descending, after ``before``; and the
    (time, id) the next page starts after (None: this is the last page)."""
    if before is not None:
        query = query.where(or_(at < before[0], and_(at == before[0], ident < before[1])))
    query = query.order_by(at.desc(), ident.desc())
    rows = list(session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, (getattr(last, at.key), getattr(last, ident.key))


class ApiKey(Base):
    """An API key; only its sha256 is stored, with a short prefix to recognise it by."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated scope names: few, fixed, and read together.
    scopes: Mapped[str] = mapped_column(String(100))
    rate_per_second: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class StoredAssessment(Base):
    """One assessment as returned to the caller: the audit record and a history point.

    ``body`` is the exact JSON the caller received; the other columns copy the
    parts history and analysts filter on.
    """

    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_account", "platform", "account_id", "scored_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raw_score: Mapped[float | None] = mapped_column(Float)
    adjusted_score: Mapped[float | None] = mapped_column(Float)
    risk_probability: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(16))
    risk_flag: Mapped[bool] = mapped_column(Boolean)
    tactics: Mapped[dict[str, float]] = mapped_column(PortableJSON)
    confidence_level: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
