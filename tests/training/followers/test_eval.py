"""Evaluation of the follower model in one distribution: metrics, folds and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.models.follower_builders import FAST_MODEL, cresci_folder
from trueclout.models.follower_model import FollowerModel
from trueclout.training.data.followers import read_followers
from trueclout.training.evaluate.followers import (
    classification_metrics,
    cross_validate,
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
