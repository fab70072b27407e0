"""Stored assessments: the audit record of every stored score and each account's trajectory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trueclout.assessment import Assessment
from trueclout.service.db.models import (
    StoredAssessment,
    decode_cursor,
    encode_cursor,
    newest_first,
)


def store_assessments(
    *, session: Session, items: Sequence[tuple[Assessment, str]], api_key_id: int | None
) -> None:
    """Insert each (assessment, the exact JSON returned for it) in the caller's transaction.

    A Core insert rather than ORM objects: nothing reads the rows back here,
    and it costs about a quarter less CPU per request.
    """
    rows = [
        {
            "assessment_id": a.assessment_id,
            "account_id": a.account_id,
            "platform": a.platform,
            "scored_at": a.scored_at,
            "raw_score": a.raw_score,
            "adjusted_score": a.adjusted_score,
            "risk_probability": a.risk.probability,
            "risk_level": a.risk.level,
            "risk_flag": a.risk.flag,
            "tactics": a.tactics.model_dump(),
            "confidence_level": a.confidence.level,
            "model_name": a.model.name,
            "model_version": a.model.version,
            "body": body,
            "api_key_id": api_key_id,
        }
        for a, body in items
    ]
    if rows:
        session.execute(insert(StoredAssessment.__table__), rows)


@dataclass(frozen=True)
class HistoryCursor:
    """Where the next page starts: the last point returned (newest-first order)."""

    scored_at: datetime
    id: int

    def encode(self) -> str:
        return encode_cursor(self.scored_at, self.id)

    @classmethod
    def decode(cls, text: str) -> HistoryCursor:
        """Raises ValueError for anything this service did not hand out."""
        return cls(*decode_cursor(text))


def account_history(
    *,
    session: Session,
    platform: str,
    account_id: str,
    limit: int,
    before: HistoryCursor | None = None,
    api_key_id: int | None = None,
) -> tuple[list[StoredAssessment], HistoryCursor | None]:
    """One page of an account's stored assessments, newest first, and the next page's cursor.

    ``api_key_id`` restricts the trajectory to what that key stored (None: everything).
    """
    query = select(StoredAssessment).where(
        StoredAssessment.platform == platform, StoredAssessment.account_id == account_id
    )
    if api_key_id is not None:
        query = query.where(StoredAssessment.api_key_id == api_key_id)
    rows, last = newest_first(
        session, query, at=StoredAssessment.scored_at, ident=StoredAssessment.id, limit=limit,
        before=None if before is None else (before.scored_at, before.id))
    return rows, None if last is None else HistoryCursor(*last)
