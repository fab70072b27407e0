"""The claimed score beside the platform's and the adjusted one, with what the comparison means.

The claimed score is what the recruiter was shown.  When the snapshot carries
no score of its own, the claimed score is the one the adjustment starts from
(``starting_score``); when it does, the adjustment starts from the platform's
score and the report says whether the two agree (within
``AGREEMENT_POINTS``: platforms round scores for display).

What the adjustment did is said in the same terms as the verdict: the part
it discounted (audience, engagement or both), or, for signals it could not
correct for, that the score could not be corrected and why (the
assessment's correction notes, ``scoring.corrections``).  "Nothing was
discounted: nothing was judged inauthentic" is said only when no such note
applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trueclout.contract import AccountSnapshot
from trueclout.service.trust.format import human_score

AGREEMENT_POINTS = 1.0


@dataclass(frozen=True)
class ScoreComparison:
    claimed: float
    platform: float | None
    adjusted: float | None
    adjusted_from: str  # "platform" or "claimed"
    notes: list[str]
    uncorrected: list[str]  # why signals found could not be corrected for


# What a discount removed, by which parts removed something (audience, engagement).
DISCOUNTED_PARTS: dict[tuple[bool, bool], str] = {
    (True, False): "the part of the audience judged inauthentic",
    (False, True): "the part of the engagement judged inauthentic",
}
BOTH_PARTS = "audience and engagement judged inauthentic"
NOT_CORRECTED = ("The score could not be corrected for the signals found, so the adjusted "
                 "score is the score it starts from: the data did not show how much of it "
                 "they inflated.")
PARTLY_CORRECTED = ("It could not be corrected for every signal found, so it may still be "
                    "inflated.")


def starting_score(snapshot: AccountSnapshot, claimed: float) -> AccountSnapshot:
    """The snapshot to score: with the claimed score as its raw score when it has none."""
    if snapshot.raw_score is not None:
        return snapshot
    return snapshot.model_copy(update={"raw_score": claimed})


def compare_scores(*, claimed: float, platform: float | None, adjusted: float | None,
                   uncorrected: Sequence[str] = (),
                   parts: tuple[bool, bool] | None = None) -> ScoreComparison:
    """Plain sentences on how the claimed, platform and adjusted scores relate.

    ``uncorrected``: why signals shown with the verdict could not be corrected
    for; ``parts``: whether the audience and the engagement part each removed
    something (None: not known, both are named).
    """
    notes: list[str] = []
    if platform is None:
        notes.append(f"The data carried no score of its own, so the score you were shown "
                     f"({human_score(claimed)}) is the one adjusted here.")
        start = claimed
    else:
        start = platform
        gap = claimed - platform
        if abs(gap) <= AGREEMENT_POINTS:
            notes.append(f"The score you were shown ({human_score(claimed)}) matches the "
                         f"platform's score in this data ({human_score(platform)}).")
        else:
            direction = "higher" if gap > 0 else "lower"
            notes.append(
                f"The score you were shown ({human_score(claimed)}) is "
                f"{human_score(abs(gap))} points {direction} than the platform's score in this "
                f"data ({human_score(platform)}). "
                "Scores change over time, so check when it was shown to you; the adjusted "
                "score starts from the platform's score.")
    if adjusted is None:
        notes.append("No adjusted score could be computed.")
    elif start <= 0:
        notes.append("The score is 0, so there was nothing to discount.")
    elif adjusted >= start:
        notes.append(NOT_CORRECTED if uncorrected else
                     "Nothing was discounted: no part of the audience or engagement was judged "
                     "inauthentic beyond reasonable doubt.")
    else:
        removed = start - adjusted
        share = removed / start if start > 0 else 0.0
        what = DISCOUNTED_PARTS.get(parts, BOTH_PARTS) if parts else BOTH_PARTS
        notes.append(f"{human_score(removed)} points ({share:.0%}) were discounted for {what}."
                     + (f" {PARTLY_CORRECTED}" if uncorrected else ""))
    return ScoreComparison(claimed=claimed, platform=platform, adjusted=adjusted,
                           adjusted_from="claimed" if platform is None else "platform",
                           notes=notes, uncorrected=list(uncorrected))
