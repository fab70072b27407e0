"""The real scorer: the active model artifact and the ring table, behind the ``Scorer`` seam.

Loaded once per server process (and once per `trueclout score` run): the
registry names the active artifact (the shipped default until one is
promoted), ``load_artifact`` verifies every digest and the feature list
before anything is used, and XGBoost predicts on one thread (one process per
core).  Each call scores through ``service.assess``, the same composition
batch scoring uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from trueclout.assessment import Assessment
from trueclout.fast_contract import ScorableSnapshot
from trueclout.features.frame import FeatureFrame
from trueclout.files import utc_now
from trueclout.models.artifact import Artifact, load_artifact
from trueclout.models.registry import ModelRegistry
from trueclout.service.scoring.assess import assess_snapshots
from trueclout.service.scoring.reasons import DEFAULT_POLICY, ReasonPolicy
from trueclout.service.scoring.ring_lookup import RingTableLookup
from trueclout.service.scoring.scorer import ModelInfo
from trueclout.settings import Settings

log = logging.getLogger(__name__)

# One thread per process: a server runs one worker process per core.
PREDICT_THREADS = 1


class ModelScorer:
    """Implements ``scoring.Scorer`` with a verified artifact and the ring table."""

    def __init__(self, artifact: Artifact, rings: RingTableLookup, *,
                 policy: ReasonPolicy = DEFAULT_POLICY) -> None:
        self.artifact = artifact
        self.rings = rings
        self.policy = policy
        # Beside the card's own fields, whether its signature was checked (models/signing.py).
        card = {**artifact.card, "signature_check": {"status": artifact.signature_status,
                                                     "note": artifact.signature_note}}
        self._info = ModelInfo(name=artifact.name, version=artifact.version, card=card)
        # Called with each scored batch's feature rows and column names (the drift window
        # bins the values the model judged instead of computing them again).
        self.feature_observers: list[Callable[[np.ndarray, tuple[str, ...]], None]] = []
        if artifact.signature_status != "verified":
            log.warning("model %s: %s", artifact.version, artifact.signature_note)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelScorer:
        """The registry's active model and the configured ring table (raises if unusable)."""
        path = ModelRegistry(settings.resolved_models_dir).active()
        artifact = load_artifact(path, nthread=PREDICT_THREADS)
        rings = RingTableLookup(settings.resolved_ring_table,
                                check_seconds=settings.ring_table_check_seconds)
        return cls(artifact, rings)

    def model_info(self) -> ModelInfo:
        return self._info

    def ready(self) -> bool:
        return True

    def assess(self, snapshot: ScorableSnapshot, *, scored_at: datetime) -> Assessment:
        return self.assess_many([snapshot], scored_at=scored_at)[0]

    def assess_many(
        self, snapshots: Sequence[ScorableSnapshot], *, scored_at: datetime | None = None
    ) -> list[Assessment]:
        graph = self.rings.rows_for([s.account_id for s in snapshots]) if snapshots else None
        return assess_snapshots(snapshots, self.artifact, graph=graph,
                                scored_at=scored_at or utc_now(), policy=self.policy,
                                on_features=self._hand_over if self.feature_observers else None)

    def _hand_over(self, frame: FeatureFrame) -> None:
        for observer in self.feature_observers:
            observer(frame.values, frame.names)
