"""Mounts every resource router: the versioned API (``/v1/...``) and the operations endpoints.

A new resource (trust checks, feedback) is a new module in ``api/routes`` with
``router = APIRouter(prefix=API_PREFIX, tags=[...])``, added to ``ROUTERS``.
"""

from __future__ import annotations

from fastapi import APIRouter

from trueclout.service.api.routes import accounts, feedback, models, operations, score, trust

ROUTERS: tuple[APIRouter, ...] = (
    score.router,
    accounts.router,
    models.router,
    operations.router,
    trust.router,
    feedback.router,
)
