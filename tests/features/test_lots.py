"""Bought-follower lots: constructed samples with known answers, and the invariants."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features.builders import DAY, OBSERVED, iso, organic_account, tables_of
from trueclout.features.families.audience import ShareEstimate
from trueclout.features.families.fingerprints import wilson_interval
from trueclout.features.families.lots import LotEvidence, combine_share, find_lots
from trueclout.features.humanize import pct
from trueclout.features.kernels.segments import Segments
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import render_reason

SECONDS = 86_400.0
NOW = 20_000 * SECONDS  # late 2024, in seconds since the epoch
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def organic(rng: np.random.Generator, n: int, years: float = 10.0) -> np.ndarray:
    """Accounts created evenly over ``years`` before now."""
    return NOW - rng.uniform(0, 365.25 * years, n) * SECONDS


def lot(rng: np.random.Generator, n: int, days_ago: float = 500.0, within: float = 10.0
        ) -> np.ndarray:
    """``n`` accounts created within ``within`` days, ``days_ago`` before now."""
    return NOW - (days_ago + rng.uniform(0, within, n)) * SECONDS


def one(created: np.ndarray, followed: np.ndarray | None = None) -> LotEvidence:
    return find_lots(created, Segments(np.zeros(len(created), dtype=np.int64), 1), followed)


@pytest.mark.parametrize("seed", range(5))
def test_a_lot_of_30_percent_is_measured(seed: int) -> None:
    rng = np.random.default_rng(seed)
    created = np.concatenate([organic(rng, 140), lot(rng, 60)])
    found = one(created)
    assert found.share[0] == pytest.approx(0.30, abs=0.05)
    assert found.low[0] <= 0.30 <= found.high[0]
    assert found.lots[0] == 1 and found.known[0] == 200
    assert found.largest[0] == pytest.approx(found.share[0])
    assert (found.in_lot[140:] == 1).all()
    assert found.in_lot[:140].sum() <= 2  # only organic followers created in the lot's weeks


@pytest.mark.parametrize("seed", range(5))
def test_a_lot_of_10_percent_is_found(seed: int) -> None:
    rng = np.random.default_rng(seed)
    found = one(np.concatenate([organic(rng, 180), lot(rng, 20)]))
    assert found.lots[0] >= 1
    assert found.share[0] >= 0.05
    assert found.low[0] <= 0.10 <= found.high[0]


def test_a_lot_delivered_over_four_weeks_is_one_lot() -> None:
    # FSF on cresci-2015: 66% in one week, all within four.
    rng = np.random.default_rng(3)
    created = np.concatenate([organic(rng, 100), lot(rng, 66, 500, 7), lot(rng, 34, 507, 21)])
    found = one(created)
    assert found.lots[0] == 1
    assert found.share[0] >= 0.40


@pytest.mark.parametrize("seed", range(5))
def test_an_organic_audience_has_no_lot(seed: int) -> None:
    found = one(organic(np.random.default_rng(seed), 1_000))
    assert found.share[0] <= 0.01
    assert found.lots[0] == 0
    assert np.nansum(found.in_lot) == 0


@pytest.mark.parametrize("seed", range(5))
def test_an_organic_viral_spike_of_new_accounts_is_not_a_lot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    recent = NOW - rng.uniform(0, 91, 400) * SECONDS  # 40% created evenly over 3 months
    found = one(np.concatenate([organic(rng, 600), recent]))
    assert found.share[0] <= 0.05
    # Growth still rising at the observation: the newest week is the densest.
    rising = NOW - 91 * (1 - np.sqrt(rng.uniform(0, 1, 400))) * SECONDS
    assert one(np.concatenate([organic(rng, 600), rising])).share[0] <= 0.05


@pytest.mark.parametrize("seed", range(5))
def test_a_young_platform_is_not_a_lot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert one(organic(rng, 1_000, years=1.0)).share[0] <= 0.05
    growing = NOW - 365 * (1 - np.sqrt(rng.uniform(0, 1, 1_000))) * SECONDS
    assert one(growing).share[0] <= 0.05


def test_five_followers_are_not_evidence() -> None:
    found = one(NOW - np.array([400.0, 400.1, 400.2, 400.3, 400.4]) * SECONDS)
    assert not found.share[0] > 0 and not found.lots[0] > 0
    assert np.isnan(found.share[0]) and np.isnan(found.in_lot).all()
    assert found.known[0] == 5


def test_unknown_creation_dates_are_ignored() -> None:
    rng = np.random.default_rng(4)
    created = np.concatenate([organic(rng, 140), lot(rng, 60)])
    with_unknown = np.concatenate([created[:70], np.full(50, np.nan), created[70:]])
    a, b = one(created), one(with_unknown)
    assert b.known[0] == 200
    for name in ("share", "low", "high", "largest", "lots"):
        assert getattr(a, name)[0] == getattr(b, name)[0], name
    assert np.isnan(b.in_lot[70:120]).all()
    np.testing.assert_array_equal(np.delete(b.in_lot, np.s_[70:120]), a.in_lot)


def test_lot_members_that_followed_together_co_arrive() -> None:
    rng = np.random.default_rng(5)
    created = np.concatenate([organic(rng, 140), lot(rng, 60)])
    followed = np.concatenate([NOW - rng.uniform(1, 300, 140) * SECONDS,
                               NOW - (30 + rng.uniform(0, 2, 60)) * SECONDS])
    # Organic followers created in the lot's weeks count as members too.
    assert one(created, followed).co_arrival[0] >= 0.95
    assert np.isnan(one(created).co_arrival[0])
    no_lot = one(organic(rng, 500), NOW - rng.uniform(1, 300, 500) * SECONDS)
    assert np.isnan(no_lot.co_arrival[0])


# -- one account equals its row among many; more members never lower the share ---------------

samples = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(0, 400),  # organic followers
    st.integers(0, 80),  # lot members
    st.floats(0.0, 20.0),  # the lot's spread in days
    st.floats(0.0, 3_000.0),  # the lot's age in days
    st.sampled_from([1.0, 3.0, 10.0]),  # years the organic followers span
)


def sample(seed: int, n_organic: int, n_lot: int, within: float, days_ago: float,
           years: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([organic(rng, n_organic, years), lot(rng, n_lot, days_ago, within)])


def assert_same(a: LotEvidence, i: int, b: LotEvidence, j: int) -> None:
    for name in ("share", "low", "high", "largest", "lots", "known", "co_arrival"):
        np.testing.assert_allclose(getattr(a, name)[i], getattr(b, name)[j], rtol=1e-12,
                                   atol=1e-15, equal_nan=True, err_msg=name)


@SETTINGS
@given(accounts=st.lists(samples, min_size=1, max_size=6), order_seed=st.integers(0, 2**32 - 1))
def test_one_account_equals_its_row_among_many(accounts: list, order_seed: int) -> None:
    created = [sample(*a) for a in accounts]
    ids = np.concatenate([np.full(len(c), k, dtype=np.int64) for k, c in enumerate(created)])
    rows = np.concatenate(created)
    followed = rows + 2 * SECONDS
    order = np.random.default_rng(order_seed).permutation(len(rows))  # rows in any order
    together = find_lots(rows[order], Segments(ids[order], len(created)), followed[order])
    in_lot = np.empty(len(rows))
    in_lot[order] = together.in_lot
    start = np.cumsum([0] + [len(c) for c in created])
    for k, c in enumerate(created):
        alone = one(c, c + 2 * SECONDS)
        assert_same(alone, 0, together, k)
        np.testing.assert_array_equal(in_lot[start[k]:start[k + 1]], alone.in_lot)


@SETTINGS
@given(account=samples, extra=st.integers(1, 60), pick_seed=st.integers(0, 2**32 - 1))
def test_more_lot_members_never_lower_the_lot_share(account: tuple, extra: int,
                                                    pick_seed: int) -> None:
    created = sample(*account)
    before = one(created)
    members = np.flatnonzero(before.in_lot == 1)
    if len(members) == 0:  # no lot found: add to the planted one
        members = np.arange(account[1], len(created))
    if len(members) == 0:
        return
    more = np.random.default_rng(pick_seed).choice(created[members], extra)
    after = one(np.concatenate([created, more]))
    if not np.isnan(before.share[0]):
        assert after.share[0] >= before.share[0] - 1e-12
        assert after.largest[0] >= before.largest[0] - 1e-12


# -- joining the follower model's estimate -------------------------------------------------


def estimate(share: list[float], low: list[float], high: list[float]) -> ShareEstimate:
    return ShareEstimate(np.array(share), np.array(low), np.array(high))


def test_the_lot_lifts_a_model_estimate_that_reads_less() -> None:
    model = estimate([0.05, np.nan], [0.02, np.nan], [0.10, np.nan])
    out = combine_share(model, np.array([0.30, 0.30]), np.array([0.24, 0.24]),
                        np.array([0.36, 0.36]))
    np.testing.assert_allclose(out.share, [0.30, np.nan])
    # They disagree: the interval widens to hold both readings; the bottom stays the model's.
    np.testing.assert_allclose(out.low, [0.02, np.nan])
    np.testing.assert_allclose(out.high, [0.36, np.nan])
    assert out.level == model.level


def test_a_lot_never_lowers_the_lower_bound() -> None:
    # The adjusted score discounts by the lower bound: more lot members must never
    # shrink it, even where the lot's own interval reaches lower than the model's.
    model = estimate([0.30], [0.25], [0.35])
    for lot_share in (0.2, 0.31, 0.5, 0.9):
        out = combine_share(model, np.array([lot_share]), np.array([lot_share - 0.1]),
                            np.array([lot_share + 0.05]))
        assert out.low[0] == 0.25
        assert out.share[0] == max(0.30, lot_share)


def test_no_lot_or_a_smaller_one_leaves_the_model_estimate_alone() -> None:
    model = estimate([0.5, 0.5, 0.5], [0.4, 0.4, 0.4], [0.6, 0.6, 0.6])
    out = combine_share(model, np.array([0.0, np.nan, 0.2]), np.array([0.0, np.nan, 0.1]),
                        np.array([0.02, np.nan, 0.7]))
    for name in ("share", "low", "high"):
        np.testing.assert_array_equal(getattr(out, name), getattr(model, name))


shares = st.floats(0, 1)


@SETTINGS
@given(model=st.lists(st.tuples(shares, shares, shares), min_size=1, max_size=20),
       lots=st.lists(st.tuples(shares, shares, shares) | st.just((np.nan,) * 3),
                     min_size=20, max_size=20))
def test_the_joined_estimate_keeps_low_share_high_in_order(model: list, lots: list) -> None:
    m = np.sort(np.array(model), axis=1)
    lo = np.sort(np.array(lots[:len(model)]), axis=1)
    out = combine_share(ShareEstimate(m[:, 1], m[:, 0], m[:, 2]), lo[:, 1], lo[:, 0], lo[:, 2])
    assert (out.low <= out.share).all() and (out.share <= out.high).all()
    assert (out.share >= m[:, 1]).all() and (out.low >= 0).all() and (out.high <= 1).all()
    np.testing.assert_array_equal(out.low, m[:, 0])  # the discount's bound is the model's


class FlagsNobody:
    """A follower model that never met this market: every follower reads as genuine."""

    def fake_probability(self, signals: np.ndarray) -> np.ndarray:
        return np.zeros(len(signals))

    def estimate_share(self, probabilities: np.ndarray, segments: Segments,
                       followers_count: np.ndarray) -> ShareEstimate:
        sampled = segments.count()
        hits = segments.count(probabilities > 0.5)
        low, high = wilson_interval(hits, sampled)
        return ShareEstimate(np.where(sampled > 0, hits / np.maximum(sampled, 1), np.nan),
                             low, high)


def with_lot(doc: dict, n: int, days_ago: int = 500) -> dict:
    for i, f in enumerate(doc["followers"][:n]):
        f["created_at"] = iso(OBSERVED - days_ago * DAY - timedelta(hours=4 * i))
    return doc


def test_a_lot_shows_in_the_fake_share_of_a_model_that_never_met_its_market() -> None:
    tables = tables_of(with_lot(organic_account("lot", seed=11, n_followers=200), 60),
                       organic_account("plain", seed=12, n_followers=200))
    frame = compute_features(tables, audience_scorer=FlagsNobody())
    row = frame.row(0)
    assert row.value("audience_lot_share") == pytest.approx(0.30, abs=0.05)
    assert row.value("audience_model_fake_share") >= 0.25
    assert row.value("audience_model_fake_share_low") <= 0.30
    assert row.value("audience_model_fake_share_high") >= 0.30
    assert row.context["audience_lot_count"] == 1 and row.context["audience_lot_dated"] == 200
    text = render_reason("audience_lot_share", row.values, row.context)
    assert text.startswith(f"{pct(row.value('audience_lot_share'))} of 200 sampled followers' "
                           "accounts were created in short batches")
    # No lot: the model's own estimate, untouched.
    plain = frame.row(1)
    assert plain.value("audience_lot_share") == 0.0
    low, high = wilson_interval(np.array([0.0]), np.array([200.0]))
    assert plain.value("audience_model_fake_share") == 0.0
    assert plain.value("audience_model_fake_share_low") == low[0]
    assert plain.value("audience_model_fake_share_high") == high[0]
    # Without a follower model the joined estimate stays unknown; the lot has its feature.
    bare = compute_features(tables).row(0)
    assert np.isnan(bare.value("audience_model_fake_share"))
    assert bare.value("audience_lot_share") == row.value("audience_lot_share")
