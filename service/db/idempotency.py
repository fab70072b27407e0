"""Idempotency keys: a retried ``POST`` gets its first answer back instead of storing again.

A client that timed out cannot know whether its request was stored; with an
``Idempotency-Key`` it may simply retry.  The first answer is recorded in the
same transaction as what it stored (``record_answer``), keyed by (API key,
Idempotency-Key, route) under a unique constraint, so two concurrent
duplicates cannot both store: the second one's transaction fails on the
constraint, rolls back whole, and it answers with the first one's record.

Each record keeps the body's sha256 (the same key with another body is a
client error, not a replay) and the accounts its answer is about, so that
purging an account (``trueclout purge --account``) removes recorded answers
about it too.  Records expire after ``IDEMPOTENCY_TTL`` and are purged with
the other expired data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from trueclout.service.db.models import Base, UTCDateTime

# How long a retry is recognised: longer than any client's retry schedule.
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    """The first answer given to one (API key, Idempotency-Key, route)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key", "route",
                         name="uq_idempotency_keys_key_route"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    route: Mapped[str] = mapped_column(String(64))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[bytes] = mapped_column(LargeBinary)
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyAccount(Base):
    """An account a recorded answer is about (a batch's answer is about several)."""

    __tablename__ = "idempotency_accounts"
    __table_args__ = (Index("ix_idempotency_accounts_account", "platform", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("idempotency_keys.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(128))


@dataclass(frozen=True)
class IdempotencyClaim:
    """Who sent which key to which route, with what body."""

    api_key_id: int
    key: str
    route: str
    body_sha256: str


@dataclass(frozen=True)
class RecordedAnswer:
    status_code: int
    body: bytes
    location: str | None = None


class IdempotencyMismatch(Exception):
    """The key was used before with a different body."""


def find_answer(*, session: Session, claim: IdempotencyClaim, now: datetime
                ) -> RecordedAnswer | None:
    """The answer recorded for ``claim``'s key, unless none or expired; raises
    ``IdempotencyMismatch`` when that key came with another body."""
    row = session.execute(
        select(IdempotencyRecord.body_sha256, IdempotencyRecord.status_code,
               IdempotencyRecord.response, IdempotencyRecord.location,
               IdempotencyRecord.expires_at)
        .where(IdempotencyRecord.api_key_id == claim.api_key_id,
               IdempotencyRecord.idempotency_key == claim.key,
               IdempotencyRecord.route == claim.route)
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    if row.body_sha256 != claim.body_sha256:
        raise IdempotencyMismatch
    return RecordedAnswer(row.status_code, row.response, row.location)


def record_answer(*, session: Session, claim: IdempotencyClaim, answer: RecordedAnswer,
                  accounts: Iterable[tuple[str, str]], now: datetime) -> None:
    """Record the first answer, in the caller's transaction (the one that stores the work).

    An expired record of the same key is replaced.  A live one makes the insert fail
    on the unique constraint (IntegrityError), which rolls the caller's work back.
    """
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == claim.api_key_id,
        IdempotencyRecord.idempotency_key == claim.key,
        IdempotencyRecord.route == claim.route,
        IdempotencyRecord.expires_at <= now))
    record_id = session.execute(insert(IdempotencyRecord).values(
        api_key_id=claim.api_key_id, idempotency_key=claim.key, route=claim.route,
        body_sha256=claim.body_sha256, status_code=answer.status_code, response=answer.body,
        location=answer.location, created_at=now, expires_at=now + IDEMPOTENCY_TTL,
    ).returning(IdempotencyRecord.id)).scalar_one()
    rows = [{"record_id": record_id, "platform": platform, "account_id": account_id}
            for platform, account_id in dict.fromkeys(accounts)]
    if rows:
        session.execute(insert(IdempotencyAccount), rows)


def delete_expired_answers(*, session: Session, now: datetime) -> int:
    """Forget answers past their expiry; how many."""
    expired = select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= now)
    session.execute(delete(IdempotencyAccount).where(IdempotencyAccount.record_id.in_(expired)))
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(expired)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_account_answers(*, session: Session, platform: str, account_id: str) -> int:
    """Forget every recorded answer about one account (an account purge); how many."""
    about = select(IdempotencyAccount.record_id).where(
        IdempotencyAccount.platform == platform, IdempotencyAccount.account_id == account_id)
    ids = list(session.scalars(about))
    if not ids:
        return 0
    session.execute(delete(IdempotencyAccount).where(IdempotencyAccount.record_id.in_(ids)))
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
