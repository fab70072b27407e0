"""The analysts' queue: what a label and a review look like, and the rules that apply to them.

Shared by the API (``api/routes/feedback.py``), the dispute form
(``web/disputes.py``) and the CLI (``cli/feedback.py``).  Each
operation runs in the caller's transaction (``Database.run`` / ``call``).

Rules, in one place:

- A label names a stored assessment (``assessment_id``) or an assessed
  account (``platform`` + ``account_id``: its most recent stored assessment is
  the one labelled).  Neither known: 404.
- ``confirmed_manipulation`` needs at least one tactic; the other labels take
  none (they mean "no tactic at all").
- A label counts for training from the moment it is filed (status ``open``)
  until an analyst rejects it.
- Upholding a dispute says the verdict was wrong: unless the analyst says
  otherwise (``create_label: false``), it files a ``false_positive`` label
  for the account, marked as derived from the dispute and already reviewed
  (``upheld``).  Moving the dispute away from ``upheld`` rejects that label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from trueclout.assessment import TACTICS
from trueclout.contract import Identifier, Platform
from trueclout.service.db.feedback import (
    FeedbackItem,
    QueueCursor,
    QueueFilter,
    assessment_account,
    get_item,
    insert_item,
    labels_derived_from,
    latest_assessment_id,
    list_items,
)
from trueclout.service.runtime.errors import ApiError
from trueclout.service.trust.request import AssessmentId

MAX_NOTE = 2_000
MAX_CONTACT = 200

LabelName = Literal["confirmed_manipulation", "false_positive", "confirmed_genuine"]
Tactic = Literal["bought_followers", "engagement_ring", "growth_burst"]
Status = Literal["open", "upheld", "rejected"]
Kind = Literal["label", "dispute"]
assert set(Tactic.__args__) == set(TACTICS)  # type: ignore[attr-defined]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


Note = Annotated[str, Field(max_length=MAX_NOTE), AfterValidator(_no_nul)]


def _field_error(model: str, field: str, kind: str, message: str) -> ValidationError:
    return ValidationError.from_exception_data(model, [InitErrorDetails(
        type=PydanticCustomError(kind, message), loc=(field,), input=None)])


class FeedbackCreate(BaseModel):
    """A label on an assessed account: by ``assessment_id``, or by ``platform`` + ``account_id``."""

    model_config = ConfigDict(extra="forbid")

    assessment_id: Annotated[AssessmentId | None, Field(
        description="The stored assessment the label is about.")] = None
    platform: Annotated[Platform | None, Field(
        description="With account_id, instead of assessment_id: the account's most recent "
                    "stored assessment is the one labelled.")] = None
    account_id: Annotated[Identifier | None, Field(description="See platform.")] = None
    label: Annotated[LabelName, Field(
        description="confirmed_manipulation (name the tactics), false_positive (the model "
                    "called it manipulated, it is not) or confirmed_genuine.")]
    tactics: Annotated[list[Tactic], Field(
        max_length=len(TACTICS),
        description="Required for confirmed_manipulation; empty otherwise.")] = []
    note: Annotated[Note, Field(description="Free text, up to 2,000 characters.")] = ""

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackCreate:
        by_account = self.platform is not None or self.account_id is not None
        if self.assessment_id is not None and by_account:
            raise _field_error("FeedbackCreate", "assessment_id", "one_subject",
                               "give assessment_id or platform and account_id, not both")
        if self.assessment_id is None:
            for name in ("platform", "account_id"):
                if getattr(self, name) is None:
                    raise _field_error("FeedbackCreate", name, "missing",
                                       "is required when assessment_id is not given")
        if len(set(self.tactics)) != len(self.tactics):
            raise _field_error("FeedbackCreate", "tactics", "repeated",
                               "names a tactic more than once")
        if self.label == "confirmed_manipulation" and not self.tactics:
            raise _field_error("FeedbackCreate", "tactics", "tactics_required",
                               "name at least one tactic for confirmed_manipulation: "
                               + ", ".join(TACTICS))
        if self.label != "confirmed_manipulation" and self.tactics:
            raise _field_error("FeedbackCreate", "tactics", "tactics_not_allowed",
                               f"must be empty for {self.label} (it means no tactic)")
        return self


class FeedbackUpdate(BaseModel):
    """An analyst's decision on a queue item."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[Status, Field(description="open, upheld or rejected.")]
    resolution_note: Annotated[Note | None, Field(
        description="Why, for the record (up to 2,000 characters).")] = None
    create_label: Annotated[bool | None, Field(
        description="Disputes only: when upholding, also file a false_positive label for "
                    "the account (default true).")] = None


class ItemLinks(BaseModel):
    self: str


