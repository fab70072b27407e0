"""Constructed accounts with known answers: each tactic shows where it should, and the
hard negatives (a viral post, a genuine community) do not look like it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.builders import (
    organic_account,
    tables_of,
    with_community,
    with_crude_fakes,
    with_pod,
    with_purchase,
    with_viral_post,
)
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features

N_ORGANIC = 120


@pytest.fixture(scope="module")
def frame() -> FeatureFrame:
    """A population of organic accounts plus one account per constructed case."""
    organic = [
        organic_account(f"organic-{i}", seed=i, n_posts=12, engagements_per_post=12,
                        n_followers=40)
        for i in range(N_ORGANIC)
    ]
    cases = [
        with_purchase(organic_account("purchase", seed=1_000), bought=5_000),
        with_viral_post(organic_account("viral", seed=1_001), gain=5_000),
        with_pod(organic_account("pod", seed=1_002), members=20, within_s=120),
        with_community(organic_account("community", seed=1_003), members=20,
                       spread_hours=10),
        with_crude_fakes(organic_account("fakes", seed=1_004), n=200),
        organic_account("plain", seed=1_005),
    ]
    return compute_features(tables_of(*organic, *cases))


def value(frame: FeatureFrame, account: str, feature: str) -> float:
    return float(frame.column(feature)[frame.index_of(account)])


def organic(frame: FeatureFrame, feature: str) -> np.ndarray:
    return frame.column(feature)[:N_ORGANIC]


def test_purchase_is_a_top_percentile_burst_with_high_mismatch(frame: FeatureFrame) -> None:
    for feature in ("growth_burst_score", "growth_burst_share", "growth_top_days_share"):
        assert value(frame, "purchase", feature) > np.percentile(organic(frame, feature), 99)
    assert value(frame, "purchase", "growth_engagement_mismatch") > 0.5
    ctx = frame.row(frame.index_of("purchase")).context
    assert ctx["growth_max_gain"] >= 5_000
    assert ctx["growth_burst_days"] >= 1


def test_viral_spike_with_engagement_is_a_burst_but_not_a_mismatch(frame: FeatureFrame) -> None:
    assert value(frame, "viral", "growth_burst_score") > np.percentile(
        organic(frame, "growth_burst_score"), 99)
    assert value(frame, "viral", "growth_engagement_mismatch") < 0.1
    assert value(frame, "viral", "growth_engagement_mismatch") < value(
        frame, "purchase", "growth_engagement_mismatch") - 0.5


def test_pod_scores_high_on_overlap_and_synchrony(frame: FeatureFrame) -> None:
    for feature in ("engagement_overlap", "engagement_core_share", "engagement_synchrony",
                    "engagement_fast_share", "engagement_reciprocity"):
        assert value(frame, "pod", feature) > np.percentile(organic(frame, feature), 99), feature
    assert value(frame, "pod", "engagement_median_delay") < np.percentile(
        organic(frame, "engagement_median_delay"), 1)
    assert frame.row(frame.index_of("pod")).context["engagement_core_actors"] == 20


def test_community_overlaps_like_a_pod_but_is_not_synchronised(frame: FeatureFrame) -> None:
    assert value(frame, "community", "engagement_overlap") > np.percentile(
        organic(frame, "engagement_overlap"), 99)
    assert value(frame, "community", "engagement_core_share") > 0.25
    for feature in ("engagement_synchrony", "engagement_fast_share"):
        assert value(frame, "community", feature) <= np.percentile(organic(frame, feature), 99)
        assert value(frame, "community", feature) < value(frame, "pod", feature) / 2


def test_crude_fakes_give_a_high_fingerprint_share(frame: FeatureFrame) -> None:
    assert value(frame, "fakes", "audience_crude_fake_share") == pytest.approx(1.0)
    assert np.nanmax(organic(frame, "audience_crude_fake_share")) < 0.2
    for feature in ("audience_default_avatar_share", "audience_empty_bio_share",
                    "audience_inactive_share", "audience_follow_heavy_share",
                    "audience_digit_username_share", "audience_young_at_follow_share",
                    "audience_creation_cluster_share", "audience_template_share"):
        assert value(frame, "fakes", feature) > np.nanpercentile(organic(frame, feature), 99), \
            feature
    ctx = frame.row(frame.index_of("fakes")).context
    assert ctx["audience_crude_fake_share_low"] > 0.95


def test_plain_account_is_unremarkable(frame: FeatureFrame) -> None:
    assert value(frame, "plain", "growth_engagement_mismatch") == 0.0
    assert value(frame, "plain", "growth_burst_share") == 0.0
    assert value(frame, "plain", "audience_crude_fake_share") < 0.2
    assert value(frame, "plain", "engagement_core_share") == 0.0
