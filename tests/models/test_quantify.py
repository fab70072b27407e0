"""Adjusted classify-and-count: unbiased, honest intervals, small and empty samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trueclout.features.kernels.segments import Segments
from trueclout.models.quantify import AdjustedCount, authentic_followers


def simulate_flags(rng: np.random.Generator, share: float, n: int, accounts: int,
                   tpr: float, fpr: float) -> tuple[np.ndarray, float]:
    """Flag counts of ``accounts`` samples of ``n`` followers with a known fake share."""
    fakes = int(round(share * n))
    k = rng.binomial(fakes, tpr, accounts) + rng.binomial(n - fakes, fpr, accounts)
    return k.astype(np.float64), fakes / n


@pytest.mark.parametrize("share", [0.2, 0.5, 0.8])
def test_unbiased_when_the_rates_hold(share: float) -> None:
    rng = np.random.default_rng(1)
    tpr, fpr = 0.85, 0.07
    q = AdjustedCount(tpr, fpr, n_fake=10**6, n_human=10**6)
    k, truth = simulate_flags(rng, share, 300, 4000, tpr, fpr)
    est = q.estimate(k, np.full(len(k), 300.0)).share
    naive = k / 300
    standard_error = est.std() / np.sqrt(len(est))
    assert abs(est.mean() - truth) < 4 * standard_error
    # Plain counting is biased by the classifier's errors; the adjustment removes that.
    assert abs(naive.mean() - truth) > 10 * standard_error


@pytest.mark.parametrize("n", [20, 200, 1000])
def test_intervals_cover_the_truth_with_estimated_rates(n: int) -> None:
    rng = np.random.default_rng(2)
    tpr, fpr, n_val = 0.9, 0.05, 400
    covered = []
    for share in (0.0, 0.1, 0.3, 0.6, 0.9):
        for _ in range(20):
            # Rates measured on a validation set of n_val fakes and humans, as in training.
            q = AdjustedCount(rng.binomial(n_val, tpr) / n_val, rng.binomial(n_val, fpr) / n_val,
                              n_fake=n_val, n_human=n_val)
            k, truth = simulate_flags(rng, share, n, 50, tpr, fpr)
            est = q.estimate(k, np.full(len(k), float(n)))
            covered.append((est.low <= truth) & (truth <= est.high))
    assert np.concatenate(covered).mean() >= 0.9


def test_interval_widens_as_the_sample_shrinks() -> None:
    q = AdjustedCount(0.9, 0.05, 500, 500)
    n = np.array([20.0, 200.0, 1000.0])
    est = q.estimate(0.3 * n, n)
    width = est.high - est.low
    assert width[0] > width[1] > width[2] > 0


def test_a_sample_of_the_whole_audience_leaves_only_the_rates_uncertain() -> None:
    q = AdjustedCount(0.9, 0.05, 500, 500)
    sampled = np.array([200.0, 200.0])
    est = q.estimate(np.array([60.0, 60.0]), sampled, audience=np.array([1e6, 200.0]))
    assert est.share[0] == est.share[1]
    assert (est.high - est.low)[1] < (est.high - est.low)[0]


def test_empty_samples_and_useless_classifiers_give_nan_not_zero() -> None:
    est = AdjustedCount(0.9, 0.05, 100, 100).estimate(np.array([0.0, 0.0]),
                                                      np.array([0.0, 10.0]))
    assert np.isnan(est.share[0]) and np.isnan(est.low[0]) and np.isnan(est.high[0])
    assert est.share[1] == 0.0 and est.low[1] == 0.0 and est.high[1] > 0
    blind = AdjustedCount(0.5, 0.49, 100, 100).estimate(np.array([5.0]), np.array([10.0]))
    assert np.isnan(blind.share).all()


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 5000),
    flagged_share=st.floats(0, 1),
    tpr=st.floats(0.5, 1.0),
    fpr=st.floats(0.0, 0.4),
    n_rates=st.integers(1, 10_000),
    audience_extra=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_estimates_are_ordered_and_inside_zero_one(
    n: int, flagged_share: float, tpr: float, fpr: float, n_rates: int,
    audience_extra: int | None,
) -> None:
    q = AdjustedCount(tpr, fpr, n_rates, n_rates)
    k = np.array([np.floor(flagged_share * n)])
    audience = None if audience_extra is None else np.array([float(n + audience_extra)])
    est = q.estimate(k, np.array([float(n)]), audience)
    assert 0 <= est.low[0] <= est.share[0] <= est.high[0] <= 1


def test_estimate_share_reduces_per_account_and_skips_unknown_flags() -> None:
    q = AdjustedCount(1.0, 0.0, 1000, 1000)
    seg = Segments(np.array([0, 0, 0, 0, 2, 2]), 3)
    flags = np.array([1, 0, np.nan, 1, 0, 0], dtype=np.float64)
    est = q.estimate_share(flags, seg, np.array([100.0, 50.0, 2.0]))
    assert est.share[0] == pytest.approx(2 / 3)
    assert np.isnan(est.share[1])  # no sampled followers
    assert est.share[2] == 0.0
    count, low, high = authentic_followers(est, np.array([100.0, 50.0, 2.0]))
    assert count[0] == pytest.approx(100 / 3)
    assert low[0] <= count[0] <= high[0]
    assert np.isnan(count[1])


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError, match="tpr must lie in"):
        AdjustedCount(1.2, 0.1, 10, 10)
    with pytest.raises(ValueError, match="at least one fake and one human"):
        AdjustedCount(0.9, 0.1, 0, 10)
    q = AdjustedCount(0.9, 0.1, 10, 20)
    assert AdjustedCount.from_dict(q.to_dict()) == q


def test_rates_from_groups_read_the_best_caught_market_and_keep_the_spread() -> None:
    y = np.array([1] * 100 + [1] * 100 + [0] * 200)
    groups = np.array(["known"] * 100 + ["new"] * 100 + ["humans"] * 200, dtype=object)
    flagged = np.concatenate([np.arange(100) < 95, np.arange(100) < 40, np.arange(200) < 4])
    unseen = np.concatenate([np.arange(100) < 90, np.arange(100) < 20, np.arange(200) < 6])
    q = AdjustedCount.from_held_out(y, flagged, groups, unseen_flagged=unseen)
    assert q.tpr == pytest.approx(0.95) and q.fpr == pytest.approx(0.02)
    # root mean square distance of the unseen rates from the rate used
    assert q.tpr_sd == pytest.approx(np.sqrt(((0.90 - 0.95) ** 2 + (0.20 - 0.95) ** 2) / 2))
    assert q.groups["new"] == {"n_fake": 100, "n_human": 0, "tpr": 0.4, "tpr_unseen": 0.2}
    # A market caught at 20% instead of 95%: the interval's top reaches its share.
    est = q.estimate(np.array([0.2 * 0.5 * 1000 + 0.02 * 500]), np.array([1000.0]))
    assert est.share[0] < 0.2 and est.high[0] >= 0.5
