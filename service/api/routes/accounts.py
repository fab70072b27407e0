"""An account's score trajectory: ``GET /v1/accounts/{platform}/{account_id}/history``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from trueclout.assessment import ModelRef, Risk, Tactics
from trueclout.contract import MAX_ID, Platform
from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import MAX_PAGE, BeforeParam, HistoryKey, SessionDep, page_cursor
from trueclout.service.api.schemas import HistoryPage, ScorePoint, error_responses
from trueclout.service.db.assessments import HistoryCursor, account_history
from trueclout.service.db.models import StoredAssessment

router = APIRouter(prefix=API_PREFIX, tags=["accounts"])


def _point(row: StoredAssessment) -> ScorePoint:
    return ScorePoint(
        assessment_id=row.assessment_id,
        scored_at=row.scored_at,
        raw_score=row.raw_score,
        adjusted_score=row.adjusted_score,
        risk=Risk(probability=row.risk_probability, level=row.risk_level, flag=row.risk_flag),
        tactics=Tactics(**row.tactics),
        confidence_level=row.confidence_level,
        model=ModelRef(name=row.model_name, version=row.model_version),
    )


@router.get(
    "/accounts/{platform}/{account_id}/history",
    response_model=HistoryPage,
    summary="The account's stored assessments, newest first",
    responses=error_responses(401, 403, 422, 429, 503),
)
def history(
    key: HistoryKey,
    session: SessionDep,
    platform: Platform,
    account_id: Annotated[str, Path(min_length=1, max_length=MAX_ID)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Points per page.")] = 50,
    before: BeforeParam = None,
) -> HistoryPage:
    """Newest first; follow `next_cursor` (as `before`) for older points until it is null.

    A key with the `analyst` scope sees every stored assessment of the account;
    a `platform` key sees the ones it stored itself.  An account never scored
    has an empty history, not a 404.
    """
    rows, next_cursor = account_history(
        session=session, platform=platform, account_id=account_id, limit=limit,
        before=page_cursor(before, HistoryCursor.decode),
        api_key_id=None if "analyst" in key.scopes else key.id,
    )
    return HistoryPage(platform=platform, account_id=account_id,
                       points=[_point(r) for r in rows],
                       next_cursor=next_cursor.encode() if next_cursor else None)
