"""Builds the FastAPI application; routes live in ``api/routes``, one module per resource."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from trueclout import __version__
from trueclout.service.analysts.disputes import DisputeLimiter
from trueclout.service.analysts.drift import DriftMonitor, ObservingScorer, build_monitor
from trueclout.service.analysts.retention import PeriodicPurge
from trueclout.service.api.examples import load_examples
from trueclout.service.api.main import ROUTERS
from trueclout.service.api.openapi import build_openapi
from trueclout.service.db.engine import Database
from trueclout.service.runtime import metrics
from trueclout.service.runtime.auth import KeyAuthenticator
from trueclout.service.runtime.errors import install_error_handlers
from trueclout.service.runtime.logs import configure_logging
from trueclout.service.runtime.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from trueclout.service.runtime.ratelimit import RateLimiter
from trueclout.service.runtime.ring_refresh import PeriodicRingRefresh
from trueclout.service.runtime.tasks import checkpoint_loop
from trueclout.service.scoring.scorer import Scorer, load_scorer
from trueclout.service.web.errors import PageErrorsMiddleware
from trueclout.service.web.main import PAGE_ROUTERS
from trueclout.settings import Settings, get_settings

# Where Swagger UI's and ReDoc's scripts are served (from the fastapi-offline package).
DOCS_ASSETS_URL = "/docs/assets"

DESCRIPTION = """\
Is this influence real? Adjusted scores, manipulation risk, suspected tactics
and plain-language reasons for an `AccountSnapshot`.

Send an API key as `Authorization: Bearer tc_...` (`trueclout keys create`).
Every error has the same shape: `{"error": {"code", "message", "request_id", "details"}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    scorer: Scorer | None = None,
    database: Database | None = None,
    freeze_gc: bool = False,
    drift: DriftMonitor | None = None,
) -> FastAPI:
    """The service for ``settings``; ``scorer`` and ``database`` default to the configured ones.

    The database must already be at the newest revision: ``trueclout serve``
    upgrades it before starting workers (``/readyz`` reports a stale schema).
    ``freeze_gc`` is for server processes (see ``serving_app``).  ``drift``
    defaults to a monitor of the loaded model's training reference, if it has one.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    scorer = scorer if scorer is not None else load_scorer(settings)
    owns_database = database is None
    database = database or Database.from_settings(settings, background_checkpoints=True)
    model_version = _publish_model(scorer)
    drift = drift if drift is not None else build_monitor(settings, scorer)
    if drift is not None:
        scorer = ObservingScorer(scorer, drift)
    purge = PeriodicPurge(database, settings.purge_interval_hours)
    ring_refresh = PeriodicRingRefresh(database, settings)
    checkpoints = checkpoint_loop(database)
    metrics.watch_ring_table(settings.resolved_ring_table)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if freeze_gc:
            # What is loaded at startup lives as long as the process; frozen, the
            # collector stops re-scanning it, which cuts latency spikes under load.
            gc.collect()
            gc.freeze()
        purge.start()
        checkpoints.start()
        ring_refresh.start()
        if drift is not None:
            drift.start(settings.drift_refresh_seconds)
        yield
        if drift is not None:
            await drift.stop()
        await ring_refresh.stop()
        await checkpoints.stop()
        await purge.stop()
        if owns_database:
            database.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from the package, not a CDN: they work
    # offline and behind a firewall, and no third party sees who reads the API docs.
    app = FastAPIOffline(title="TrueClout", version=__version__, description=DESCRIPTION,
                         lifespan=lifespan, static_url=DOCS_ASSETS_URL)
    app.state.settings = settings
    app.state.scorer = scorer
    app.state.drift = drift
    app.state.database = database
    app.state.keys = KeyAuthenticator(database, cache_seconds=settings.key_cache_seconds)
    app.state.limiter = RateLimiter(
        default_rate=settings.rate_limit_per_second,
        burst_seconds=settings.rate_limit_burst_seconds,
        unauthenticated_rate=settings.unauthenticated_rate_per_second)
    app.state.dispute_limiter = DisputeLimiter(settings.dispute_rate_per_hour)
    install_error_handlers(app)
    for router in (*ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)
    # Added last = outermost: every answer, 413s included, gets a request id and a log line.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Errors under /trust become readable pages (it must see the body limit's 413).
    app.add_middleware(PageErrorsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, model_version=lambda: model_version)
    app.openapi = partial(build_openapi, app,  # type: ignore[method-assign]
                          max_batch_items=settings.max_batch_items, examples=load_examples())
    return app


def _publish_model(scorer: Scorer) -> str | None:
    """Sets the model gauges; the version (None without a model) for the access log."""
    if not scorer.ready():
        metrics.MODEL_LOADED.set(0)
        return None
    info = scorer.model_info()
    metrics.MODEL_LOADED.set(1)
    metrics.MODEL_INFO.labels(info.name, info.version).set(1)
    return info.version


def serving_app() -> FastAPI:
    """What each `trueclout serve` worker runs (``uvicorn --factory``), set up by environment."""
    return create_app(freeze_gc=True)
