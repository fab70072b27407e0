"""For operators and orchestrators, without a key: liveness, readiness, metrics.

Keep ``/metrics`` on a network only the monitoring system reaches.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from trueclout.service.api.schemas import Health, Readiness, error_responses
from trueclout.service.db import migrate
from trueclout.service.db.engine import Database
from trueclout.service.runtime import metrics
from trueclout.service.runtime.errors import ApiError
from trueclout.service.scoring.scorer import ModelNotLoaded, Scorer

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


def _database_problem(database: Database) -> str | None:
    try:
        current = migrate.current_revision(database.engine)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"not reachable ({exc.__class__.__name__})"
    head = migrate.head_revision()
    if current != head:
        return f"schema at revision {current}, expected {head}: run `trueclout serve` to upgrade"
    return None


def _model_problem(scorer: Scorer) -> str | None:
    if scorer.ready():
        return None
    try:
        scorer.model_info()
    except ModelNotLoaded as exc:
        return str(exc)
    return "model not loaded"


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: a model is loaded and the database answers",
    responses=error_responses(503),
)
async def readyz(request: Request) -> Readiness:
    problems = []
    if (model := _model_problem(request.app.state.scorer)) is not None:
        problems.append({"field": "model", "reason": model, "type": "not_ready"})
    database = await run_in_threadpool(_database_problem, request.app.state.database)
    if database is not None:
        problems.append({"field": "database", "reason": database, "type": "not_ready"})
    if problems:
        raise ApiError(503, "not ready: " + "; ".join(p["reason"] for p in problems),
                       code="not_ready", details=problems)
    return Readiness(status="ready", checks={"model": "loaded", "database": "ok"})


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics (all workers)")
async def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
