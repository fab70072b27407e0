"""The analysts' queue: ``/v1/feedback`` (labels and disputes), with the ``analyst`` scope.

- ``POST /v1/feedback``: file a label on an assessed account (201, ``Location``).
- ``GET /v1/feedback``: the queue, newest first, filtered and paged.
- ``GET /v1/feedback/{item_id}``: one label or dispute.
- ``PATCH /v1/feedback/{item_id}``: decide it (open, upheld, rejected).

Disputes arrive from the report pages (``routes/disputes.py``) and are listed
here with ``kind=dispute``.  The rules live in ``service/analysts/feedback.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from trueclout.contract import MAX_ID, Platform
from trueclout.files import utc_now
from trueclout.service.analysts.feedback import (
    FeedbackCreate,
    FeedbackItemOut,
    FeedbackPage,
    FeedbackUpdate,
    Kind,
    LabelName,
    Status,
    file_label,
    find_item,
    item_out,
    not_found,
    review_item,
)
from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import DatabaseDep, SessionDep, require_scope
from trueclout.service.api.schemas import error_responses
from trueclout.service.db.feedback import QueueCursor, QueueFilter, list_items
from trueclout.service.db.keys import KeyInfo
from trueclout.service.runtime.errors import ApiError, invalid_snapshot

router = APIRouter(prefix=API_PREFIX, tags=["feedback"])

AnalystKey = Annotated[KeyInfo, Depends(require_scope("analyst"))]
MAX_PAGE = 500
_ITEM_ID = re.compile(r"^fb_[A-Za-z0-9_-]{8,29}$")
ItemId = Annotated[str, Path(max_length=32, description="The item's `id`.")]


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
          ) -> Response:
    return Response(model.model_dump_json(), status_code=status,
                    media_type="application/json", headers=headers)


async def _parse(request: Request, model: type[BaseModel], what: str) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise invalid_snapshot(exc, what=what) from None


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackItemOut,
    summary="File a label on an assessed account",
    responses=error_responses(400, 401, 403, 404, 413, 422, 429, 503),
    openapi_extra=_body_schema(FeedbackCreate),
)
async def create_feedback(request: Request, key: AnalystKey, database: DatabaseDep) -> Response:
    """A confirmed manipulation (with its tactics), a false positive or a confirmed genuine
    account, on a stored assessment (`assessment_id`) or an assessed account (`platform` +
    `account_id`: its latest stored assessment).  Stored with the key that filed it."""
    body: FeedbackCreate = await _parse(request, FeedbackCreate, "feedback")
    item = await database.run(file_label, request=body, api_key_id=key.id, now=utc_now())
    return _json(item, 201, headers={"Location": item.links.self})


def _since(value: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (a bare date is its midnight)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get(
    "/feedback",
    response_model=FeedbackPage,
    summary="The analysts' queue of labels and disputes, newest first",
    responses=error_responses(401, 403, 422, 429, 503),
)
def list_feedback(
    key: AnalystKey,
    session: SessionDep,
    kind: Annotated[Kind | None, Query(description="label or dispute.")] = None,
    label: Annotated[LabelName | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    since: Annotated[datetime | None, Query(
        description="Filed at or after this time (RFC 3339, or a date: its midnight UTC).")]
    = None,
    platform: Annotated[Platform | None, Query()] = None,
    account_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    before: Annotated[str | None, Query(
        max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> FeedbackPage:
    """Follow `next_cursor` (as `before`) for older items until it is null."""
    cursor = None
    if before is not None:
        try:
            cursor = QueueCursor.decode(before)
        except ValueError as exc:
            raise ApiError(422, "invalid cursor", details=[
                {"field": "query.before", "reason": str(exc), "type": "cursor"}]) from None
    where = QueueFilter(kind=kind, label=label, status=status, since=_since(since),
                        platform=platform, account_id=account_id)
    rows, next_cursor = list_items(session=session, where=where, limit=limit, before=cursor)
    return FeedbackPage(items=[item_out(r) for r in rows],
                        next_cursor=next_cursor.encode() if next_cursor else None)


@router.get(
    "/feedback/{item_id}",
    response_model=FeedbackItemOut,
    summary="One label or dispute",
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
def get_feedback(key: AnalystKey, session: SessionDep, item_id: ItemId) -> FeedbackItemOut:
    if not _ITEM_ID.match(item_id):
        raise not_found(item_id)
    return find_item(session=session, item_id=item_id)


@router.patch(
    "/feedback/{item_id}",
    response_model=FeedbackItemOut,
    summary="Decide a label or dispute: open, upheld or rejected",
    responses=error_responses(400, 401, 403, 404, 413, 422, 429, 503),
    openapi_extra=_body_schema(FeedbackUpdate),
)
async def update_feedback(request: Request, key: AnalystKey, database: DatabaseDep,
                          item_id: ItemId) -> Response:
    """Upholding a dispute also files a `false_positive` label for the account unless
    `create_label` is false; moving it away from `upheld` rejects that label again."""
    if not _ITEM_ID.match(item_id):
        raise not_found(item_id)
    update: FeedbackUpdate = await _parse(request, FeedbackUpdate, "update")
    item = await database.run(review_item, item_id=item_id, update=update, key_id=key.id,
                              now=utc_now())
    return _json(item)

