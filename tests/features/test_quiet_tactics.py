"""Signals from the mechanism of each tactic, however quietly it is played.

Constructed accounts with known answers: a churn tool cycling waves of 15%
of its following, a pod that waits hours before its round, a lot dripped
over a month; and the honest account each resembles.  The signal must tell
them apart at the feature level, whatever the model makes of it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.builders import (
    organic_account,
    tables_of,
    with_churn,
    with_community,
    with_drip,
    with_following_event,
    with_pod,
    with_pod_rounds,
    with_takeoff,
)
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features

SEEDS = (1, 2, 3, 4)


def frame(*docs: dict) -> FeatureFrame:
    named = [{**doc, "account_id": f"case{i}"} for i, doc in enumerate(docs)]
    return compute_features(tables_of(*named))


def base(seed: int) -> dict:
    return organic_account("acct", seed, n_followers=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_churn_waves_reverse_the_following_count_and_a_spree_does_not(seed: int) -> None:
    f = frame(base(seed), with_following_event(base(seed), share=0.6),
              with_churn(base(seed), wave_share=0.05, period=12),
              with_churn(base(seed), wave_share=0.5, period=6))
    reversals = f.column("growth_following_reversals")
    plain, spree, small, large = reversals
    assert spree <= plain + 0.3  # a one-way move adds no turn
    assert min(small, large) >= 4.0  # a wave up and down every 6-12 days: 5-10 turns a month
    assert max(plain, spree) < 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_churn_undoes_its_follows_cycle_after_cycle_and_a_spree_and_clean_up_once(
        seed: int) -> None:
    spree_then_clean_up = with_following_event(
        with_following_event(base(seed), share=0.6, days_ago=60), share=-0.6, days_ago=30)
    f = frame(base(seed), with_following_event(base(seed), share=0.6), spree_then_clean_up,
              with_churn(base(seed), wave_share=0.05, period=12),
              with_churn(base(seed), wave_share=0.5, period=6))
    plain, spree, once, small, large = f.column("growth_following_cycles")
    # Organic wobble can pass for one rise taken back (the band is wide: 40-150%);
    # one rise undone is a clean-up, not a cycle of them.
    assert max(plain, spree, once) <= 1
    assert min(small, large) >= 5  # 120 days of waves every 6-12 days


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("round_hours", [0.05, 1.0, 3.0, 6.0])
def test_a_pod_round_is_tight_at_any_pace_and_a_community_is_not(seed: int,
                                                                 round_hours: float) -> None:
    f = frame(with_pod_rounds(base(seed), round_s=round_hours * 3_600, seed=seed),
              with_community(base(seed), spread_hours=10, seed=seed))
    pod, community = f.column("engagement_core_round_spread")
    assert pod < 0.2 and community > 0.25
    assert pod < community - 0.1


def test_round_spread_is_unknown_without_regular_engagers() -> None:
    f = frame(base(1))
    assert np.isnan(f.column("engagement_core_round_spread")[0])


def test_a_fast_pod_is_still_a_tight_round() -> None:
    (spread,) = frame(with_pod(base(2), within_s=120)).column("engagement_core_round_spread")
    assert spread < 0.3


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("days", [7, 30])
def test_a_drip_outgrows_its_engagement_and_earned_growth_does_not(seed: int, days: int) -> None:
    f = frame(base(seed), with_drip(base(seed), bought=6_000, days=days),
              with_takeoff(base(seed), gained=6_000, days=days, seed=seed))
    plain, drip, takeoff = f.column("growth_window_mismatch")
    assert drip > 0.35
    assert max(plain, takeoff) < 0.2
    assert f.context["growth_window_days"][1] in (7, 30)
