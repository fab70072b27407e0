"""The seam between the service and the model: a ``Scorer`` and the one loader for it.

The API and ``trueclout score`` both get their scorer from ``load_scorer`` and
never look behind the protocol, so the same snapshot gives the same
assessment on both paths.  Until an account-level model is wired in here,
``load_scorer`` returns an ``UnavailableScorer``: the service starts, says
"model not loaded" on ``/readyz`` and answers scoring requests with 503 rather
than inventing numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from trueclout.assessment import Assessment
from trueclout.fast_contract import ScorableSnapshot
from trueclout.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """The active model as ``GET /v1/models/active`` shows it; ``card`` is its card.json."""

    name: str
    version: str
    card: dict[str, Any] = field(default_factory=dict)


class ModelNotLoaded(Exception):
    """No model can score right now; the message says why (the API answers 503)."""


@runtime_checkable
class Scorer(Protocol):
    """What the service needs from a model: loaded once per process, then called per request."""

    def model_info(self) -> ModelInfo:
        """Name, version and card; raises ModelNotLoaded when there is no model."""
        ...

    def ready(self) -> bool:
        """Whether ``assess`` can answer now."""
        ...

    def assess(self, snapshot: ScorableSnapshot, *, scored_at: datetime) -> Assessment:
        """One assessment with a fresh ``assessment_id``, stamped ``scored_at``."""
        ...

    def assess_many(
        self, snapshots: Sequence[ScorableSnapshot], *, scored_at: datetime | None = None
    ) -> list[Assessment]:
        """One assessment per snapshot, in order (``scored_at`` None: now)."""
        ...


class UnavailableScorer:
    """The honest scorer when no model could be loaded: it refuses, with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> ModelNotLoaded:
        return ModelNotLoaded(f"model not loaded: {self.reason}")

    def model_info(self) -> ModelInfo:
        raise self._refuse()

    def ready(self) -> bool:
        return False

    def assess(self, snapshot: ScorableSnapshot, *, scored_at: datetime) -> Assessment:
        raise self._refuse()

    def assess_many(
        self, snapshots: Sequence[ScorableSnapshot], *, scored_at: datetime | None = None
    ) -> list[Assessment]:
        raise self._refuse()


def require_ready(scorer: Scorer) -> Scorer:
    """``scorer`` when it can score now; else ``ModelNotLoaded`` with the reason it gives."""
    if not scorer.ready():
        scorer.model_info()  # raises ModelNotLoaded with the reason
        raise ModelNotLoaded("model not loaded")
    return scorer


def load_scorer(settings: Settings) -> Scorer:
    """The active scorer for these settings, loaded once at startup by `serve` and `score`.

    A model that fails to load (missing, digest mismatch) does not stop the
    server: it stays up, not ready, and says why.
    """
    try:
        return _load_active_model(settings)
    except Exception as exc:  # noqa: BLE001 - any load failure is reported, not raised
        log.exception("the active model could not be loaded")
        return UnavailableScorer(f"the active model could not be loaded: {exc}")


def _load_active_model(settings: Settings) -> Scorer:
    """The registry's active model with the ring table (models registry + scoring.assess)."""
    from trueclout.service.scoring.model_scorer import ModelScorer

    return ModelScorer.from_settings(settings)


def assessment_json(assessment: Assessment) -> str:
    """The one serialisation of an assessment: API bodies, stored rows and `score` lines."""
    return assessment.model_dump_json()
