"""The one rule that turns a raw influence score into the adjusted score.

An influence score measures reach (audience) and resonance (engagement).  The
adjusted score removes the part of each that TrueClout judges inauthentic::

    adjusted = raw * (1 - AUDIENCE_WEIGHT * a - ENGAGEMENT_WEIGHT * e)

* ``a``: the share of the audience judged inauthentic — the **lower** bound of
  the estimated fake-follower share (95% interval), so that only what the
  follower sample shows beyond reasonable doubt is removed; 0 when no follower
  sample was given (missing data is never evidence).
* ``e``: the share of engagement judged inauthentic — the share of the
  account's engagement that comes from suspected ring or pod actors, weighted
  by the calibrated probability that the account takes part in a ring; 0
  when no engagement was sampled.

The weights sum to 1, so an account whose audience and engagement are both
entirely inauthentic scores 0.  The rule is monotone: more inauthentic
audience or more ring engagement never raises the adjusted score, and it is
never above the raw score.  Without a raw score there is nothing to adjust:
the assessment carries the risk and ``adjusted_score`` is null.
"""

from __future__ import annotations

import math

AUDIENCE_WEIGHT = 0.5
ENGAGEMENT_WEIGHT = 0.5


def _share(x: float | None) -> float:
    if x is None or math.isnan(x):
        return 0.0
    return min(max(float(x), 0.0), 1.0)


def inauthentic_engagement_share(
    ring_probability: float, ring_engagement_share: float | None
) -> float:
    """Share of engagement judged inauthentic: ring actors' share, weighted by ring probability."""
    return _share(ring_probability) * _share(ring_engagement_share)


def adjusted_score(
    raw_score: float | None,
    *,
    inauthentic_audience: float | None,
    inauthentic_engagement: float | None,
) -> float | None:
    """The adjusted score (rounded to 0.1), or None when there is no raw score."""
    if raw_score is None or math.isnan(raw_score):
        return None
    a = _share(inauthentic_audience)
    e = _share(inauthentic_engagement)
    kept = 1.0 - AUDIENCE_WEIGHT * a - ENGAGEMENT_WEIGHT * e
    if kept >= 1.0:
        return float(raw_score)
    value = raw_score * min(max(kept, 0.0), 1.0)
    # Round down so that rounding can never lift the adjusted score above the raw one.
    return math.floor(value * 10 + 1e-9) / 10
