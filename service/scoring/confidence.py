"""How much data backed a verdict: ``high``, ``medium``, ``low`` or ``insufficient``, with notes.

Each of the three signal families needs its own data, counted by the feature
frame's ``sufficiency``: sampled followers (audience), real daily follower
counts (growth), sampled engagements (engagement).  A family is

* **missing** below ``USABLE``: too little to judge (for growth: fewer real
  days than the growth family needs, ``growth.MIN_OBSERVATIONS`` spanning
  ``growth.MIN_HISTORY_DAYS``, so its features are unknown);
* **thin** from ``USABLE``: judged, with wide margins;
* **full** from ``FULL``.

=========== ======================= ================ ==============
family      counts                  usable from      full from
=========== ======================= ================ ==============
audience    sampled followers       10               100
growth      real days of history    7 over 14 days   60
engagement  sampled engagements     10               100
=========== ======================= ================ ==============

The level, first rule that applies:

1. ``insufficient``: no family usable.  The assessment then never raises the
   flag (the risk level is capped at ``elevated``) and never discounts the
   score: missing data is never evidence.
2. ``high``: all three families full.
3. ``medium``: at least two families usable, one of them full.
4. ``low``: otherwise (one usable family, or only thin ones).

The notes name every missing or thin family in the account's own numbers,
and say when the ring table had no row for the account.  They describe data,
never the account, so pages can show them as "could not be checked".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trueclout.features.families.growth import MIN_HISTORY_DAYS, MIN_OBSERVATIONS
from trueclout.features.families.rings import ROW_PRESENT_FEATURE
from trueclout.features.frame import FeatureFrame

FAMILIES: tuple[str, ...] = ("audience", "growth", "engagement")
USABLE: dict[str, int] = {"audience": 10, "growth": MIN_OBSERVATIONS, "engagement": 10}
FULL: dict[str, int] = {"audience": 100, "growth": 60, "engagement": 100}
MISSING, THIN, COMPLETE = 0, 1, 2
# A feature that is known exactly when the family could measure (growth needs a span too).
_MEASURED_BY: dict[str, str] = {"growth": "growth_burst_score"}
_RING_FEATURE = "graph_ring_block_size"
UNJUDGED_RING_NOTE = ("The ring table covers this account but cannot tell: it engages accounts "
                      "that engage it back, hours after their posts and with no common timing, "
                      "as genuine communities do and as pods that hide their timing do; "
                      "coordination was judged from this snapshot alone.")

INSUFFICIENT_NOTE = ("Too little data to judge: the risk is shown for information only, the "
                     "flag is not raised and the score is not discounted.")
NO_RAW_SCORE_NOTE = ("The snapshot carries no raw_score, so there is no adjusted score; the "
                     "risk and reasons stand on their own.")


@dataclass(frozen=True)
class ConfidenceVerdicts:
    """Per account: the level, whether it is ``insufficient``, and the notes."""

    level: np.ndarray  # object array of "high" / "medium" / "low" / "insufficient"
    insufficient: np.ndarray  # bool
    notes: list[list[str]]


def family_states(frame: FeatureFrame) -> dict[str, np.ndarray]:
    """MISSING / THIN / COMPLETE per family and account."""
    states = {}
    for family in FAMILIES:
        amount = np.nan_to_num(np.asarray(frame.sufficiency[family], dtype=np.float64))
        usable = amount >= USABLE[family]
        if family in _MEASURED_BY:
            usable &= ~np.isnan(frame.column(_MEASURED_BY[family]))
        states[family] = np.where(usable, np.where(amount >= FULL[family], COMPLETE, THIN),
                                  MISSING)
    return states


def judge_confidence(frame: FeatureFrame, *, has_raw_score: np.ndarray) -> ConfidenceVerdicts:
    """The confidence level and notes of every account in ``frame``."""
    states = family_states(frame)
    stacked = np.stack([states[f] for f in FAMILIES])
    usable = (stacked > MISSING).sum(axis=0)
    full = (stacked == COMPLETE).sum(axis=0)
    level = np.full(len(frame), "low", dtype=object)
    level[(usable >= 2) & (full >= 1)] = "medium"
    level[full == len(FAMILIES)] = "high"
    insufficient = usable == 0
    level[insufficient] = "insufficient"
    ring_unknown = np.isnan(frame.column(_RING_FEATURE))
    ring_row = ~np.isnan(frame.column(ROW_PRESENT_FEATURE))
    amounts = {f: np.nan_to_num(np.asarray(frame.sufficiency[f], dtype=np.float64))
               for f in FAMILIES}
    notes: list[list[str]] = []
    for i in range(len(frame)):
        row = [note for f in FAMILIES
               if (note := _family_note(f, int(states[f][i]), int(amounts[f][i]))) is not None]
        if ring_unknown[i] and states["engagement"][i] != MISSING:
            row.append(UNJUDGED_RING_NOTE if ring_row[i] else
                       "Rings across accounts (dense blocks, lockstep groups, mutual-repost "
                       "cores) were not looked up for this account: coordination was judged "
                       "from this snapshot alone.")
        if insufficient[i]:
            row.append(INSUFFICIENT_NOTE)
        if not has_raw_score[i]:
            row.append(NO_RAW_SCORE_NOTE)
        notes.append(row)
    return ConfidenceVerdicts(level=level, insufficient=insufficient, notes=notes)


def _family_note(family: str, state: int, amount: int) -> str | None:
    if state == COMPLETE:
        return None
    return _NOTES[family](state, amount)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _audience_note(state: int, n: int) -> str:
    if n == 0:
        return ("No follower sample was given, so the share of inauthentic followers could not "
                "be estimated.")
    if state == MISSING:
        return (f"Only {_plural(n, 'follower')} sampled: too few to estimate the share of "
                f"inauthentic followers ({USABLE['audience']} or more needed).")
    return (f"{_plural(n, 'follower')} sampled: the estimated share of inauthentic followers "
            f"has a wide interval ({FULL['audience']} or more narrow it).")


def _growth_note(state: int, n: int) -> str:
    if n == 0:
        return "No follower history was given, so follower growth could not be checked for bursts."
    if state == MISSING:
        return (f"The follower history has {_plural(n, 'reported day')}: too few to check growth "
                f"for bursts ({MIN_OBSERVATIONS} or more over at least {MIN_HISTORY_DAYS} days "
                "needed).")
    return (f"The follower history has {_plural(n, 'reported day')} "
            f"({FULL['growth']} or more give a firm view of growth).")


def _engagement_note(state: int, n: int) -> str:
    if n == 0:
        return ("No engagements (who liked or reposted what) were given, so coordinated "
                "engagement could not be checked.")
    if state == MISSING:
        return (f"Only {_plural(n, 'engagement')} given: too few to check engagement patterns "
                f"({USABLE['engagement']} or more needed).")
    return (f"{_plural(n, 'engagement')} sampled ({FULL['engagement']} or more give a firm view "
            "of engagement patterns).")


_NOTES = {"audience": _audience_note, "growth": _growth_note, "engagement": _engagement_note}
