"""Scoring: ``POST /v1/score`` (one snapshot) and ``POST /v1/score/batch`` (many, one result each).

Both read the body raw, validate each snapshot the same way (msgspec first,
``fast_contract``; what it cannot vouch for, pydantic's own JSON parser) and score it
in a scoring thread (``scoring.offload``: CPU work never blocks the event
loop, so ``/healthz`` and other requests answer while a snapshot is scored),
and write to the database in a worker thread, in one transaction per request.  With ``store`` (the
default), a result is returned only once it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot, describe_errors, field_names
from trueclout.fast_contract import ScorableSnapshot, read_snapshot_json
from trueclout.files import utc_now
from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import (
    DatabaseDep,
    PlatformKey,
    ScorerDep,
    SettingsDep,
    parse_body,
    parse_snapshot,
)
from trueclout.service.api.idempotency import (
    Idempotency,
    IdempotencyKeyHeader,
    first_answer,
    idempotency_of,
)
from trueclout.service.api.openapi import BATCH_REF, SNAPSHOT_REF, json_request_body
from trueclout.service.api.schemas import BatchResponse, error_responses
from trueclout.service.db.engine import Database, StorageError
from trueclout.service.db.idempotency import RecordedAnswer
from trueclout.service.db.keys import KeyInfo
from trueclout.service.db.snapshots import store_scored
from trueclout.service.runtime import metrics
from trueclout.service.runtime.errors import ApiError, request_id_of
from trueclout.service.scoring.offload import off_loop
from trueclout.service.scoring.scorer import Scorer, assessment_json
from trueclout.settings import Settings

router = APIRouter(prefix=API_PREFIX, tags=["scoring"])

StoreParam = Annotated[bool, Query(
    description="Store the assessment for history and audit (default). "
                "`store=false` is a dry run: scored, returned, not kept.")]


def _assess_json(scorer: Scorer, snapshot: ScorableSnapshot) -> tuple[Assessment, str]:
    """One assessment and its serialisation (both CPU work, done in one scoring thread)."""
    assessment = scorer.assess(snapshot, scored_at=utc_now())
    return assessment, assessment_json(assessment)


def _json(body: bytes | str) -> Response:
    return Response(body, media_type="application/json")


async def _keep(database: Database, settings: Settings, key: KeyInfo,
                scored: list[tuple[Assessment, str]], documents: list[Any],
                snapshots: list[ScorableSnapshot], *,
                store: bool, also: Callable[[Session], None] | None = None) -> None:
    """Store what was scored with the snapshots it came from (unless a dry run), then count it.

    The snapshot (``documents``: as received; ``snapshots``: as validated) is kept
    beside its assessment for trust checks by id and feedback; ``also`` runs in the
    same transaction (it records the answer for idempotency).
    """
    if store and scored:
        def write(*, session: Session) -> None:
            store_scored(session=session, items=scored, documents=documents,
                         snapshots=snapshots, api_key_id=key.id, stored_at=utc_now(),
                         retention_days=settings.snapshot_retention_days)
            if also is not None:
                also(session)

        await database.run(write)
    for assessment, _ in scored:
        metrics.ASSESSMENTS.labels(assessment.risk.level).inc()


def _recorder(idempotency: Idempotency | None, body: bytes, scored: list[Assessment]
              ) -> Callable[[Session], None] | None:
    """What records this answer for retries with the same Idempotency-Key (None: no key)."""
    if idempotency is None:
        return None
    return idempotency.recorder(RecordedAnswer(200, body),
                                [(a.platform, a.account_id) for a in scored])


# Both scoring routes answer the same errors.
SCORING_ERRORS = error_responses(400, 401, 403, 413, 415, 422, 429, 503)


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
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The adjusted score, manipulation risk, tactics and reasons for one `AccountSnapshot`.

    With `Idempotency-Key`, a retry within 24 hours returns this answer and stores nothing.
    """
    snapshot = await parse_snapshot(request)
    idempotency = await idempotency_of(request, key, idempotency_key, "score", store=store)
    if idempotency is not None and (replayed := await idempotency.replay()) is not None:
        return replayed
    assessment, body = await off_loop(_assess_json, scorer, snapshot)
    try:
        await _keep(database, settings, key, [(assessment, body)], [await request.body()],
                    [snapshot], store=store,
                    also=_recorder(idempotency, body.encode(), [assessment]))
    except StorageError as exc:
        return await first_answer(idempotency, exc)
    return _json(body)


