"""The analysts' queue: ``/v1/feedback`` (labels and disputes), with the ``analyst`` scope.

- ``POST /v1/feedback``: file a label on an assessed account (201, ``Location``).
- ``GET /v1/feedback``: the queue, newest first, filtered and paged.
- ``GET /v1/feedback/{item_id}``: one label or dispute.
- ``PATCH /v1/feedback/{item_id}``: decide it (open, upheld, rejected).

Disputes arrive from the report pages (``web/disputes.py``) and are listed
here with ``kind=dispute``.  The rules live in ``service/analysts/feedback.py``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel

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
    not_found,
    queue_page,
    review_item,
)
from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import (
    MAX_PAGE,
    AnalystKey,
    BeforeParam,
    DatabaseDep,
    SessionDep,
    page_cursor,
    parse_body,
    utc_in_range,
)
from trueclout.service.api.openapi import json_request_body
from trueclout.service.api.schemas import error_responses
from trueclout.service.db.feedback import QueueCursor, QueueFilter

router = APIRouter(prefix=API_PREFIX, tags=["feedback"])

_ITEM_ID = re.compile(r"^fb_[A-Za-z0-9_-]{8,29}$")
ItemId = Annotated[str, Path(max_length=32, description="The item's `id`.")]


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
          ) -> Response:
    return Response(model.model_dump_json(), status_code=status,
                    media_type="application/json", headers=headers)


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackItemOut,
    summary="File a label on an assessed account",
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=json_request_body(FeedbackCreate.model_json_schema()),
)
async def create_feedback(request: Request, key: AnalystKey, database: DatabaseDep) -> Response:
    """A confirmed manipulation (with its tactics), a false positive or a confirmed genuine
    account, on a stored assessment (`assessment_id`) or an assessed account (`platform` +
    `account_id`: its latest stored assessment).  Stored with the key that filed it."""
    body = await parse_body(request, FeedbackCreate, "feedback")
    item = await database.run(file_label, request=body, api_key_id=key.id, now=utc_now())
    return _json(item, 201, headers={"Location": item.links.self})


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
        description="Filed at or after this time (RFC 3339, or a date: its midnight UTC)."),
        AfterValidator(utc_in_range)] = None,
    platform: Annotated[Platform | None, Query()] = None,
    account_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    before: BeforeParam = None,
) -> FeedbackPage:
    """Follow `next_cursor` (as `before`) for older items until it is null."""
    where = QueueFilter(kind=kind, label=label, status=status, since=since,
                        platform=platform, account_id=account_id)
    return queue_page(session=session, where=where, limit=limit,
                      before=page_cursor(before, QueueCursor.decode))


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
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=json_request_body(FeedbackUpdate.model_json_schema()),
)
async def update_feedback(request: Request, key: AnalystKey, database: DatabaseDep,
                          item_id: ItemId) -> Response:
    """Upholding a dispute also files a `false_positive` label for the account unless
    `create_label` is false; moving it away from `upheld` rejects that label again."""
    if not _ITEM_ID.match(item_id):
        raise not_found(item_id)
    update = await parse_body(request, FeedbackUpdate, "update")
    item = await database.run(review_item, item_id=item_id, update=update, key_id=key.id,
                              now=utc_now())
    return _json(item)

