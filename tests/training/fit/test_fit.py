"""Fitting: grouped folds, thresholds at stated precisions, refusals that say why."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from tests.models.test_artifact import TOY_CONFIG, toy_training_set
from trueclout.errors import UserError
from trueclout.models.account_model import (
    OVERALL,
    PROBABILITY_FLOOR,
    TARGETS,
    Calibrator,
    assign_levels,
)
from trueclout.training.fit.account import (
    check_device,
    choose_threshold,
    fit_account_model,
    fit_logistic,
    make_folds,
)


def test_threshold_takes_the_most_recall_with_the_fewest_false_alarms() -> None:
    # Calibrated scores, high to low: P P N P P | N N N; every positive is above 0.83.
    y = np.array([1, 1, 0, 1, 1, 0, 0, 0])
    p = np.array([0.99, 0.98, 0.97, 0.96, 0.9, 0.76, 0.2, 0.1])
    th = choose_threshold(y, p, "elevated", 0.8)
    assert th.recall == 1.0 and th.precision == pytest.approx(0.8)
    # Halfway between the lowest positive (0.9) and the next score down (0.76).
    assert th.threshold == pytest.approx(0.83)
    high = choose_threshold(y, p, "high", 0.95)
    assert high.precision == 1.0 and high.recall == 0.5
    assert high.threshold == pytest.approx(0.975)


def test_no_account_is_flagged_below_the_target_as_a_probability() -> None:
    # Many sure cheats would let the whole set reach 95% precision down to 0.1;
    # the accounts at 0.1 and 0.3 are each more likely genuine, so they stay out.
    y = np.array([1] * 40 + [1, 0] + [1, 0, 0])
    p = np.array([0.999] * 40 + [0.3, 0.3] + [0.1, 0.1, 0.1])
    th = choose_threshold(y, p, "high", 0.95)
    assert th.threshold == pytest.approx(0.95)
    assert th.recall == pytest.approx(40 / 42) and th.precision == 1.0


def test_unreachable_precision_is_stored_as_such_and_never_assigned() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.6])
    th = choose_threshold(y, p, "high", 0.95)
    assert th.threshold is None and not th.reachable
    assert th.best_precision == pytest.approx(0.5)
    levels = assign_levels(p, {"high": th})
    assert set(levels) == {"low"}


def test_folds_never_split_a_group() -> None:
    data = toy_training_set(n=600)
    folds = make_folds(data, 4, seed=3)
    assert set(folds) == {0, 1, 2, 3}
    for group in np.unique(data.groups):
        assert len(set(folds[data.groups == group])) == 1
    assert np.array_equal(folds, make_folds(data, 4, seed=3))


def test_out_of_fold_scores_come_from_models_that_did_not_see_the_group() -> None:
    data = toy_training_set(n=600)
    result = fit_account_model(data, replace(TOY_CONFIG, trees=15))
    assert set(result.oof) == {"xgboost", "logistic_regression", "random_forest"}
    for probs in result.oof.values():
        assert set(probs) == set(TARGETS)
        assert all(np.all((p > 0) & (p < 1)) for p in probs.values())
    # The toy signal is learnable: held-out ranking is far from chance for every target.
    from sklearn.metrics import roc_auc_score

    for target in TARGETS:
        assert roc_auc_score(data.target(target), result.oof["xgboost"][target]) > 0.8


def test_too_few_positive_groups_is_refused_with_the_reason() -> None:
    data = toy_training_set(n=300)
    data.labels["growth_burst"][:] = 0
    data.labels["growth_burst"][:3] = 1
    data.groups[:3] = "one-batch"
    with pytest.raises(UserError, match=r"'growth_burst' has 3 positive account\(s\) in 1 group"):
        fit_account_model(data, TOY_CONFIG)


def test_infinite_features_are_refused() -> None:
    data = toy_training_set(n=300)
    data.x[5, 2] = np.inf
    with pytest.raises(UserError, match="feature 'f2' has infinite values"):
        fit_account_model(data, TOY_CONFIG)


def _gpu_visible() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and "GPU" in done.stdout


@pytest.mark.skipif(_gpu_visible(), reason="a GPU is visible: CUDA training is allowed here")
def test_cuda_without_a_gpu_fails_clearly() -> None:
    with pytest.raises(UserError, match="--device cuda: .*use --device cpu"):
        check_device("cuda")


def test_unknown_device_is_refused() -> None:
    with pytest.raises(UserError, match="--device must be 'cpu' or 'cuda'"):
        check_device("tpu")


def test_isotonic_calibrator_matches_scikit_learn() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    scores = rng.normal(size=500)
    y = (scores + rng.normal(size=500) > 0.5).astype(int)
    ours = Calibrator.fit(scores, y, "isotonic")
    theirs = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
    probe = np.linspace(-4, 4, 200)
    np.testing.assert_allclose(ours(probe), np.clip(theirs.predict(probe), PROBABILITY_FLOOR,
                                                    1 - PROBABILITY_FLOOR))
    assert Calibrator.from_json(ours.to_json()) == ours


def test_platt_recovers_log_odds_and_keeps_the_ranking() -> None:
    rng = np.random.default_rng(1)
    log_odds = rng.normal(0, 2, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-log_odds))).astype(int)
    platt = Calibrator.fit(2 * log_odds + 3, y, "sigmoid")  # a shifted, stretched score
    assert platt.a == pytest.approx(0.5, abs=0.03)
    assert platt.b == pytest.approx(-1.5, abs=0.1)
    assert Calibrator.from_json(platt.to_json()) == platt
    assert np.all(np.diff(platt(np.linspace(-10, 10, 500))) > 0)  # no ties made


def test_logistic_baseline_stored_as_numbers_matches_the_pipeline() -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = toy_training_set(n=400)
    y = data.target(OVERALL)
    ours = fit_logistic(data.x, y, TOY_CONFIG)
    pipeline = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2_000),
    ).fit(data.x.astype(np.float64), y)
    np.testing.assert_allclose(ours.score(data.x),
                               pipeline.decision_function(data.x.astype(np.float64)), rtol=1e-6,
                               atol=1e-8)
