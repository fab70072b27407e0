"""Labelled follower profiles to a follower-model folder and its report: `followers train`'s work.

The command reads the data and prints; the fit, the baselines on the same
held-out folds, the model folder and its report (metrics.json and PNG plots,
measured on the folds the model chose its calibration and threshold on) are
here, so a test or a notebook runs the same path without the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trueclout.errors import UserError
from trueclout.models.follower_model import FollowerModel, follower_baselines
from trueclout.progress import Progress, SilentProgress, progress_steps
from trueclout.training.data.followers import LabelledFollowers
from trueclout.training.evaluate.followers import (
    BASELINE_THRESHOLD,
    METRICS_FILE,
    PRIMARY,
    classification_metrics,
    data_summary,
    write_json,
    write_plots,
)

REPORT_DIR = "report"


@dataclass(frozen=True)
class FollowerTrainResult:
    """The fitted model, its held-out metrics per learner, and the report it wrote."""

    model: FollowerModel
    metrics: dict[str, dict[str, float | int | None]]
    report: Path
    plots: list[str]


def check_out(out: Path, overwrite: bool = False) -> None:
    """Refuse to write into a folder that holds something, unless told to replace it.

    Cheap, so a command calls it before reading the data: a wrong --out fails first.
    """
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out}: exists and is not empty; choose another --out or add --overwrite")


def train_follower_folder(
    data: LabelledFollowers,
    out: Path,
    *,
    seed: int = 0,
    threads: int = 1,
    trees: int = 200,
    baselines: bool = True,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> FollowerTrainResult:
    """Fit the follower model on ``data`` and write it, with its report, to ``out``.

    The baselines (``baselines``) are cross-validated on the same stratified
    folds as the model's held-out predictions, so the report compares like
    with like: xgboost at its stored threshold, baselines at 0.5.
    """
    check_out(out, overwrite)
    X, y = data.signals(), data.labels
    model = FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)
    others = follower_baselines(seed, threads) if baselines else {}
    step = progress_steps(progress or SilentProgress(), 2 + len(others))
    step("reading profiles")
    step(f"training xgboost ({model.folds} held-out folds, then all {len(y):,} profiles)", 0)
    model.fit(X, y, data.units)
    probabilities: dict[str, np.ndarray] = {PRIMARY: model.oof_probability_}
    flagged = {PRIMARY: model.oof_probability_ >= model.threshold_}
    step("trained xgboost")
    if others:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        folds = StratifiedKFold(model.folds, shuffle=True, random_state=seed)
        for name, estimator in others.items():
            step(f"cross-validating {name}", 0)
            p = cross_val_predict(estimator, X, y, cv=folds, method="predict_proba")[:, 1]
            probabilities[name] = p
            flagged[name] = p >= BASELINE_THRESHOLD
            step(f"cross-validated {name}")
    metrics = {name: classification_metrics(y, p, flagged[name])
               for name, p in probabilities.items()}
    model.save(out, extra={"data": data_summary(data)})
    report = out / REPORT_DIR
    plots = write_plots(report, y, probabilities, threshold=model.threshold_,
                        importance=model.feature_importance(), title="(held-out folds)")
    write_json(report / METRICS_FILE, {
        "model_id": model.model_id_,
        "data": data_summary(data),
        "held_out": f"{model.folds}-fold stratified, seed {seed}; xgboost at its stored "
                    f"threshold, baselines at {BASELINE_THRESHOLD}",
        "threshold": model.threshold_,
        "quantifier": model.quantifier_.to_dict(),
        "groups_held_out": (
            "each group's rates when the whole group was held out are in quantifier.groups "
            "(tpr_unseen, fpr_unseen); their spread widens the fake-share interval"
            if model.held_out_by_ == "group" else
            "fewer than two groups per class: the rates' spread over unseen markets is "
            "not measured, and the interval counts sampling error only"),
        "metrics": metrics,
        "feature_importance": model.feature_importance(),
        "plots": plots,
    })
    return FollowerTrainResult(model, metrics, report, plots)
