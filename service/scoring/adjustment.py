"""The one rule that turns a raw influence score into the adjusted score.

An influence score measures reach (audience) and resonance (engagement).  The
adjusted score removes the part of each that TrueClout judges inauthentic::

    adjusted = raw * (1 - AUDIENCE_WEIGHT * a - ENGAGEMENT_WEIGHT * e)

* ``a``: the share of the audience judged inauthentic — the **lower** bound of
  the follower model's estimated fake-follower share (95% interval,
  ``audience_model_fake_share_low``), so that only what the follower sample
  shows beyond reasonable doubt is removed; 0 when no follower sample was
  given or no follower model is loaded (missing data is never evidence).
* ``e``: the share of engagement judged inauthentic — the calibrated
  probability that the account takes part in a ring or pod
  (``tactics.engagement_ring``) times the share of its engagement that comes
  from suspected ring or pod actors (``ring_engagement_share``): the larger of

  - ``graph_ring_block_share``: the share of the engagement it received that
    came from members of the dense amplification block the ring table puts
    it in (0 when the ring table puts it in no block, unknown without one);
  - ``engagement_core_share``: the share of its sampled engagement made by
    accounts that engaged with at least 80% of its posts (the same few
    accounts on every post; unknown below 3 engaged posts).

  Both are shares of the account's own engagement from actors that behave
  like a ring; a genuine community can have a large core, which is why the
  share is weighted by the ring probability.  Unknown counts as 0.

The weights sum to 1, so an account whose audience and engagement are both
entirely inauthentic scores 0.  The rule is monotone: more inauthentic
audience or more ring engagement never raises the adjusted score, and it is
never above the raw score (the result is rounded *down* to 0.1).  Without a
raw score there is nothing to adjust: the assessment carries the risk and
``adjusted_score`` is null.  When the data is too thin to judge
(confidence ``insufficient``) the assessment passes ``a = e = 0``: nothing is
discounted on a guess.

``adjusted_scores`` applies the rule to arrays (batch scoring);
``adjusted_score`` to one account.  Both run the same code.
"""

from __future__ import annotations

import math

import numpy as np

AUDIENCE_WEIGHT = 0.5
ENGAGEMENT_WEIGHT = 0.5


def _shares(x: np.ndarray | float | None) -> np.ndarray:
    """Shares clipped to [0, 1], unknown (None or NaN) as 0."""
    arr = np.asarray(np.nan if x is None else x, dtype=np.float64)
    return np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0)


def ring_engagement_share(block_share: np.ndarray | float | None,
                          core_share: np.ndarray | float | None) -> np.ndarray:
    """Share of engagement from suspected ring or pod actors: the larger of the two measures."""
    return np.maximum(_shares(block_share), _shares(core_share))


def inauthentic_engagement_shares(ring_probability: np.ndarray | float,
                                  ring_share: np.ndarray | float | None) -> np.ndarray:
    """``e`` per account: ring actors' share of engagement, weighted by the ring probability."""
    return _shares(ring_probability) * _shares(ring_share)


def inauthentic_engagement_share(
    ring_probability: float, ring_engagement_share: float | None
) -> float:
    """``e`` for one account (see ``inauthentic_engagement_shares``)."""
    return float(inauthentic_engagement_shares(ring_probability, ring_engagement_share))


def adjusted_scores(
    raw_scores: np.ndarray,
    *,
    inauthentic_audience: np.ndarray,
    inauthentic_engagement: np.ndarray,
) -> np.ndarray:
    """The adjusted score per account (rounded down to 0.1); NaN where the raw score is NaN."""
    raw = np.asarray(raw_scores, dtype=np.float64)
    kept = (1.0 - AUDIENCE_WEIGHT * _shares(inauthentic_audience)
            - ENGAGEMENT_WEIGHT * _shares(inauthentic_engagement))
    # Round down so that rounding can never lift the adjusted score above the raw one.
    discounted = np.floor(raw * np.clip(kept, 0.0, 1.0) * 10 + 1e-9) / 10
    return np.where(kept >= 1.0, raw, np.minimum(discounted, raw))


def adjusted_score(
    raw_score: float | None,
    *,
    inauthentic_audience: float | None,
    inauthentic_engagement: float | None,
) -> float | None:
    """The adjusted score of one account (rounded down to 0.1), or None without a raw score."""
    if raw_score is None or math.isnan(raw_score):
        return None
    return float(adjusted_scores(np.array([raw_score]),
                                 inauthentic_audience=_shares(inauthentic_audience),
                                 inauthentic_engagement=_shares(inauthentic_engagement))[0])
