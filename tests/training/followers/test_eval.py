"""Evaluation of the follower model: metrics, fold designs and semi-real audiences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.models.follower_builders import FAST_MODEL, cresci_folder
from trueclout.errors import UserError
from trueclout.models.follower_model import FollowerModel
from trueclout.models.quantify import AdjustedCount
from trueclout.training.data.followers import read_followers
from trueclout.training.evaluate.followers import (
    FoldRun,
    HeldOut,
    classification_metrics,
    cross_validate,
    leave_one_market_out,
    market_splits,
    semi_real_audiences,
    summarise_audiences,
    write_plots,
)


def test_metrics_known_answers() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    flagged = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.05])
    m = classification_metrics(y, p, flagged)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # MCC = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) with tp 2, tn 4, fp 1, fn 1
    assert m["mcc"] == pytest.approx((2 * 4 - 1 * 1) / np.sqrt(3 * 3 * 5 * 5))
    # 15 human-fake pairs; the fake at 0.3 is outranked only by the human at 0.7.
    assert m["roc_auc"] == pytest.approx(14 / 15)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert (m["n_fake"], m["n_human"]) == (3, 5)


def test_metrics_of_one_class_are_null_where_undefined() -> None:
    m = classification_metrics(np.zeros(4, int), np.array([0.1, 0.2, 0.6, 0.3]),
                               np.array([0, 0, 1, 0]))
    assert m["mcc"] is None and m["roc_auc"] is None and m["pr_auc"] is None
    assert m["recall"] is None and m["f1"] is None
    assert m["precision"] == 0.0 and m["accuracy"] == 0.75


def test_market_splits_never_train_on_the_held_out_market() -> None:
    y = np.array([0] * 20 + [1] * 10 + [1] * 6)
    groups = np.array(["H"] * 20 + ["A"] * 10 + ["B"] * 6, dtype=object)
    splits = market_splits(y, groups, "A", human_folds=5, seed=1)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested) == sorted(np.flatnonzero(groups != "B"))  # every human and A once
    for train, test in splits:
        assert not set(train) & set(test)
        assert "A" not in set(groups[train])
        assert set(groups[train]) == {"H", "B"}
        assert set(groups[test]) == {"H", "A"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    return read_followers(cresci_folder(tmp_path_factory.mktemp("cv"), humans=40,
                                        fakes={"A": 25, "B": 25}))


def test_cross_validation_scores_every_profile_once(data) -> None:
    results = cross_validate(data, folds=3, make_model=lambda: FollowerModel(**FAST_MODEL))
    assert set(results) == {"xgboost", "logistic_regression", "random_forest"}
    for held in results.values():
        assert sorted(held.rows) == list(range(len(data)))
        assert held.metrics()["n_fake"] == 50
    assert all(run.quantifier is not None for run in results["xgboost"].runs)


def test_leave_one_market_out_runs_each_market_and_needs_two(data) -> None:
    results = leave_one_market_out(data, human_folds=3, baselines=False,
                                   make_model=lambda: FollowerModel(**FAST_MODEL))
    assert set(results) == {"A", "B"}
    held = results["A"]["xgboost"]
    assert set(data.groups[held.rows]) == {"H", "A"}
    only_a = data.take(data.groups != "B")
    with pytest.raises(UserError, match="at least two markets"):
        leave_one_market_out(only_a)


def test_a_perfect_classifier_errs_only_by_sampling_the_audience() -> None:
    from scipy.stats import binom

    y = np.array([0] * 30 + [1] * 30)
    run = FoldRun(np.arange(60), y.astype(float), y, AdjustedCount(1.0, 0.0, 10**5, 10**5))
    cells = semi_real_audiences(HeldOut(y, np.array(["g"] * 60, dtype=object), [run]),
                                shares=(0.0, 0.5, 0.9), sizes=(20, 200), draws=3000)
    assert len(cells) == 6
    for cell in cells:
        # The sample's fake count is Binomial(size, share): its mean absolute deviation
        # from the audience's share is the error left when every profile is judged right.
        k = np.arange(cell.size + 1)
        expected = np.sum(binom.pmf(k, cell.size, cell.share) * np.abs(k / cell.size
                                                                         - cell.share))
        assert cell.mae == pytest.approx(expected, rel=0.1, abs=1e-12)
        assert cell.coverage >= 0.9
    summary = summarise_audiences(cells)
    assert [s["size"] for s in summary] == [20, 200]
    assert summary[0]["mean_width"] > summary[1]["mean_width"]


def test_semi_real_audiences_recover_the_share_of_a_noisy_classifier() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 2000 + [1] * 2000)
    tpr, fpr = 0.8, 0.1
    flagged = np.where(y == 1, rng.random(4000) < tpr, rng.random(4000) < fpr).astype(int)
    measured = AdjustedCount(flagged[y == 1].mean(), flagged[y == 0].mean(), 2000, 2000)
    run = FoldRun(np.arange(4000), flagged.astype(float), flagged, measured)
    cells = semi_real_audiences(HeldOut(y, np.array(["g"] * 4000, dtype=object), [run]),
                                sizes=(200,), draws=300)
    naive_error = abs((tpr * 0.9 + fpr * 0.1) - 0.9)  # counting flags at a 90% share
    assert max(abs(c.bias) for c in cells) < naive_error / 4
    assert np.mean([c.coverage for c in cells]) >= 0.9


def test_plots_are_written_and_curves_need_both_classes(tmp_path: Path) -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    both = write_plots(tmp_path / "a", y, {"xgboost": p}, threshold=0.5,
                       importance={"x": 2.0, "y": 1.0})
    assert {"roc.png", "pr.png", "calibration.png", "score_distributions.png",
            "feature_importance.png"} <= set(both)
    one = write_plots(tmp_path / "b", np.zeros(3, int), {"xgboost": p[:3]})
    assert "roc.png" not in one and "score_distributions.png" in one
    assert all((tmp_path / "a" / f).stat().st_size > 0 for f in both)
