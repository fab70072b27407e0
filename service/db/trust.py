"""Trust-check reports: stored once, read by their unguessable id until they expire.

``body`` is the exact JSON the recruiter received (``TrustReport``); the other
columns copy what operators filter on (expiry for purging, the key that asked,
the model that judged).  A report holds only what its page shows: the verdict,
scores, reasons and the follower-growth series, never the whole snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Float, ForeignKey, Index, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from trueclout.service.db.models import Base, UTCDateTime


class StoredTrustReport(Base):
    """One trust-check report as returned to the recruiter."""

    __tablename__ = "trust_reports"
    __table_args__ = (Index("ix_trust_reports_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(128))
    handle: Mapped[str] = mapped_column(String(128))
    claimed_score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(32))
    assessment_id: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)


@dataclass(frozen=True)
class NewTrustReport:
    """The columns of a report about to be stored (``body`` is its JSON)."""

    report_id: str
    created_at: datetime
    expires_at: datetime
    platform: str
    account_id: str
    handle: str
    claimed_score: float
    verdict: str
    assessment_id: str
    model_name: str
    model_version: str
    body: str


def store_trust_report(*, session: Session, report: NewTrustReport,
                       api_key_id: int | None) -> None:
    """Insert one report in the caller's transaction."""
    session.execute(insert(StoredTrustReport),
                    [{**report.__dict__, "api_key_id": api_key_id}])


@dataclass(frozen=True)
class ReportLookup:
    """What ``find_trust_report`` found: the body while the report lives, else why not."""

    status: Literal["found", "expired", "unknown"]
    body: str | None = None
    expires_at: datetime | None = None


def find_trust_report(*, session: Session, report_id: str, now: datetime) -> ReportLookup:
    """The report's JSON unless no report has this id or it expired."""
    row = session.execute(
        select(StoredTrustReport.body, StoredTrustReport.expires_at)
        .where(StoredTrustReport.report_id == report_id)
    ).one_or_none()
    if row is None:
        return ReportLookup("unknown")
    if row.expires_at <= now:
        return ReportLookup("expired", expires_at=row.expires_at)
    return ReportLookup("found", row.body, row.expires_at)


def delete_expired_trust_reports(*, session: Session, now: datetime) -> int:
    """Delete every report past its expiry; the number deleted (for a scheduled purge)."""
    result = session.execute(delete(StoredTrustReport)
                             .where(StoredTrustReport.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
