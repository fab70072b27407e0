"""The adjusted-score rule: never above raw, monotone in every inauthenticity signal."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from trueclout.service.scoring.adjustment import adjusted_score, inauthentic_engagement_share

raw = st.floats(0, 100, allow_nan=False)
share = st.floats(0, 1, allow_nan=False)
maybe_share = st.none() | share | st.just(math.nan)


@given(raw, maybe_share, maybe_share)
def test_never_above_raw_and_never_negative(r, a, e) -> None:
    adj = adjusted_score(r, inauthentic_audience=a, inauthentic_engagement=e)
    assert adj is not None and 0.0 <= adj <= r


@given(raw, share, share, share)
def test_more_inauthentic_audience_never_raises_the_score(r, a1, a2, e) -> None:
    lo, hi = sorted((a1, a2))
    assert adjusted_score(r, inauthentic_audience=hi, inauthentic_engagement=e) <= adjusted_score(
        r, inauthentic_audience=lo, inauthentic_engagement=e
    )


@given(raw, share, share, share, share)
def test_more_ring_engagement_never_raises_the_score(r, a, p, s1, s2) -> None:
    lo, hi = sorted((s1, s2))
    e_lo = inauthentic_engagement_share(p, lo)
    e_hi = inauthentic_engagement_share(p, hi)
    assert adjusted_score(r, inauthentic_audience=a, inauthentic_engagement=e_hi) <= (
        adjusted_score(r, inauthentic_audience=a, inauthentic_engagement=e_lo)
    )


def test_known_values() -> None:
    assert adjusted_score(None, inauthentic_audience=0.5, inauthentic_engagement=0.5) is None
    assert adjusted_score(40.0, inauthentic_audience=0.0, inauthentic_engagement=0.0) == 40.0
    assert adjusted_score(40.0, inauthentic_audience=None, inauthentic_engagement=None) == 40.0
    assert adjusted_score(40.0, inauthentic_audience=0.5, inauthentic_engagement=0.0) == 30.0
    assert adjusted_score(40.0, inauthentic_audience=1.0, inauthentic_engagement=1.0) == 0.0
    assert inauthentic_engagement_share(0.5, 0.8) == 0.4
