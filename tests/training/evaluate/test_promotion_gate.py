"""The promotion gate on hand-made scores: rates per level and tactic, and evidence too thin.

The case of issue 16: on 200 accounts a candidate whose ring recall at
``high`` was 50% against the active model's 100% passed, because it ranked the
accounts exactly as well (equal ROC/PR-AUC) and only those were compared.
"""

from __future__ import annotations

import numpy as np

from trueclout.models.account_model import OVERALL, TACTICS, TARGETS, LevelThreshold
from trueclout.training.data.labelled import TrainingSet
from trueclout.training.evaluate.metrics import (
    MIN_RATE_ACCOUNTS,
    Evaluation,
    evaluate_probabilities,
    promotion_check,
)

FLAGGED, ELEVATED_ONLY, CLEAN = 0.97, 0.9, 0.01
THRESHOLDS = {t: {"elevated": LevelThreshold("elevated", 0.8, 0.8, 0.9, 0.9, 1.0),
                  "high": LevelThreshold("high", 0.95, 0.95, 0.97, 0.8, 1.0)} for t in TARGETS}


def accounts(positives_per_tactic: int, n: int = 200) -> TrainingSet:
    """Each tactic's positives in a block; the rest genuine, half of them hard negatives."""
    labels = {t: np.zeros(n, dtype=np.int8) for t in TACTICS}
    for i, tactic in enumerate(TACTICS):
        labels[tactic][i * positives_per_tactic:(i + 1) * positives_per_tactic] = 1
    cheat = np.maximum.reduce(list(labels.values())) == 1
    kind = np.where(cheat, "cheat", np.where(np.arange(n) % 2 == 0, "viral", "steady"))
    return TrainingSet(x=np.zeros((n, 1)), feature_names=("f0",),
                       account_ids=np.array([f"a{i}" for i in range(n)], dtype=object),
                       labels=labels, groups=np.arange(n).astype(str).astype(object),
                       context={"kind": kind.astype(object)}, source="hand-made",
                       digest="0" * 64)


def scored(data: TrainingSet, ring_missed_at_high: float = 0.0) -> Evaluation:
    """Every cheat flagged at ``high`` except a share of the ring, kept at ``elevated``."""
    probs = {}
    for tactic in TACTICS:
        y = data.labels[tactic]
        p = np.where(y == 1, FLAGGED, CLEAN)
        if tactic == "engagement_ring":
            rows = np.flatnonzero(y)
            p[rows[:int(round(len(rows) * ring_missed_at_high))]] = ELEVATED_ONLY
        probs[tactic] = p
    probs[OVERALL] = np.maximum.reduce([probs[t] for t in TACTICS])
    return evaluate_probabilities(data, {"xgboost": probs}, {"xgboost": THRESHOLDS},
                                  model_ref={"name": "m", "version": "v"}, setting="test")


def test_half_the_ring_recall_at_high_is_refused_though_rankings_are_equal() -> None:
    data = accounts(positives_per_tactic=40)
    check = promotion_check(scored(data), scored(data, ring_missed_at_high=0.5))
    by_name = {row["criterion"]: row for row in check.rows}
    # What the old gate compared is unchanged: the candidate ranks accounts just as well.
    assert not any(by_name[name]["worse"] for name in by_name if "AUC" in name)
    ring = by_name["engagement_ring recall at 'high'"]
    assert (ring["active"], ring["candidate"]) == (1.0, 0.5)
    assert ring["worse"] and ring["change_interval"][1] < 0
    assert not by_name["engagement_ring recall at 'elevated'"]["worse"]
    assert check.worse == ["engagement_ring recall at 'high'"] and not check.acceptable


def test_too_few_positives_per_tactic_refuses_and_says_what_is_needed() -> None:
    data = accounts(positives_per_tactic=6)
    check = promotion_check(scored(data), scored(data))  # identical models, but 6 positives
    assert not check.acceptable and not check.worse
    assert len(check.thin) == len(TACTICS) * 2
    note = {row["criterion"]: row["note"] for row in check.rows}["growth_burst recall at 'high'"]
    assert note == (f"too little data to tell: 6 growth_burst positives, needs at least "
                    f"{MIN_RATE_ACCOUNTS}")


def test_an_interval_too_wide_for_the_margin_is_too_thin_to_tell() -> None:
    data = accounts(positives_per_tactic=24)
    check = promotion_check(scored(data), scored(data, ring_missed_at_high=2 / 24))
    ring = {row["criterion"]: row for row in check.rows}["engagement_ring recall at 'high'"]
    # 2 of 24 missed: not clearly worse, but a loss of over 10 points is not ruled out either.
    assert not ring["worse"] and ring["thin"]
    assert ring["change_interval"][0] < -0.10 <= ring["change_interval"][1]
    assert ring["note"].startswith("too little data to tell: 24 engagement_ring positives "
                                   "cannot rule out a loss over 10%; about ")
    assert check.thin == ["engagement_ring recall at 'high'"] and not check.acceptable


def test_an_equal_candidate_on_enough_data_is_accepted() -> None:
    data = accounts(positives_per_tactic=40)
    check = promotion_check(scored(data), scored(data))
    assert check.acceptable, check.rows
    hard = {row["criterion"]: row for row in check.rows}[
        "false-positive rate at 'high' on hard negatives"]
    assert hard["active"] == 0.0 and hard["change_interval"] == (0.0, 0.0)


def test_more_false_positives_on_hard_negatives_are_refused() -> None:
    data = accounts(positives_per_tactic=30)
    active, candidate = scored(data), scored(data)
    viral = np.flatnonzero(data.context["kind"] == "viral")[:20]
    candidate.probabilities["xgboost"][OVERALL][viral] = FLAGGED
    check = promotion_check(active, candidate)
    assert "false-positive rate at 'high' on hard negatives" in check.worse
