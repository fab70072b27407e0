"""Thin, odd and broken inputs: missing data is unknown (NaN), never evidence or a crash."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest

from tests.features.builders import (
    DAY,
    OBSERVED,
    crude_fake,
    iso,
    organic_account,
    tables_of,
    with_crude_fakes,
)
from trueclout.features.families.audience import AudienceScorer, ShareEstimate
from trueclout.features.frame import FeatureFrame
from trueclout.features.kernels.segments import Segments
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import (
    FEATURE_NAMES,
    FEATURES_BY_FAMILY,
    GRAPH_COLUMNS,
    GRAPH_FEATURES,
)
from trueclout.tables import SnapshotTables, empty_tables

LOCAL = {family: [n for n in names if n not in GRAPH_FEATURES]
         for family, names in FEATURES_BY_FAMILY.items()}


def bare(account_id: str = "bare") -> dict:
    """A profile and nothing else: every list empty."""
    doc = organic_account(account_id, seed=1)
    for name in ("follower_history", "followers", "posts", "engagements", "reposts_made"):
        doc[name] = []
    return doc


def test_empty_tables_give_an_empty_frame() -> None:
    frame = compute_features(empty_tables())
    assert frame.values.shape == (0, len(FEATURE_NAMES))
    assert all(len(v) == 0 for v in frame.sufficiency.values())
    assert len(frame.to_pandas()) == 0


def test_an_account_with_only_a_profile_is_unknown_not_clean() -> None:
    frame = compute_features(tables_of(bare(), organic_account("full", seed=2)))
    row = frame.row(0)
    for family in ("audience", "growth", "engagement"):
        assert row.sufficiency[family] == 0
        for name in LOCAL[family]:
            assert np.isnan(row.value(name)), name
    for name in LOCAL["profile"]:
        if name != "profile_engagement_rate":  # needs posts
            assert not np.isnan(row.value(name)), name
    assert np.isnan(row.value("profile_engagement_rate"))
    assert frame.row(1).sufficiency["audience"] == 200


def test_too_little_history_gives_nan_growth_with_its_day_count() -> None:
    short = organic_account("short", seed=3, days=5)
    frame = compute_features(tables_of(short))
    assert frame.sufficiency["growth"][0] == 5
    assert all(np.isnan(frame.column(n)[0]) for n in LOCAL["growth"])


def test_gappy_history_is_resampled_honestly() -> None:
    """A weekly history with a 7,000 gain inside one gap: the gain is spread over the
    gap (1,000 a day), not piled onto one day, and only real observations count."""
    doc = organic_account("weekly", seed=4, days=120)
    weekly = doc["follower_history"][::7]
    jump_at = len(weekly) // 2
    for k, h in enumerate(weekly):
        h["followers"] = 10_000 + 70 * k + (7_000 if k >= jump_at else 0)
    doc["follower_history"] = weekly
    frame = compute_features(tables_of(doc))
    row = frame.row(0)
    assert row.sufficiency["growth"] == len(weekly)
    assert row.context["growth_history_days"] == 7 * (len(weekly) - 1) + 1
    assert row.context["growth_max_gain"] == pytest.approx(1_010)
    assert row.context["growth_total_gain"] == pytest.approx(70 * (len(weekly) - 1) + 7_000)
    assert row.value("growth_top_days_share") < 0.5


def test_repeated_actors_and_same_second_engagements() -> None:
    doc = organic_account("busy", seed=5, n_posts=4, engagements_per_post=3)
    post = doc["posts"][0]
    at = post["created_at"]
    doc["engagements"] += [{"actor_id": "same", "post_id": post["post_id"], "kind": kind,
                            "at": at} for kind in ("like", "repost", "reply", "like")]
    frame = compute_features(tables_of(doc))
    row = frame.row(0)
    assert row.sufficiency["engagement"] == 4 * 3 + 4
    assert row.context["engagement_actors"] <= 4 * 3 + 1
    for name in LOCAL["engagement"]:
        if name not in ("engagement_synchrony", "engagement_reciprocity",
                        "engagement_reciprocal_repost_share",
                        "engagement_core_round_spread"):  # needs regulars on 3+ posts
            assert np.isfinite(row.value(name)), name
    assert row.value("engagement_fast_share") >= 4 / 16


def test_followers_with_unreported_fields_are_unknown() -> None:
    doc = organic_account("sparse", seed=6, n_followers=20)
    for f in doc["followers"]:
        f.update(default_avatar=None, bio=None, followed_at=None, display_name=None)
    row = compute_features(tables_of(doc)).row(0)
    for name in ("audience_default_avatar_share", "audience_empty_bio_share",
                 "audience_young_at_follow_share"):
        assert np.isnan(row.value(name)), name
    assert row.value("audience_inactive_share") == 0.0
    # Three known fingerprints are too few to judge a follower crude.
    assert np.isnan(row.value("audience_crude_fake_share"))


def test_one_template_repeated_in_the_sample_is_found() -> None:
    doc = organic_account("tmpl", seed=7, n_followers=30)
    for i, f in enumerate(doc["followers"][:6]):
        f["username"] = f"Maria_{1000 + 37 * i}"
    row = compute_features(tables_of(doc)).row(0)
    assert row.value("audience_template_share") == pytest.approx(6 / 30)


def test_creation_day_clusters_are_found() -> None:
    doc = organic_account("cluster", seed=8, n_followers=40)
    day = OBSERVED - 300 * DAY
    for i, f in enumerate(doc["followers"][:5]):
        f["created_at"] = iso(day + timedelta(minutes=7 * i))
    row = compute_features(tables_of(doc)).row(0)
    assert row.value("audience_creation_cluster_share") >= 5 / 40


class ToyScorer:
    """Fake probability = the default-avatar flag; share = mean, interval +-0.1."""

    def fake_probability(self, signals: np.ndarray) -> np.ndarray:
        return np.nan_to_num(signals[:, 0])

    def estimate_share(self, probabilities: np.ndarray, segments: Segments,
                       followers_count: np.ndarray) -> ShareEstimate:
        share = segments.mean(probabilities)
        return ShareEstimate(share, np.clip(share - 0.1, 0, 1), np.clip(share + 0.1, 0, 1))


def test_audience_scorer_fills_the_model_columns() -> None:
    assert isinstance(ToyScorer(), AudienceScorer)
    tables = tables_of(with_crude_fakes(organic_account("f", seed=9), n=100), bare("b"))
    without = compute_features(tables)
    assert np.isnan(without.column("audience_model_fake_share")).all()
    frame = compute_features(tables, audience_scorer=ToyScorer())
    row = frame.row(0)
    share = row.value("audience_model_fake_share")
    assert share == pytest.approx(0.5, abs=0.05)
    assert row.value("audience_model_fake_share_low") == pytest.approx(share - 0.1)
    assert row.context["audience_model_fake_followers"] == pytest.approx(
        share * row.context["followers_count"])
    assert np.isnan(frame.row(1).value("audience_model_fake_share"))


def test_a_scorer_with_the_wrong_shape_is_refused() -> None:
    class Broken(ToyScorer):
        def fake_probability(self, signals: np.ndarray) -> np.ndarray:
            return np.zeros(3)

    with pytest.raises(ValueError, match="one probability per follower"):
        compute_features(tables_of(organic_account("x", seed=1)), audience_scorer=Broken())


def graph_table(**columns: list) -> pa.Table:
    return pa.table(columns)


def test_graph_features_are_looked_up_by_account_and_nan_when_absent() -> None:
    tables = tables_of(organic_account("a", seed=1), organic_account("b", seed=2))
    graph = graph_table(account_id=["b", "zzz"], ring_block_id=[7, 8],
                        **{c: [float(k + 1), 0.0] for k, c in enumerate(GRAPH_COLUMNS)})
    frame = compute_features(tables, graph=graph)
    assert np.isnan(frame.values[0, -len(GRAPH_FEATURES):]).all()
    np.testing.assert_array_equal(frame.values[1, -len(GRAPH_FEATURES):],
                                  np.arange(1, len(GRAPH_COLUMNS) + 1))
    assert np.isnan(compute_features(tables).values[:, -len(GRAPH_FEATURES):]).all()
    with pytest.raises(ValueError, match="lockstep_score"):
        compute_features(tables, graph=graph.drop_columns(["lockstep_score"]))


def test_tables_off_the_contract_are_refused_with_the_column_named() -> None:
    tables = tables_of(organic_account("a", seed=1))
    broken = SnapshotTables(**{**dict(tables.items()),
                               "posts": tables.posts.drop_columns(["created_at"])})
    with pytest.raises(ValueError, match="posts.*created_at"):
        compute_features(broken)
    twice = SnapshotTables(**{**dict(tables.items()),
                              "profiles": pa.concat_tables([tables.profiles] * 2)})
    with pytest.raises(ValueError, match="account_id repeats"):
        compute_features(twice)
    orphan = tables_of(organic_account("b", seed=2))
    mixed = SnapshotTables(**{**dict(tables.items()), "followers": orphan.followers})
    with pytest.raises(ValueError, match="not in profiles"):
        compute_features(mixed)


def test_frame_take_select_concat_and_pandas() -> None:
    frame = compute_features(tables_of(organic_account("a", seed=1), bare("b"),
                                       organic_account("c", seed=3)))
    sub = frame.select(["c", "a"])
    np.testing.assert_array_equal(sub.values, frame.values[[2, 0]], strict=True)
    assert list(sub.account_ids) == ["c", "a"]
    both = FeatureFrame.concat([frame.take([0]), frame.take([1, 2])])
    np.testing.assert_array_equal(both.values, frame.values)
    df = frame.to_pandas(sufficiency=True, context=True)
    assert list(df.index) == ["a", "b", "c"]
    assert df["sufficiency_audience"].tolist() == [200.0, 0.0, 200.0]
    assert list(df.columns[: len(FEATURE_NAMES)]) == list(FEATURE_NAMES)
    with pytest.raises(KeyError, match="zzz"):
        frame.index_of("zzz")


def test_fakes_added_to_a_bare_account_are_seen() -> None:
    doc = bare("x")
    doc["followers"] = [crude_fake(i) for i in range(10)]
    row = compute_features(tables_of(doc)).row(0)
    assert row.value("audience_crude_fake_share") == 1.0
    assert row.sufficiency["audience"] == 10