class _BatchEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshots: Annotated[list[Any], Field(min_length=1)]


# Its snapshots are free-form to the envelope; they are checked one by one.
_BATCH_KEYS = frozenset({"snapshots"}) | (field_names(AccountSnapshot) or frozenset())


class _RawItems(msgspec.Struct):
    """The envelope with each item left as its own bytes (msgspec slices, parses nothing)."""

    snapshots: list[msgspec.Raw]


_RAW_ITEMS = msgspec.json.Decoder(_RawItems).decode


async def _parse_batch(request: Request, max_items: int) -> list[Any]:
    envelope = await parse_body(request, _BatchEnvelope, "batch request", known_keys=_BATCH_KEYS)
    if len(envelope.snapshots) > max_items:
        raise ApiError(422, f"a batch holds at most {max_items} snapshots", details=[{
            "field": "snapshots", "reason": f"has {len(envelope.snapshots)} items, the maximum "
            f"is {max_items}", "type": "too_long"}])
    return envelope.snapshots


def _items_json(body: bytes, parsed: list[Any]) -> list[bytes]:
    """Each item's own JSON bytes, as received, from a body whose envelope passed the
    contract's checks (msgspec slices it, parsing no item); should msgspec refuse JSON that
    orjson took, the parsed items written out again."""
    try:
        return [bytes(item) for item in _RAW_ITEMS(body).snapshots]
    except msgspec.DecodeError:
        return [orjson.dumps(item) for item in parsed]


def _item_error(exc: ValidationError, request_id: str | None) -> dict[str, Any]:
    details = describe_errors(exc)
    return {"code": "validation_error",
            "message": f"the snapshot is invalid ({len(details)} problem(s))",
            "request_id": request_id, "details": details}


def _score_items(scorer: Scorer, body: bytes, parsed: list[Any], request_id: str | None
                 ) -> tuple[list[bytes], list[dict[str, Any] | None],
                            list[tuple[int, ScorableSnapshot]], list[Assessment], list[str]]:
    """Each item validated as ``POST /v1/score`` validates a body (``read_snapshot_json``:
    the same verdicts and field paths), the valid ones scored and serialised (in a scoring
    thread): the items' JSON, per-item errors in place, the valid items with their
    positions, assessments, bodies."""
    items = _items_json(body, parsed)
    results: list[dict[str, Any] | None] = [None] * len(items)
    valid: list[tuple[int, ScorableSnapshot]] = []
    for i, item in enumerate(items):
        try:
            # The envelope passed validate_json: no object in it repeats a key.
            valid.append((i, read_snapshot_json(item, keys_checked=True)))
        except ValidationError as exc:
            results[i] = {"index": i, "status": "error", "error": _item_error(exc, request_id)}
    assessments = scorer.assess_many([s for _, s in valid], scored_at=utc_now()) if valid else []
    return items, results, valid, assessments, [assessment_json(a) for a in assessments]


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
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """`{"snapshots": [...]}` in, `{"results": [...]}` out, result *i* for snapshot *i*.

    An invalid snapshot gets its own error and does not stop the others; the
    valid ones are stored together in one transaction.
    """
    items = await _parse_batch(request, settings.max_batch_items)
    idempotency = await idempotency_of(request, key, idempotency_key, "score_batch",
                                       store=store)
    if idempotency is not None and (replayed := await idempotency.replay()) is not None:
        return replayed
    request_id = request_id_of(request.scope)
    items_json, results, valid, assessments, bodies = await off_loop(
        _score_items, scorer, await request.body(), items, request_id)
    for (i, _), body in zip(valid, bodies, strict=True):
        results[i] = {"index": i, "status": "ok", "assessment": orjson.Fragment(body)}
    answer = orjson.dumps({"results": results, "scored": len(assessments),
                           "failed": len(items) - len(assessments),
                           "stored": bool(store and assessments)})
    try:
        await _keep(database, settings, key, list(zip(assessments, bodies, strict=True)),
                    [items_json[i] for i, _ in valid], [s for _, s in valid], store=store,
                    also=_recorder(idempotency, answer, assessments))
    except StorageError as exc:
        return await first_answer(idempotency, exc)
    return _json(answer)
