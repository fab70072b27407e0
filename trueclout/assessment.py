"""Assessment v1: what scoring returns (the API, each line of `trueclout score`, each batch row).

Wire names follow ``SNAPSHOT.md``; fields may be added, never renamed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from trueclout.contract import Platform

# Rounded once, where an assessment becomes JSON (API bodies, stored rows, `score` lines):
# more digits than these are noise, not information.  Python callers keep full floats.
# Scores need no rounding here: adjusted_score is rounded down to 0.1 by its rule
# (service/scoring/adjustment.py, never above the raw score) and raw_score is the caller's.
PROBABILITY_DIGITS = 4


def _rounded(digits: int, number: Any = float) -> PlainSerializer:
    """Rounds to ``digits`` in JSON; ``number`` is what the published schema says it is."""
    return PlainSerializer(lambda value: round(value, digits), return_type=number,
                           when_used="json")


_Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Probability = Annotated[_Unit, _rounded(PROBABILITY_DIGITS, _Unit)]
RiskLevel = Literal["low", "elevated", "high"]
ConfidenceLevel = Literal["high", "medium", "low", "insufficient"]
Family = Literal["audience", "growth", "engagement", "profile"]
TACTICS: tuple[str, ...] = ("bought_followers", "engagement_ring", "growth_burst")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Risk(_Out):
    probability: Probability
    level: RiskLevel
    flag: bool


class Tactics(_Out):
    bought_followers: Probability
    engagement_ring: Probability
    growth_burst: Probability


class Reason(_Out):
    code: str
    family: Family
    message: str
    contribution: float


class AuthenticReach(_Out):
    followers: int
    followers_low: int
    followers_high: int
    fake_share: Probability
    fake_share_low: Probability
    fake_share_high: Probability


class Confidence(_Out):
    level: ConfidenceLevel
    notes: list[str] = []


class ModelRef(_Out):
    name: str
    version: str


class Evidence(_Out):
    """Details behind the reasons, for pages and analysts (not needed to act on the flag)."""

    suspicious_days: list[date] = Field(
        default=[], description="days whose follower growth the growth signals flagged as a burst"
    )


class Assessment(_Out):
    assessment_id: str
    account_id: str
    platform: Platform
    scored_at: datetime
    raw_score: float | None  # the caller's own score, echoed exactly as sent
    adjusted_score: float | None
    risk: Risk
    tactics: Tactics
    reasons: list[Reason]
    authentic_reach: AuthenticReach | None
    confidence: Confidence
    model: ModelRef
    evidence: Evidence | None = None
