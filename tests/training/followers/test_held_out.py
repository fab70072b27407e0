"""Held-out units and audiences: what the model never saw, and the share it then estimates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

from tests.models.follower_builders import FAST_MODEL, cresci_folder
from trueclout.errors import UserError
from trueclout.models.follower_model import FollowerModel
from trueclout.models.quantify import AdjustedCount
from trueclout.training.data.followers import read_labelled
from trueclout.training.evaluate import held_out as H
from trueclout.training.evaluate.audiences import (
    LARGE_SAMPLE,
    draw_audiences,
    model_estimate,
    share_errors,
)


@pytest.fixture(scope="module")
def three_markets(tmp_path_factory: pytest.TempPathFactory):
    """Three Twitter data sets, each its own market; d2's fakes are of a kind d1 and d3 lack."""
    root = tmp_path_factory.mktemp("markets")
    cresci_folder(root / "d1", humans=300, fakes={"A": 250}, seed=1)
    cresci_folder(root / "d2", humans=300, fakes={"A": 0, "B": 250}, seed=2)  # B: fake_active
    cresci_folder(root / "d3", humans=300, fakes={"C": 250}, seed=3)
    for empty in root.glob("d2/fakes_A.csv"):
        empty.unlink()
    return read_labelled([root])


def test_no_group_is_ever_on_both_sides(three_markets) -> None:
    data = three_markets
    for by in H.BY:
        splits, skipped = H.unit_splits(data, by)
        assert not skipped and len(splits) == 3
        for split in splits:
            assert not set(data.units[split.train]) & set(data.units[split.test])
            assert not np.intersect1d(split.train, split.test).size
    by_group = {s.unit: s for s in H.unit_splits(data, "group")[0]}
    # A market is tested beside the humans of its own data set, who are out of training too.
    assert by_group["d2/B"].tested_on == ("d2/B", "d2/H")
    assert "d2/H" not in by_group["d2/B"].trained_on
    with pytest.raises(ValueError, match="both sides"):
        H.UnitSplit("x", "twitter", np.array([0]), np.array([1]), ("d1/H",), ("d1/H",))


def test_what_cannot_be_held_out_is_said(three_markets) -> None:
    one = three_markets.select(datasets=["d1"])
    splits, skipped = H.unit_splits(one, "dataset")
    assert splits == [] and "one data set (d1)" in skipped[0]
    with pytest.raises(UserError, match="nothing can be held out"):
        H.held_out_study(one, by="dataset")
    with pytest.raises(UserError, match="--by must be one of"):
        H.unit_splits(one, "market")


def test_audiences_never_repeat_a_profile_and_skip_what_a_pool_cannot_fill() -> None:
    mixed = draw_audiences(np.arange(100), np.arange(100, 400), sizes=(50, 200),
                           shares=(0.0, 0.3, 0.8), draws=20, seed=1)
    assert (200, 0.8) in mixed.skipped and (200, 0.3) not in mixed.skipped
    for audience in range(mixed.n):
        rows = mixed.rows[mixed.ids == audience]
        assert len(rows) == len(np.unique(rows)) == mixed.size[audience]


def test_a_perfect_classifier_errs_only_by_sampling_the_audience() -> None:
    y = np.array([0] * 3000 + [1] * 3000)
    mixed = draw_audiences(np.flatnonzero(y == 1), np.flatnonzero(y == 0), sizes=(20, 200),
                           shares=(0.0, 0.5, 0.8), draws=1500, seed=0)
    estimate = model_estimate(mixed, y == 1, AdjustedCount(1.0, 0.0, 10**5, 10**5))
    errors = share_errors(mixed, estimate.share, estimate.low, estimate.high)
    for row in errors.by_size:
        # The sample's fake count is Binomial(size, share): its mean absolute deviation from
        # the audience's share is the error left when every profile is judged right.
        size = row["size"]
        k = np.arange(size + 1)
        expected = np.mean([np.sum(binom.pmf(k, size, s) * np.abs(k / size - s))
                            for s in (0.0, 0.5, 0.8)])
        assert row["mae"] == pytest.approx(expected, rel=0.1)
        assert row["coverage"] >= 0.9
    assert errors.by_size[0]["mean_width"] > errors.by_size[1]["mean_width"]


def test_spread_between_markets_widens_the_interval() -> None:
    """A market caught half as often as the ones measured: covered only when the rates'
    spread between markets is part of the interval."""
    rng = np.random.default_rng(0)
    y = np.array([0] * 3000 + [1] * 3000)
    flagged = np.where(y == 1, rng.random(6000) < 0.45, rng.random(6000) < 0.05)
    mixed = draw_audiences(np.flatnonzero(y == 1), np.flatnonzero(y == 0), sizes=(500,),
                           draws=100, seed=0)
    sure = AdjustedCount(0.9, 0.05, 5000, 5000)  # rates of the markets it met
    humble = AdjustedCount(0.9, 0.05, 5000, 5000, tpr_sd=0.25, fpr_sd=0.02)
    for quantifier, covers in ((sure, False), (humble, True)):
        est = model_estimate(mixed, flagged, quantifier)
        coverage = share_errors(mixed, est.share, est.low, est.high).large["coverage"]
        assert (coverage >= 0.9) is covers, coverage


@pytest.mark.slow
def test_a_market_never_seen_is_still_covered_at_200_followers(three_markets,
                                                               tmp_path: Path) -> None:
    """The constructed shift: d2's fakes are of a kind the model never met."""
    original = H.FollowerModel
    try:
        H.FollowerModel = lambda **kw: original(**(kw | FAST_MODEL))  # type: ignore[misc]
        study = H.held_out_study(three_markets, by="dataset", draws=20, threads=1,
                                 report=tmp_path)
    finally:
        H.FollowerModel = original  # type: ignore[misc]
    units = {u["unit"]: u for u in study["units"]}
    assert set(units) == {"d1", "d2", "d3"}
    shifted = H.shipped_estimate(units["d2"]["audiences"])[f"at_{LARGE_SAMPLE}_plus"]
    assert shifted["coverage"] >= 0.9, shifted
    worst = study["worst"]["twitter"]
    assert worst["roc_auc"] == min(u["metrics"]["xgboost"]["roc_auc"] for u in units.values())
    assert H.BASELINE in units["d1"]["metrics"]
    assert (tmp_path / "held_out_units.png").is_file()
    assert (tmp_path / "worst_twitter" / "roc.png").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["worst"] == study["worst"]
    lines = H.held_out_lines(study)
    assert lines[-1].startswith("worst twitter unit:")


def test_the_shipped_recipe_learns_with_groups_held_out(three_markets) -> None:
    data = three_markets
    model = FollowerModel(**FAST_MODEL).fit(data.signals(), data.labels, data.units)
    assert model.held_out_by_ == "group"
    q = model.quantifier_
    assert set(q.groups) == set(data.units)
    assert {"tpr", "tpr_unseen"} <= set(q.groups["d2/B"])
    assert q.tpr_sd > 0 or q.fpr_sd > 0
