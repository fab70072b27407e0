"""The recruiter's trust check: ``POST /v1/trust-check`` and ``GET /v1/trust-check/{report_id}``.

A report is stored before it is returned (201 with ``Location``), and read
back by its id until it expires.  ``GET`` answers API clients with JSON and
sends browsers (``Accept: text/html``) to the report's page, which needs no
key: the id is the permission.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import (
    DatabaseDep,
    RecruiterKey,
    ScorerDep,
    SettingsDep,
    bearer,
    parse_body,
)
from trueclout.service.api.idempotency import IdempotencyKeyHeader, first_answer, idempotency_of
from trueclout.service.api.openapi import COMPONENTS, json_request_body
from trueclout.service.api.schemas import error_responses
from trueclout.service.db.engine import StorageError
from trueclout.service.db.idempotency import RecordedAnswer
from trueclout.service.db.keys import KeyInfo
from trueclout.service.runtime.auth import authorize
from trueclout.service.runtime.errors import ApiError
from trueclout.service.runtime.negotiation import prefers_html
from trueclout.service.trust.check import is_report_id, read_report, run_trust_check
from trueclout.service.trust.format import human_date
from trueclout.service.trust.report import TrustReport
from trueclout.service.trust.request import TrustCheckRequest

router = APIRouter(prefix=API_PREFIX, tags=["trust check"])


def _request_schema() -> dict[str, Any]:
    """The request's JSON Schema, its snapshot models referenced from the shared components.

    ``build_openapi`` publishes the snapshot's models as components already,
    so their definitions are not repeated here.
    """
    schema = TrustCheckRequest.model_json_schema(ref_template=COMPONENTS + "{model}")
    schema.pop("$defs", None)
    return schema


@router.post(
    "/trust-check",
    status_code=201,
    response_model=TrustReport,
    summary="Check a claimed influence score; the report is stored and returned",
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=json_request_body(_request_schema()),
)
async def create_trust_check(
    request: Request, key: RecruiterKey, scorer: ScorerDep, database: DatabaseDep,
    settings: SettingsDep, idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The verdict on a claimed score, from the account's snapshot or a stored assessment's.

    Give `snapshot` or `assessment_id`. The report (verdict, claimed and adjusted
    scores, reasons, what was and was not checked) is stored for
    `TRUECLOUT_TRUST_REPORT_TTL_DAYS` and readable at `links.self` (JSON) and
    `links.page` (the page to share).  With `Idempotency-Key`, a retry within 24 hours
    returns this report again instead of checking and storing a new one.
    """
    check = await parse_body(request, TrustCheckRequest, "trust-check request")
    idempotency = await idempotency_of(request, key, idempotency_key, "trust_check")
    if idempotency is not None and (replayed := await idempotency.replay()) is not None:
        return replayed

    def record(session: Session, report: TrustReport, body: str) -> None:
        if idempotency is not None:
            idempotency.recorder(
                RecordedAnswer(201, body.encode(), report.links.self),
                [(report.subject.platform, report.subject.account_id)])(session)

    try:
        report, body = await run_trust_check(
            check, scorer=scorer, database=database, settings=settings, api_key_id=key.id,
            in_same_transaction=record)
    except StorageError as exc:
        return await first_answer(idempotency, exc)
    return Response(body, status_code=201, media_type="application/json",
                    headers={"Location": report.links.self})


async def recruiter_unless_browser(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyInfo | None:
    """A recruiter key for API clients; None for a browser, which is sent to the page."""
    if prefers_html(request.headers.get("accept")):
        return None
    return await authorize(request, credentials.credentials if credentials else None,
                           ("recruiter",))


@router.get(
    "/trust-check/{report_id}",
    response_model=TrustReport,
    summary="A stored trust-check report (JSON), or its page for a browser",
    responses={**error_responses(401, 403, 404, 422, 429),
               303: {"description": "For `Accept: text/html`: the report's page"}},
)
async def get_trust_check(
    request: Request, report_id: str,
    key: Annotated[KeyInfo | None, Depends(recruiter_unless_browser)],
    database: DatabaseDep,
) -> Response:
    """The report as it was returned when created, until it expires (then 404)."""
    if key is None:
        return RedirectResponse(request.url_for("trust_page", report_id=report_id).path,
                                status_code=303)
    found = await read_report(report_id, database) if is_report_id(report_id) else None
    if found is None or found.body is None:
        reason = ("expired on " + human_date(found.expires_at)
                  if found is not None and found.expires_at is not None
                  else "no report has this id")
        raise ApiError(404, f"no trust-check report to show: {reason}", details=[{
            "field": "path.report_id", "reason": reason,
            "type": found.status if found is not None else "unknown"}])
    return Response(found.body, media_type="application/json")
