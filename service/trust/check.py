"""One trust check from request to stored report: shared by the API and the form at ``/trust``.

1. The snapshot: the one in the request, or the stored snapshot behind
   ``assessment_id`` (unknown or past retention: 404 naming ``assessment_id``).
2. The account must be the one the recruiter named (platform and handle).
3. Scored with the active model, the claimed score standing in for a missing
   raw score, then composed into a report.
4. Stored with its expiry before it is returned: a report that is returned
   can always be read back by its id until it expires.  Nothing is stored
   when any step fails.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.orm import Session

from trueclout.contract import AccountSnapshot, describe_errors
from trueclout.files import utc_now
from trueclout.service.db.engine import Database
from trueclout.service.db.snapshots import find_scored_snapshot
from trueclout.service.db.trust import (
    NewTrustReport,
    ReportLookup,
    find_trust_report,
    store_trust_report,
)
from trueclout.service.runtime.errors import ApiError
from trueclout.service.scoring.scorer import Scorer
from trueclout.service.trust.format import human_date
from trueclout.service.trust.report import Source, TrustReport, compose_report
from trueclout.service.trust.request import TrustCheckRequest, identity_problems
from trueclout.service.trust.scores import starting_score
from trueclout.settings import Settings

# 32 bytes = 256 random bits, 43 URL-safe characters: unguessable and unlistable.
REPORT_ID_BYTES = 32
# What a report id can look like; anything else is answered "not found" without a query.
_REPORT_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_report_id() -> str:
    return secrets.token_urlsafe(REPORT_ID_BYTES)


def is_report_id(text: str) -> bool:
    return bool(_REPORT_ID.match(text))


async def resolve_snapshot(request: TrustCheckRequest, database: Database,
                           now: datetime) -> tuple[AccountSnapshot, Source]:
    """The snapshot to check and where it came from."""
    if request.snapshot is not None:
        return request.snapshot, "snapshot"
    assert request.assessment_id is not None  # one of the two, by validation
    found = await database.run(find_scored_snapshot, assessment_id=request.assessment_id,
                               now=now)
    if found.status == "unknown" or found.snapshot_json is None:
        reason = ("no stored snapshot has this assessment id" if found.status == "unknown"
                  else f"its snapshot was kept until {human_date(found.expires_at or now)} "
                       "and has been removed; send the snapshot itself")
        raise ApiError(404, f"no snapshot to check: {reason}", details=[{
            "field": "assessment_id", "reason": reason, "type": found.status}])
    try:
        return AccountSnapshot.model_validate_json(found.snapshot_json), "stored_snapshot"
    except ValidationError as exc:
        details = [{**d, "field": f"snapshot.{d['field']}"} for d in describe_errors(exc)]
        raise ApiError(422, "the stored snapshot of this assessment no longer passes the "
                       "snapshot contract; send a fresh snapshot", details=details) from None


async def run_trust_check(
    request: TrustCheckRequest,
    *,
    scorer: Scorer,
    database: Database,
    settings: Settings,
    api_key_id: int | None,
    in_same_transaction: Callable[[Session, TrustReport, str], None] | None = None,
) -> tuple[TrustReport, str]:
    """The stored report and its JSON, exactly as stored.

    ``in_same_transaction`` runs in the transaction that stores the report (the API
    records its answer there for ``Idempotency-Key`` retries).
    """
    now = utc_now()
    snapshot, source = await resolve_snapshot(request, database, now)
    problems = identity_problems(request, snapshot)
    if problems:
        raise ApiError(422, "the snapshot is not of the account named in the request",
                       details=problems)
    assessment = scorer.assess(starting_score(snapshot, request.claimed_score), scored_at=now)
    report = compose_report(
        report_id=new_report_id(), created_at=now,
        expires_at=now + timedelta(days=settings.trust_report_ttl_days),
        request=request, snapshot=snapshot, assessment=assessment, source=source)
    body = report.model_dump_json()
    row = NewTrustReport(
        report_id=report.report_id, created_at=report.created_at,
        expires_at=report.expires_at, platform=report.subject.platform,
        account_id=report.subject.account_id, handle=report.subject.handle,
        claimed_score=report.scores.claimed, verdict=report.verdict.level,
        assessment_id=report.assessment_id, model_name=report.model.name,
        model_version=report.model.version, body=body)

    def store(*, session: Session) -> None:
        store_trust_report(session=session, report=row, api_key_id=api_key_id)
        if in_same_transaction is not None:
            in_same_transaction(session, report, body)

    await database.run(store)
    return report, body


async def read_report(report_id: str, database: Database) -> ReportLookup:
    """The stored report with this id, if it exists and has not expired."""
    return await database.run(find_trust_report, report_id=report_id, now=utc_now())
