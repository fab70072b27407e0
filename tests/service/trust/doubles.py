"""A scripted test double for trust checks. NOT a model: it returns what each test scripts.

``ScriptedScorer`` answers for the accounts it has a script for (by
``account_id``) with the risk, confidence, reasons, adjusted-score discount
and evidence (``suspicious_days``) written in the script, and falls back to
``DeterministicTestScorer``'s arithmetic for every other account.  That lets
the tests drive each verdict level with realistic reasons, including ones
worded the way the wording rules must neutralise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from tests.service.doubles import DeterministicTestScorer
from trueclout.assessment import (
    Assessment,
    Confidence,
    ConfidenceLevel,
    Evidence,
    Reason,
    Risk,
    RiskLevel,
    Tactics,
)
from trueclout.contract import AccountSnapshot


@dataclass(frozen=True)
class Script:
    level: RiskLevel
    probability: float
    confidence: ConfidenceLevel = "medium"
    notes: tuple[str, ...] = ()
    tactics: Mapping[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    discount: float = 0.0
    suspicious_days: tuple[date, ...] = ()


class ScriptedScorer(DeterministicTestScorer):
    """Scripted assessments for known account ids, the plain test double for the rest."""

    def __init__(self, scripts: Mapping[str, Script] | None = None) -> None:
        super().__init__()
        self.scripts: dict[str, Script] = dict(scripts or {})

    def assess(self, snapshot: AccountSnapshot, *, scored_at: datetime) -> Assessment:
        base = super().assess(snapshot, scored_at=scored_at)
        script = self.scripts.get(snapshot.account_id)
        if script is None:
            return base
        raw = snapshot.raw_score
        tactics = {"bought_followers": 0.02, "engagement_ring": 0.02, "growth_burst": 0.02,
                   **script.tactics}
        return base.model_copy(update={
            "risk": Risk(probability=script.probability, level=script.level,
                         flag=script.level == "high"),
            "tactics": Tactics(**tactics),
            "reasons": list(script.reasons),
            "adjusted_score": None if raw is None else round(raw * (1 - script.discount), 1),
            "confidence": Confidence(level=script.confidence, notes=list(script.notes)),
            "evidence": Evidence(suspicious_days=list(script.suspicious_days)),
        })
