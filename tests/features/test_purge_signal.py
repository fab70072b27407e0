"""A purge signal needs a real loss: FOLLOWER_PURGE never cites a day the count did not fall.

Measured on an independent world: an account whose worst day was +2 followers
was told it "lost 0 followers, 6.9 times its usual variation", because the
drop score compared the worst day with the median gain.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features.builders import DAY, OBSERVED, organic_account, tables_of
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import FEATURE_NAMES, spec
from trueclout.service.scoring.reasons import CODES, rank_reasons

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PURGE = [name for name in FEATURE_NAMES if spec(name).reason_code == "FOLLOWER_PURGE"]


def with_history(gains: list[int], start: int = 5_000, account_id: str = "purge") -> dict:
    """An organic account whose daily follower history has exactly these daily changes."""
    doc = organic_account(account_id, 0, days=len(gains) + 1, n_posts=5, n_followers=20)
    counts = np.maximum(start + np.concatenate([[0], np.cumsum(gains)]), 0)
    days = len(counts)
    doc["follower_history"] = [
        {"date": (OBSERVED - (days - i) * DAY).date().isoformat(),
         "followers": int(c), "following": 400} for i, c in enumerate(counts)]
    doc["profile"]["followers_count"] = int(counts[-1])
    return doc


def frame_of(gains: list[int]) -> FeatureFrame:
    return compute_features(tables_of(with_history(gains)))


growth_days = st.lists(st.integers(0, 400), min_size=20, max_size=60)


@SETTINGS
@given(gains=growth_days, slow_day=st.integers(0, 59))
def test_no_fall_means_no_drop_score(gains: list[int], slow_day: int) -> None:
    """However slow one day is against the usual gain, a day without a loss is no purge."""
    gains = list(gains)
    gains[slow_day % len(gains)] = 0
    frame = frame_of(gains)
    assert frame.column("growth_drop_score")[0] == 0.0
    assert frame.context["growth_max_loss"][0] == 0.0


@SETTINGS
@given(gains=st.lists(st.integers(-300, 400), min_size=20, max_size=60))
def test_drop_score_is_positive_exactly_when_the_count_fell(gains: list[int]) -> None:
    frame = frame_of(gains)
    score = frame.column("growth_drop_score")[0]
    loss = frame.context["growth_max_loss"][0]
    assert (score > 0) == (loss > 0)
    assert loss == max(0, -min(gains)) or min(np.cumsum(gains) + 5_000) <= 0


def test_a_real_purge_scores_and_a_slow_day_of_fast_growth_does_not() -> None:
    fast = [50] * 40
    fast[20] = 2  # the +2 day of the measured false alarm
    purged = [50] * 40
    purged[20] = -800
    frame = compute_features(tables_of(with_history(fast, account_id="fast"),
                                         with_history(purged, account_id="purged")))
    drop = frame.column("growth_drop_score")
    assert drop[0] == 0.0
    assert drop[1] > np.log1p(6.0)  # 800 lost against a usual variation of about 7


def test_purge_reasons_are_silent_without_a_loss() -> None:
    """Even where the model's trees push on a zero drop score, no reason cites it."""
    frame = frame_of([50] * 20 + [2] + [50] * 19)
    contributions = np.zeros((1, len(frame.names)))
    for name in PURGE:
        contributions[0, frame.names.index(name)] = 2.0
    ranked = rank_reasons(frame, contributions, np.array([0.99]), np.array(["high"]))
    codes = [CODES[j] for j, _, _ in ranked.picks[0]]
    assert "FOLLOWER_PURGE" not in codes