class FeedbackItemOut(BaseModel):
    """One item of the queue as analysts see it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Kind
    status: Status
    label: LabelName | None
    tactics: list[Tactic]
    note: str | None = Field(description="The analyst's note (labels).")
    statement: str | None = Field(description="What the person wrote (disputes).")
    contact: str | None = Field(description="How to reach the person, if given (disputes).")
    platform: Platform
    account_id: str
    assessment_id: str | None
    report_id: str | None = Field(description="The disputed trust-check report (disputes).")
    derived_from: str | None = Field(description="The upheld dispute a label came from.")
    filed_by_key_id: int | None
    created_at: datetime
    updated_at: datetime
    reviewed_by_key_id: int | None
    reviewed_at: datetime | None
    resolution_note: str | None
    links: ItemLinks


class FeedbackPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[FeedbackItemOut]
    next_cursor: str | None


def item_out(item: FeedbackItem) -> FeedbackItemOut:
    dispute = item.kind == "dispute"
    return FeedbackItemOut(
        id=item.item_id, kind=item.kind, status=item.status, label=item.label,  # type: ignore[arg-type]
        tactics=list(item.tactics or []), note=None if dispute else item.note,  # type: ignore[arg-type]
        statement=item.note if dispute else None, contact=item.contact,
        platform=item.platform, account_id=item.account_id,  # type: ignore[arg-type]
        assessment_id=item.assessment_id, report_id=item.report_id,
        derived_from=item.derived_from, filed_by_key_id=item.api_key_id,
        created_at=item.created_at, updated_at=item.updated_at,
        reviewed_by_key_id=item.reviewed_by_key_id, reviewed_at=item.reviewed_at,
        resolution_note=item.resolution_note, links=ItemLinks(self=f"/v1/feedback/{item.item_id}"))


# ---------------------------------------------------------------------------------------------
# Operations (each in the caller's transaction)


def file_label(*, session: Session, request: FeedbackCreate, api_key_id: int | None,
               now: datetime) -> FeedbackItemOut:
    """Store an analyst's label; 404 naming the field when the assessment or account is unknown."""
    if request.assessment_id is not None:
        account = assessment_account(session=session, assessment_id=request.assessment_id)
        if account is None:
            raise ApiError(404, "no stored assessment has this id", details=[{
                "field": "assessment_id", "reason": "no stored assessment has this id",
                "type": "unknown"}])
        platform, account_id = account
        assessment_id: str | None = request.assessment_id
    else:
        assert request.platform is not None and request.account_id is not None
        platform, account_id = request.platform, request.account_id
        assessment_id = latest_assessment_id(session=session, platform=platform,
                                             account_id=account_id)
        if assessment_id is None:
            raise ApiError(404, "this account has no stored assessment to label", details=[{
                "field": "account_id", "reason": f"no stored assessment of {platform} account "
                f"{account_id!r}", "type": "unknown"}])
    item = insert_item(
        session=session, kind="label", status="open", label=request.label,
        tactics=list(request.tactics), note=request.note or None, platform=platform,
        account_id=account_id, assessment_id=assessment_id, api_key_id=api_key_id,
        created_at=now)
    return item_out(item)


def queue_page(*, session: Session, where: QueueFilter, limit: int,
               before: QueueCursor | None = None) -> FeedbackPage:
    """One page of the queue, newest first, for the API and ``trueclout feedback list``."""
    rows, next_cursor = list_items(session=session, where=where, limit=limit, before=before)
    return FeedbackPage(items=[item_out(r) for r in rows],
                        next_cursor=next_cursor.encode() if next_cursor else None)


def find_item(*, session: Session, item_id: str) -> FeedbackItemOut:
    item = get_item(session=session, item_id=item_id)
    if item is None:
        raise not_found(item_id)
    return item_out(item)


def not_found(item_id: str) -> ApiError:
    return ApiError(404, "no feedback item has this id", details=[{
        "field": "path.item_id", "reason": "no feedback item has this id", "type": "unknown"}])


def review_item(*, session: Session, item_id: str, update: FeedbackUpdate, key_id: int | None,
                now: datetime) -> FeedbackItemOut:
    """Record an analyst's decision, with what upholding or un-upholding a dispute implies."""
    item = get_item(session=session, item_id=item_id, for_update=True)
    if item is None:
        raise not_found(item_id)
    if update.create_label is not None and item.kind != "dispute":
        raise ApiError(422, "create_label applies to disputes only", details=[{
            "field": "create_label", "reason": "applies to disputes only", "type": "not_allowed"}])
    was = item.status
    item.status = update.status
    item.updated_at = now
    item.reviewed_at = now
    item.reviewed_by_key_id = key_id
    if update.resolution_note is not None:
        item.resolution_note = update.resolution_note or None
    if item.kind == "dispute":
        _follow_dispute(session, item, was, update, key_id, now)
    session.flush()
    return item_out(item)


def _follow_dispute(session: Session, dispute: FeedbackItem, was: str, update: FeedbackUpdate,
                    key_id: int | None, now: datetime) -> None:
    derived = labels_derived_from(session=session, item_id=dispute.item_id)
    if dispute.status == "upheld" and update.create_label is not False:
        if not any(label.status != "rejected" for label in derived):
            insert_item(
                session=session, kind="label", status="upheld", label="false_positive",
                tactics=[], note=f"from upheld dispute {dispute.item_id}"
                + (f": {dispute.resolution_note}" if dispute.resolution_note else ""),
                platform=dispute.platform, account_id=dispute.account_id,
                assessment_id=latest_assessment_id(session=session, platform=dispute.platform,
                                                   account_id=dispute.account_id),
                derived_from=dispute.item_id, api_key_id=key_id, created_at=now,
                reviewed_by_key_id=key_id, reviewed_at=now)
    elif was == "upheld" and dispute.status != "upheld":
        for label in derived:
            label.status = "rejected"
            label.updated_at = now
            label.reviewed_at = now
            label.reviewed_by_key_id = key_id
            label.resolution_note = f"dispute {dispute.item_id} is no longer upheld"


def dispute_report(*, session: Session, report_id: str) -> Any:
    """The stored trust report a dispute is about (its account and assessment), or None."""
    from trueclout.service.db.trust import StoredTrustReport

    return session.execute(
        select(StoredTrustReport.platform, StoredTrustReport.account_id,
               StoredTrustReport.assessment_id, StoredTrustReport.expires_at,
               StoredTrustReport.api_key_id)
        .where(StoredTrustReport.report_id == report_id)).one_or_none()
