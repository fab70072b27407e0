"""Ranked reasons from contributions: constructed cases with known answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.factories import snapshot_dict
from trueclout.contract import AccountSnapshot
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import REGISTRY, feature_index
from trueclout.service.scoring.reasons import ReasonPolicy, rank_reasons, render_reasons
from trueclout.tables import snapshot_to_tables

# Features the cases below use, set to values between clean and suspicious.
MIDDLING = {"audience_inactive_share": 0.3, "audience_follow_heavy_share": 0.25,
            "audience_digit_username_share": 0.2, "engagement_fast_share": 0.4,
            "engagement_actor_gini": 0.5, "engagement_overlap": 0.6}


@pytest.fixture(scope="module")
def frame() -> FeatureFrame:
    snapshot = AccountSnapshot.model_validate(snapshot_dict(followers=20, posts=6,
                                                            engagements_per_post=5,
                                                            history_days=30))
    computed = compute_features(snapshot_to_tables(snapshot))
    values = computed.values.copy()
    for name, value in MIDDLING.items():
        values[0, feature_index(name)] = value
    return replace(computed, values=values)


def contributions(frame: FeatureFrame, **by_feature: float) -> np.ndarray:
    out = np.zeros_like(frame.values)
    for name, value in by_feature.items():
        out[0, feature_index(name)] = value
    return out


def codes(frame: FeatureFrame, contrib: np.ndarray, level: str = "high", risk: float = 0.9,
          policy: ReasonPolicy | None = None) -> list[tuple[str, float]]:
    ranked = rank_reasons(frame, contrib, np.array([risk]), np.array([level], dtype=object),
                          policy or ReasonPolicy())
    return [(r.code, r.contribution) for r in render_reasons(frame, ranked, 0)]


def test_contributions_are_summed_per_code_and_ranked(frame: FeatureFrame) -> None:
    contrib = contributions(frame, audience_inactive_share=0.4,
                            audience_follow_heavy_share=0.3, engagement_fast_share=0.9,
                            audience_digit_username_share=0.2)
    assert codes(frame, contrib) == [("RING_SYNCHRONY", 0.9), ("FAKE_PROFILE_TRAITS", 0.7),
                                     ("FOLLOWER_NAME_PATTERNS", 0.2)]


def test_the_message_comes_from_the_strongest_feature_with_the_accounts_numbers(
        frame: FeatureFrame) -> None:
    contrib = contributions(frame, audience_inactive_share=0.1,
                            audience_follow_heavy_share=0.6)
    ranked = rank_reasons(frame, contrib, np.array([0.9]), np.array(["high"], dtype=object))
    (reason,) = render_reasons(frame, ranked, 0)
    assert (reason.code, reason.family) == ("FAKE_PROFILE_TRAITS", "audience")
    assert reason.message == ("25% of sampled followers follow at least 10 times more accounts "
                              "than follow them back.")


def test_only_signals_that_raised_the_risk(frame: FeatureFrame) -> None:
    contrib = contributions(frame, engagement_fast_share=-2.0, growth_burst_score=0.05,
                            engagement_overlap=0.3, engagement_core_share=-0.25)
    # A code's features are summed first: overlap 0.3 - 0.25 = 0.05 is below the floor.
    assert codes(frame, contrib) == []


def test_unknown_features_are_never_reasons(frame: FeatureFrame) -> None:
    unknown = [s.name for s in REGISTRY if np.isnan(frame.values[0, feature_index(s.name)])]
    assert "graph_ring_block_size" in unknown
    contrib = contributions(frame, **dict.fromkeys(unknown, 5.0))
    assert codes(frame, contrib) == []


def test_a_signal_at_its_cleanest_value_is_no_reason(frame: FeatureFrame) -> None:
    assert frame.values[0, feature_index("engagement_reciprocity")] == 0.0
    contrib = contributions(frame, engagement_reciprocity=0.9, engagement_fast_share=0.2)
    assert codes(frame, contrib) == [("RING_SYNCHRONY", 0.2)]


def test_no_reasons_below_the_probability_they_would_explain(frame: FeatureFrame) -> None:
    contrib = contributions(frame, engagement_fast_share=2.0)
    assert codes(frame, contrib, "low", risk=0.49) == []
    assert codes(frame, contrib, "low", risk=0.5) == [("RING_SYNCHRONY", 2.0)]


def test_profile_reasons_only_drive_a_high_risk(frame: FeatureFrame) -> None:
    contrib = contributions(frame, profile_verified=1.2, profile_age_days=0.9,
                            engagement_fast_share=0.2)
    assert codes(frame, contrib, "elevated") == [("RING_SYNCHRONY", 0.2)]
    # A profile signal must reach the higher floor (1.0) on its own: account age does not.
    assert codes(frame, contrib, "high") == [("NOT_VERIFIED", 1.2), ("RING_SYNCHRONY", 0.2)]


def test_at_most_max_reasons_strongest_first(frame: FeatureFrame) -> None:
    contrib = contributions(frame, audience_inactive_share=0.5, engagement_fast_share=0.9,
                            audience_digit_username_share=0.7, engagement_overlap=0.6,
                            engagement_actor_gini=0.8, engagement_repost_like_ratio=0.4)
    got = codes(frame, contrib)
    assert [c for c, _ in got] == ["RING_SYNCHRONY", "ENGAGEMENT_CONCENTRATION",
                                   "FOLLOWER_NAME_PATTERNS", "ENGAGEMENT_OVERLAP"]
    assert len(codes(frame, contrib, policy=ReasonPolicy(max_reasons=2))) == 2
    assert codes(frame, contrib, policy=ReasonPolicy(max_reasons=0)) == []


def test_a_value_normal_for_genuine_accounts_is_never_a_reason(frame: FeatureFrame) -> None:
    """A 1-in-25 follower pattern (4%) is below the genuine floor; 20% is not."""
    from trueclout.service.scoring.evidence import evidence_floors

    floor = evidence_floors()[feature_index("audience_template_share")]
    assert 0.04 <= floor < 0.2
    contrib = contributions(frame, audience_template_share=0.8)
    values = frame.values.copy()
    values[0, feature_index("audience_template_share")] = 0.04
    assert codes(replace(frame, values=values), contrib) == []
    values[0, feature_index("audience_template_share")] = 0.2
    assert codes(replace(frame, values=values), contrib) == [("FOLLOWER_NAME_PATTERNS", 0.8)]
