"""Scoring: ``POST /v1/score`` (one snapshot) and ``POST /v1/score/batch`` (many, one result each).

Both read the body raw and validate it with pydantic's JSON parser, score on
the event loop (the model is CPU-bound and fast) and write to the database in
a worker thread, in one transaction per request.  With ``store`` (the
default), a result is returned only once it is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot, describe_errors
from trueclout.files import utc_now
from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import (
    DatabaseDep,
    PlatformKey,
    ScorerDep,
    SettingsDep,
    parse_body,
)
from trueclout.service.api.openapi import BATCH_REF, SNAPSHOT_REF, json_request_body
from trueclout.service.api.schemas import BatchResponse, error_responses
from trueclout.service.db.engine import Database
from trueclout.service.db.keys import KeyInfo
from trueclout.service.db.snapshots import store_scored
from trueclout.service.runtime import metrics
from trueclout.service.runtime.errors import ApiError, request_id_of
from trueclout.service.scoring.scorer import assessment_json
from trueclout.settings import Settings

router = APIRouter(prefix=API_PREFIX, tags=["scoring"])

StoreParam = Annotated[bool, Query(
    description="Store the assessment for history and audit (default). "
                "`store=false` is a dry run: scored, returned, not kept.")]


def _json(body: bytes | str) -> Response:
    return Response(body, media_type="application/json")


async def _keep(database: Database, settings: Settings, key: KeyInfo,
                scored: list[tuple[Assessment, str]], snapshots: list[Any], *,
                store: bool) -> None:
    """Store what was scored with the snapshots it came from (unless a dry run), then count it.

    The snapshot is kept beside its assessment for trust checks by id and feedback.
    """
    if store and scored:
        await database.run(store_scored, items=scored, snapshots=snapshots, api_key_id=key.id,
                           stored_at=utc_now(), retention_days=settings.snapshot_retention_days)
    for assessment, _ in scored:
        metrics.ASSESSMENTS.labels(assessment.risk.level).inc()


# Both scoring routes answer the same errors.
SCORING_ERRORS = error_responses(400, 401, 403, 413, 422, 429, 503)


@router.post(
    "/score",
    response_model=Assessment,
    summary="Assess one account snapshot",
    responses=SCORING_ERRORS,
    openapi_extra=json_request_body(SNAPSHOT_REF),
)
async def score(
    request: Request, key: PlatformKey, scorer: ScorerDep, database: DatabaseDep,
    settings: SettingsDep, store: StoreParam = True,
) -> Response:
    """The adjusted score, manipulation risk, tactics and reasons for one `AccountSnapshot`."""
    snapshot = await parse_body(request, AccountSnapshot)
    assessment = scorer.assess(snapshot, scored_at=utc_now())
    body = assessment_json(assessment)
    await _keep(database, settings, key, [(assessment, body)], [await request.body()],
                store=store)
    return _json(body)


class _BatchEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshots: Annotated[list[Any], Field(min_length=1)]


async def _parse_batch(request: Request, max_items: int) -> list[Any]:
    envelope = await parse_body(request, _BatchEnvelope, "batch request")
    if len(envelope.snapshots) > max_items:
        raise ApiError(422, f"a batch holds at most {max_items} snapshots", details=[{
            "field": "snapshots", "reason": f"has {len(envelope.snapshots)} items, the maximum "
            f"is {max_items}", "type": "too_long"}])
    return envelope.snapshots


def _item_error(exc: ValidationError, request_id: str | None) -> dict[str, Any]:
    details = describe_errors(exc)
    return {"code": "validation_error",
            "message": f"the snapshot is invalid ({len(details)} problem(s))",
            "request_id": request_id, "details": details}


@router.post(
    "/score/batch",
    response_model=BatchResponse,
    summary="Assess up to `max_batch_items` snapshots; one result or error per item, in order",
    responses=SCORING_ERRORS,
    openapi_extra=json_request_body(BATCH_REF),
)
async def score_batch(
    request: Request, key: PlatformKey, scorer: ScorerDep, database: DatabaseDep,
    settings: SettingsDep, store: StoreParam = True,
) -> Response:
    """`{"snapshots": [...]}` in, `{"results": [...]}` out, result *i* for snapshot *i*.

    An invalid snapshot gets its own error and does not stop the others; the
    valid ones are stored together in one transaction.
    """
    items = await _parse_batch(request, settings.max_batch_items)
    request_id = request_id_of(request.scope)
    results: list[dict[str, Any] | None] = [None] * len(items)
    valid: list[tuple[int, AccountSnapshot]] = []
    for i, item in enumerate(items):
        try:
            valid.append((i, AccountSnapshot.model_validate(item)))
        except ValidationError as exc:
            results[i] = {"index": i, "status": "error", "error": _item_error(exc, request_id)}
    assessments = scorer.assess_many([s for _, s in valid], scored_at=utc_now()) if valid else []
    bodies = [assessment_json(a) for a in assessments]
    await _keep(database, settings, key, list(zip(assessments, bodies, strict=True)),
                [items[i] for i, _ in valid], store=store)
    for (i, _), body in zip(valid, bodies, strict=True):
        results[i] = {"index": i, "status": "ok", "assessment": orjson.Fragment(body)}
    return _json(orjson.dumps({"results": results, "scored": len(assessments),
                               "failed": len(items) - len(assessments),
                               "stored": bool(store and assessments)}))
