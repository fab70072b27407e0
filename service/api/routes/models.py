"""The model answering requests: ``GET /v1/models/active``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from trueclout.service.api import API_PREFIX
from trueclout.service.api.deps import AnyScopeKey
from trueclout.service.api.schemas import ModelCard, error_responses

router = APIRouter(prefix=API_PREFIX, tags=["models"])


@router.get(
    "/models/active",
    response_model=ModelCard,
    summary="The active model's name, version and card",
    responses=error_responses(401, 403, 429, 503),
)
async def active_model(request: Request, key: AnyScopeKey) -> ModelCard:
    """Any valid key may read it; 503 when no model is loaded."""
    info = request.app.state.scorer.model_info()
    return ModelCard(name=info.name, version=info.version, card=info.card)
