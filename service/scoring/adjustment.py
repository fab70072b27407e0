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
  - ``engagement_ring_like_share``: the share of its sampled engagement that
    its own snapshot's ring evidence points at — made by the accounts that
    engaged with at least 80% of its posts (the same few accounts on every
    post; known from 3 engaged posts) or by the accounts it reposts (repost
    for repost; known with ``reposts_made``), or arriving within 2 minutes of
    publication (synchrony); each engagement counted once, unknown without
    engagements.

  Both are shares of the account's own engagement that behaves like a ring's;
  a genuine community can have a large core and a popular account many fast
  engagements, which is why the share is weighted by the ring probability.
  Unknown counts as 0.

Every discount rests on a share measured from the data sent (or the ring
table); none is invented.  A tactic the model finds likely whose share could
not be measured is therefore not corrected for, and the assessment says so
and why in ``confidence.notes`` (``corrections``): ``bought_followers`` and
``growth_burst`` rest on ``a`` (the followers a burst brought are judged
through the follower sample), ``engagement_ring`` on ``e``.

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
# Which share of the rule corrects for each tactic: "audience" (a) or "engagement" (e).
TACTIC_SHARES: dict[str, str] = {
    "bought_followers": "audience",
    "growth_burst": "audience",
    "engagement_ring": "engagement",
}


def _shares(x: np.ndarray | float | None) -> np.ndarray:
    """Shares clipped to [0, 1], unknown (None or NaN) as 0."""
    arr = np.asarray(np.nan if x is None else x, dtype=np.float64)
    return np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0)


def ring_engagement_share(block_share: np.ndarray | float | None,
                          actor_share: np.ndarray | float | None) -> np.ndarray:
    """Share of engagement from suspected ring or pod actors: the larger of the ring table's
    block share and the snapshot's ring-like share."""
    return np.maximum(_shares(block_share), _shares(actor_share))


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


def discounted_parts(raw_score: float, adjusted: float,
                     inauthentic_audience: float | None) -> tuple[bool, bool]:
    """Whether the audience part and the engagement part each removed something.

    For pages that say what a discount was for: the audience part is known from
    ``a`` (the lower end of the fake-follower share); the engagement part is
    whatever the adjusted score lost beyond it (past the 0.1 rounding).
    """
    audience_only = float(adjusted_scores(np.array([raw_score]),
                                          inauthentic_audience=_shares(inauthentic_audience),
                                          inauthentic_engagement=np.zeros(1))[0])
    return audience_only < raw_score, adjusted < audience_only
