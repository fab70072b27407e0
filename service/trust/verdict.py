"""The verdict a recruiter reads, decided from the model's assessment by four ordered rules.

1. **Cannot tell** when the assessment's confidence is ``low`` or
   ``insufficient``: thin data (a new, small or private account, a snapshot
   without a follower sample or engagement) never yields a negative verdict,
   and never a reassuring one either.
2. **Likely manipulated** when the risk level is ``high`` (the model's stored
   threshold, chosen on validation data at a stated precision).
3. **Questionable** when the risk level is ``elevated``, or when the adjusted
   score keeps less than ``1 - MAX_CONSISTENT_DISCOUNT`` of the score it
   starts from (a quarter or more of the score rests on audience or
   engagement judged inauthentic, whatever the overall risk).
4. **Consistent with genuine influence** otherwise.

Signals (``signals``) name the tactics whose calibrated probability is at
least ``SIGNAL_PROBABILITY``, in neutral words; they are listed only with a
questionable or likely-manipulated verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trueclout.assessment import Assessment
from trueclout.service.scoring.corrections import TACTIC_PROBABILITY

VerdictLevel = Literal["consistent", "questionable", "likely_manipulated", "cannot_tell"]
VERDICT_LEVELS: tuple[VerdictLevel, ...] = (
    "consistent", "questionable", "likely_manipulated", "cannot_tell")

THIN_CONFIDENCE = frozenset({"low", "insufficient"})
MAX_CONSISTENT_DISCOUNT = 0.25
# The probability at which the assessment explains a tactic it could not correct for.
SIGNAL_PROBABILITY = TACTIC_PROBABILITY

HEADLINES: dict[VerdictLevel, str] = {
    "consistent": "Consistent with genuine influence",
    "questionable": "Questionable: some signals need a closer look",
    "likely_manipulated": "Likely manipulated: the score is probably inflated",
    "cannot_tell": "Cannot tell: not enough data to judge",
}

SUMMARIES: dict[VerdictLevel, str] = {
    "consistent": (
        "The audience, follower growth and engagement of this account look like those of "
        "accounts whose influence is genuine. No check is perfect: read what it could not see."
    ),
    "questionable": (
        "Some signals in this account's data are unusual for genuine influence. They are not "
        "proof of anything and cannot show who caused them; treat the score with caution and "
        "read the reasons below."
    ),
    "likely_manipulated": (
        "Strong signals show that part of this account's audience or engagement is "
        "inauthentic, so the score probably overstates its real influence. Signals cannot show "
        "who caused them."
    ),
    "cannot_tell": (
        "There was too little data to judge this score either way. This says nothing bad about "
        "the account: new, small or private accounts often look like this."
    ),
}

# Neutral names for the model's tactics: what the data shows, not what anyone did.
SIGNAL_LABELS: dict[str, tuple[str, str]] = {
    "bought_followers": ("inauthentic_followers", "Inauthentic followers present"),
    "engagement_ring": ("coordinated_engagement",
                        "Engagement from a tight group of accounts that engage together"),
    "growth_burst": ("follower_bursts", "Followers arrived in sudden bursts"),
}


@dataclass(frozen=True)
class Verdict:
    level: VerdictLevel
    headline: str
    summary: str
    basis: str


@dataclass(frozen=True)
class Signal:
    code: str
    label: str
    probability: float


def score_discount(assessment: Assessment) -> float | None:
    """The share of the starting score the adjustment removed (None without both scores)."""
    raw, adjusted = assessment.raw_score, assessment.adjusted_score
    if raw is None or adjusted is None or raw <= 0:
        return None
    return max(0.0, min(1.0, 1.0 - adjusted / raw))


def decide_verdict(assessment: Assessment) -> Verdict:
    """Apply the rules of this module's docstring, in order."""
    confidence = assessment.confidence.level
    if confidence in THIN_CONFIDENCE:
        return _verdict("cannot_tell", f"confidence is {confidence}")
    risk = assessment.risk.level
    if risk == "high":
        return _verdict("likely_manipulated", "risk level is high")
    if risk == "elevated":
        return _verdict("questionable", "risk level is elevated")
    discount = score_discount(assessment)
    if discount is not None and discount >= MAX_CONSISTENT_DISCOUNT:
        return _verdict("questionable",
                        f"the adjustment removed {discount:.0%} of the score")
    return _verdict("consistent", "risk level is low")


def _verdict(level: VerdictLevel, basis: str) -> Verdict:
    return Verdict(level, HEADLINES[level], SUMMARIES[level], basis)


def signals_for(assessment: Assessment, verdict: Verdict) -> list[Signal]:
    """Neutral names of the signals behind a negative verdict, strongest first."""
    if verdict.level not in ("questionable", "likely_manipulated"):
        return []
    tactics = assessment.tactics.model_dump()
    found = [
        Signal(code, label, round(float(tactics[tactic]), 4))
        for tactic, (code, label) in SIGNAL_LABELS.items()
        if tactics.get(tactic, 0.0) >= SIGNAL_PROBABILITY
    ]
    return sorted(found, key=lambda s: -s.probability)
