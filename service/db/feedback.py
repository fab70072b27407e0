"""The analysts' queue: feedback labels and disputes in one table, and the purge log.

A **label** is an analyst's judgement of an assessed account (confirmed
manipulation with its tactics, false positive, confirmed genuine); a
**dispute** is a person's objection to a trust-check verdict, sent from the
report page.  Both are reviewed in the same queue, with the same statuses:
``open`` until an analyst decides, then ``upheld`` or ``rejected``.  A label
counts for training from the moment it is filed and until it is rejected.

``purge_log`` keeps one row per purge with the number of rows removed from
each table, never whose data it was.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from trueclout.service.db.models import (
    Base,
    PortableJSON,
    StoredAssessment,
    UTCDateTime,
    decode_cursor,
    encode_cursor,
    newest_first,
)

KINDS = ("label", "dispute")
STATUSES = ("open", "upheld", "rejected")
LABELS = ("confirmed_manipulation", "false_positive", "confirmed_genuine")
# Item ids are public handles (API paths, a dispute's receipt page): random, not counters.
ITEM_ID_BYTES = 12


class FeedbackItem(Base):
    """One label or dispute in the analysts' queue."""

    __tablename__ = "feedback_items"
    __table_args__ = (
        Index("ix_feedback_items_account", "platform", "account_id"),
        Index("ix_feedback_items_queue", "kind", "status", "created_at"),
        Index("ix_feedback_items_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(32))
    tactics: Mapped[list[str] | None] = mapped_column(PortableJSON)
    # The analyst's note on a label; the person's statement on a dispute.
    note: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(128))
    assessment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    report_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The dispute a label was created from, when an analyst upheld it.
    derived_from: Mapped[str | None] = mapped_column(String(32), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # A public dispute's sha256 of (report id, client address): one open dispute per
    # connection and report, never matchable across reports (migration 0005).
    filer_digest: Mapped[str | None] = mapped_column(String(64))


class PurgeRecord(Base):
    """What one purge removed (counts per table), when, and who asked; never whose data."""

    __tablename__ = "purge_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, int]] = mapped_column(PortableJSON)
    requested_by: Mapped[str] = mapped_column(String(200))


def new_item_id() -> str:
    return "fb_" + secrets.token_urlsafe(ITEM_ID_BYTES)


# ---------------------------------------------------------------------------------------------
# Assessed accounts


def assessment_account(*, session: Session, assessment_id: str) -> tuple[str, str] | None:
    """(platform, account_id) of a stored assessment, or None when no assessment has this id."""
    row = session.execute(
        select(StoredAssessment.platform, StoredAssessment.account_id)
        .where(StoredAssessment.assessment_id == assessment_id)
    ).one_or_none()
    return None if row is None else (row.platform, row.account_id)


def latest_assessment_id(*, session: Session, platform: str, account_id: str) -> str | None:
    """The account's most recent stored assessment (what an analyst labelling it has seen)."""
    return session.scalar(
        select(StoredAssessment.assessment_id)
        .where(StoredAssessment.platform == platform, StoredAssessment.account_id == account_id)
        .order_by(StoredAssessment.scored_at.desc(), StoredAssessment.id.desc())
        .limit(1))


# ---------------------------------------------------------------------------------------------
# Writing


def insert_item(*, session: Session, **columns: Any) -> FeedbackItem:
    """Add one item (``created_at`` also sets ``updated_at``) in the caller's transaction."""
    columns.setdefault("item_id", new_item_id())
    columns.setdefault("updated_at", columns["created_at"])
    item = FeedbackItem(**columns)
    session.add(item)
    session.flush()
    return item


def get_item(*, session: Session, item_id: str, for_update: bool = False) -> FeedbackItem | None:
    query = select(FeedbackItem).where(FeedbackItem.item_id == item_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def open_disputes_of_report(*, session: Session, report_id: str, **match: Any) -> int:
    """Open disputes of a report; ``match``: column values they must also have (None: NULL)."""
    query = (select(func.count()).select_from(FeedbackItem)
             .where(FeedbackItem.kind == "dispute", FeedbackItem.report_id == report_id,
                    FeedbackItem.status == "open"))
    for column, value in match.items():
        field = getattr(FeedbackItem, column)
        query = query.where(field.is_(None) if value is None else field == value)
    return session.scalar(query) or 0


def labels_derived_from(*, session: Session, item_id: str) -> list[FeedbackItem]:
    return list(session.scalars(select(FeedbackItem).where(FeedbackItem.derived_from == item_id)))


# ---------------------------------------------------------------------------------------------
# Listing


@dataclass(frozen=True)
class QueueCursor:
    """Where the next page starts: the last item returned (newest first)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return encode_cursor(self.created_at, self.id)

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """Raises ValueError for anything this service did not hand out."""
        return cls(*decode_cursor(text))


@dataclass(frozen=True)
class QueueFilter:
    """Which items to list; None means any."""

    kind: str | None = None
    label: str | None = None
    status: str | None = None
    since: datetime | None = None
    platform: str | None = None
    account_id: str | None = None

    def apply(self, query: Any) -> Any:
        conditions = [
            (self.kind, FeedbackItem.kind), (self.label, FeedbackItem.label),
            (self.status, FeedbackItem.status), (self.platform, FeedbackItem.platform),
            (self.account_id, FeedbackItem.account_id),
        ]
        for value, column in conditions:
            if value is not None:
                query = query.where(column == value)
        if self.since is not None:
            query = query.where(FeedbackItem.created_at >= self.since)
        return query


def list_items(
    *, session: Session, where: QueueFilter, limit: int, before: QueueCursor | None = None
) -> tuple[list[FeedbackItem], QueueCursor | None]:
    """One page of the queue, newest first, and the cursor of the next page (None: last page)."""
    rows, last = newest_first(
        session, where.apply(select(FeedbackItem)), at=FeedbackItem.created_at,
        ident=FeedbackItem.id, limit=limit,
        before=None if before is None else (before.created_at, before.id))
    return rows, None if last is None else QueueCursor(*last)


def labels_since(*, session: Session, since: datetime | None) -> list[FeedbackItem]:
    """Every label not rejected, filed since ``since``, oldest first (export order)."""
    query = select(FeedbackItem).where(FeedbackItem.kind == "label",
                                       FeedbackItem.status != "rejected")
    if since is not None:
        query = query.where(FeedbackItem.created_at >= since)
    return list(session.scalars(query.order_by(FeedbackItem.created_at, FeedbackItem.id)))
