"""Evaluation figures and the report: numbers people act on, checked on hand-made cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.models.test_artifact import toy_features, toy_model, toy_training_set
from trueclout.models.account_model import LevelThreshold
from trueclout.models.artifact import load_artifact
from trueclout.training.evaluate.metrics import (
    at_threshold,
    evaluate_artifact,
    follower_band,
    promotion_check,
    stability,
)
from trueclout.training.evaluate.report import render_report, write_report


def test_figures_at_a_threshold() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.2, 0.85, 0.1, 0.1, 0.1, 0.1])
    fig = at_threshold(y, p, LevelThreshold("high", 0.95, 0.5, 1.0, 1.0, 1.0))
    assert fig["flagged"] == 3
    assert fig["precision"] == pytest.approx(2 / 3)
    assert fig["recall"] == pytest.approx(2 / 3)
    assert fig["fpr"] == pytest.approx(1 / 5)
    unreachable = at_threshold(y, p, LevelThreshold("high", 0.99, None, None, None, 0.7))
    assert not unreachable["reachable"] and "70.0%" in unreachable["note"]


def test_stability_counts_moves_and_their_direction() -> None:
    before = np.array(["low", "low", "elevated", "high", "high", "low"])
    after = np.array(["low", "high", "low", "high", "elevated", "elevated"])
    s = stability(before, after)
    assert s["matrix"] == [[1, 1, 1], [1, 0, 0], [0, 1, 1]]
    assert (s["unchanged"], s["up"], s["down"]) == (2, 2, 2)
    assert (s["flag_gained"], s["flag_lost"]) == (1, 1)


def test_follower_bands() -> None:
    bands = follower_band(np.array([0, 999, 1000, 5e4, 2e6, np.nan]))
    assert list(bands) == ["<1k", "<1k", "1k-10k", "10k-100k", "1M+", "unknown"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("eval")
    train = toy_training_set(n=700, seed=0)
    strong = toy_model(root / "strong", train)
    from dataclasses import replace

    from tests.models.test_artifact import TOY_CONFIG

    weak = toy_model(root / "weak", train, config=replace(TOY_CONFIG, trees=1, max_depth=1))
    fresh = toy_training_set(n=700, seed=5)
    features = toy_features(train)
    a = load_artifact(strong.path, expected_features=features)
    b = load_artifact(weak.path, expected_features=features)
    return evaluate_artifact(a, fresh, against=(b, fresh)), a, b, fresh


@pytest.mark.slow
def test_evaluation_has_every_figure_the_report_promises(evaluated) -> None:
    evaluation, strong, _, fresh = evaluated
    s = evaluation.summary
    for tactic in ("bought_followers", "engagement_ring", "growth_burst"):
        m = s["tactics"][tactic]
        assert {"roc_auc", "pr_auc", "brier"} <= set(m)
        assert {"precision", "recall", "fpr"} <= set(m["thresholds"]["high"])
    learners = {row["learner"] for row in s["comparison"]}
    assert learners == {"xgboost", "logistic_regression", "random_forest"}
    assert set(s["slices"]) == {"platform", "followers_band", "kind"}
    assert [line["kind"] for line in s["hard_negatives"]] == ["viral", "community"]
    viral = fresh.context["kind"] == "viral"
    level = strong.predict(type("F", (), {"values": fresh.x, "names": fresh.feature_names})).level
    assert s["hard_negatives"][0]["fpr_high"] == pytest.approx((level[viral] == "high").mean())
    assert s["feature_importance"][0]["feature"] in fresh.feature_names
    against = s["against"]
    assert against["stability"]["n"] == len(fresh)
    assert {d["metric"] for d in against["deltas"]} == {"roc_auc", "pr_auc", "brier"}


@pytest.mark.slow
def test_promotion_is_refused_for_a_weaker_candidate(evaluated) -> None:
    evaluation, strong, weak, fresh = evaluated
    weak_eval = evaluate_artifact(weak, fresh, baselines=False)
    strong_eval = evaluate_artifact(strong, fresh, baselines=False)
    worse = promotion_check(strong_eval, weak_eval)
    assert not worse.acceptable and "overall PR-AUC" in worse.worse
    assert worse.stability["n"] == len(fresh)
    better = promotion_check(weak_eval, strong_eval)
    assert better.acceptable
    same = promotion_check(strong_eval, strong_eval)
    assert same.acceptable and same.stability["unchanged"] == len(fresh)


@pytest.mark.slow
def test_report_is_self_contained_html_and_json(evaluated, tmp_path: Path) -> None:
    evaluation, *_ = evaluated
    paths = write_report(evaluation, tmp_path / "report")
    html = paths["report.html"].read_text()
    assert html.count("data:image/png;base64,") == 5  # ROC, PR, calibration, scores, importance
    assert "<link" not in html and "<script" not in html  # nothing fetched from elsewhere
    assert "False-positive rate on genuine organic viral accounts" in html
    assert "Stability" in html and "By platform" in html
    doc = json.loads(paths["report.json"].read_text())
    assert set(doc["curves"]["roc"]) >= {"xgboost", "logistic_regression", "random_forest"}
    assert doc["tactics"]["growth_burst"]["roc_auc"] == evaluation.summary["tactics"][
        "growth_burst"]["roc_auc"]
    assert render_report(evaluation)["report.json"] == paths["report.json"].read_bytes()
