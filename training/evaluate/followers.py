"""Evaluation of the follower-level model in one data distribution: folds, metrics, plots.

- ``cross_validate``: stratified k-fold; every profile is scored by a model
  that never saw it, at that model's own stored threshold.  The baselines
  (logistic regression, random forest) run on the same folds.
- ``cross_validation_study``: k-fold figures and audiences mixed from
  held-out halves (`followers cross-validate --by folds`).  Every group is
  seen in training, so these flatter the model: ``held_out`` holds whole
  groups or data sets out, which is the figure to judge it by.
- ``evaluate_follower_model``: a fitted model on a labelled set.

Everything returns plain numbers; ``write_plots`` and ``write_json`` turn them
into PNG plots and JSON; ``classification_metrics`` and ``data_summary`` are
shared by every evaluation of follower models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trueclout.errors import UserError
from trueclout.models.follower_model import FollowerModel, follower_baselines
from trueclout.models.quantify import AdjustedCount
from trueclout.progress import Progress, SilentProgress, progress_steps
from trueclout.training.data.followers import LabelledFollowers

METRIC_KEYS: tuple[str, ...] = (
    "accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc", "brier",
    "n_fake", "n_human",
)
PRIMARY = "xgboost"
BASELINE_THRESHOLD = 0.5
METRICS_FILE = "metrics.json"

# Called after each fitted fold with a line saying which (``progress_steps`` gives one).
FoldReport = Callable[[str], None]


def classification_metrics(
    y: np.ndarray, probability: np.ndarray, flagged: np.ndarray
) -> dict[str, float | int | None]:
    """The figures users compare models by; None where the data cannot define one.

    ROC-AUC, PR-AUC and MCC need both classes; precision needs a flagged
    profile, recall a fake one.
    """
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        brier_score_loss,
        matthews_corrcoef,
        roc_auc_score,
    )

    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    f = np.asarray(flagged, dtype=np.int64)
    n_fake, n_human = int(y.sum()), int(len(y) - y.sum())
    tp = int((f & y).sum())
    precision = tp / f.sum() if f.sum() else None
    recall = tp / n_fake if n_fake else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall > 0 else None)
    both = n_fake > 0 and n_human > 0
    out: dict[str, float | int | None] = {
        "accuracy": float(accuracy_score(y, f)) if len(y) else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "mcc": float(matthews_corrcoef(y, f)) if both else None,
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p, labels=[0, 1])) if len(y) else None,
        "n_fake": n_fake,
        "n_human": n_human,
    }
    return {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in out.items()}


@dataclass
class FoldRun:
    """One trained model and the held-out rows it scored."""

    rows: np.ndarray
    probability: np.ndarray
    flagged: np.ndarray
    quantifier: AdjustedCount | None = None
    threshold: float = BASELINE_THRESHOLD


@dataclass
class HeldOut:
    """Held-out predictions of one learner, pooled over folds (each row scored once)."""

    y: np.ndarray
    groups: np.ndarray
    runs: list[FoldRun] = field(default_factory=list)

    @property
    def rows(self) -> np.ndarray:
        return np.concatenate([r.rows for r in self.runs])

    @property
    def probability(self) -> np.ndarray:
        return np.concatenate([r.probability for r in self.runs])

    @property
    def flagged(self) -> np.ndarray:
        return np.concatenate([r.flagged for r in self.runs])

    @property
    def labels(self) -> np.ndarray:
        return self.y[self.rows]

    def metrics(self) -> dict[str, float | int | None]:
        return classification_metrics(self.labels, self.probability, self.flagged)

    def per_fold(self, key: str) -> list[float | None]:
        return [classification_metrics(self.y[r.rows], r.probability, r.flagged)[key]
                for r in self.runs]


def _learners(make_model: Callable[[], FollowerModel], baselines: bool, seed: int,
              n_jobs: int) -> dict[str, Callable[[], Any]]:
    learners: dict[str, Callable[[], Any]] = {PRIMARY: make_model}
    if baselines:
        for name in follower_baselines(seed, n_jobs):
            learners[name] = lambda name=name: follower_baselines(seed, n_jobs)[name]
    return learners


def _score(name: str, learner: Any, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   AdjustedCount | None, float]:
    if name == PRIMARY:
        p = learner.fake_probability(X_test)
        return p, (p >= learner.threshold_).astype(np.int64), learner.quantifier_, \
            learner.threshold_
    p = learner.predict_proba(X_test)[:, 1]
    return p, (p >= BASELINE_THRESHOLD).astype(np.int64), None, BASELINE_THRESHOLD


def _run_splits(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    learners: dict[str, Callable[[], Any]],
    progress: FoldReport | None, label: str,
) -> dict[str, HeldOut]:
    out = {name: HeldOut(y, groups) for name in learners}
    for i, (train, test) in enumerate(splits, start=1):
        for name, make in learners.items():
            learner = (make().fit(X[train], y[train], groups[train]) if name == PRIMARY
                       else make().fit(X[train], y[train]))
            p, f, q, t = _score(name, learner, X[test])
            out[name].runs.append(FoldRun(test, p, f, q, t))
            if progress:
                progress(f"{label}: fold {i}/{len(splits)}, {name}")
    return out


def cross_validate(
    data: LabelledFollowers,
    *,
    folds: int = 10,
    seed: int = 0,
    make_model: Callable[[], FollowerModel] | None = None,
    baselines: bool = True,
    n_jobs: int = 1,
    progress: FoldReport | None = None,
) -> dict[str, HeldOut]:
    """Stratified ``folds``-fold cross-validation of the model and its baselines."""
    from sklearn.model_selection import StratifiedKFold

    X, y = data.signals(), data.labels
    _need_both_classes(y, folds, "cross-validation")
    make_model = make_model or (lambda: FollowerModel(random_state=seed, n_jobs=n_jobs))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    return _run_splits(X, y, data.units, splits, _learners(make_model, baselines, seed, n_jobs),
                       progress, f"{folds}-fold CV")


def _need_both_classes(y: np.ndarray, folds: int, what: str) -> None:
    n_fake, n_human = int(y.sum()), int(len(y) - y.sum())
    if min(n_fake, n_human) < folds:
        raise UserError(
            f"{what} with {folds} folds needs at least {folds} fake and {folds} human "
            f"profiles; got {n_fake} fake and {n_human} human"
        )


# --- reports --------------------------------------------------------------------------

PLOT_FILES = {
    "roc": "roc.png",
    "pr": "pr.png",
    "calibration": "calibration.png",
    "scores": "score_distributions.png",
    "importance": "feature_importance.png",
    "audiences": "audiences.png",
}
_COLORS = {PRIMARY: "#1f5fa8", "logistic_regression": "#c97b12", "random_forest": "#3c8d3a"}


def write_plots(
    directory: Path,
    y: np.ndarray,
    probabilities: dict[str, np.ndarray],
    *,
    threshold: float | None = None,
    importance: dict[str, float] | None = None,
    audiences: Sequence[dict[str, float | int]] | None = None,
    title: str = "",
) -> list[str]:
    """PNG plots of held-out scores; returns the files written (curves need both classes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    directory.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y)
    both = 0 < y.sum() < len(y)
    written = []

    def save(fig, key: str) -> None:
        fig.tight_layout()
        fig.savefig(directory / PLOT_FILES[key], dpi=80)
        plt.close(fig)
        written.append(PLOT_FILES[key])

    if both:
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, p in probabilities.items():
            fpr, tpr, _ = roc_curve(y, p)
            ax.plot(fpr, tpr, label=name, color=_COLORS.get(name))
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(xlabel="false-positive rate (humans flagged)",
               ylabel="true-positive rate (fakes caught)", title=f"ROC {title}".strip())
        ax.legend(loc="lower right")
        save(fig, "roc")
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, p in probabilities.items():
            precision, recall, _ = precision_recall_curve(y, p)
            ax.plot(recall, precision, label=name, color=_COLORS.get(name))
        ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall {title}".strip())
        ax.legend(loc="lower left")
        save(fig, "pr")
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, p in probabilities.items():
        frac, mean = calibration_curve(y, p, n_bins=10, strategy="uniform")
        ax.plot(mean, frac, "o-", label=name, color=_COLORS.get(name))
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="predicted fake probability", ylabel="observed share of fakes",
           title=f"Calibration {title}".strip())
    ax.legend(loc="upper left")
    save(fig, "calibration")
    primary = probabilities.get(PRIMARY, next(iter(probabilities.values())))
    fig, ax = plt.subplots(figsize=(5, 4))
    bins = np.linspace(0, 1, 41)
    for label, name, color in ((0, "humans", "#3c8d3a"), (1, "fakes", "#b8312f")):
        if (y == label).any():
            ax.hist(primary[y == label], bins=bins, alpha=0.6, label=name, color=color)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_yscale("log")
    ax.set(xlabel="fake probability", ylabel="profiles",
           title=f"Scores by class {title}".strip())
    ax.legend()
    save(fig, "scores")
    if importance:
        names = sorted(importance, key=importance.get)
        total = sum(importance.values()) or 1.0
        fig, ax = plt.subplots(figsize=(6, 0.25 * len(names) + 1))
        ax.barh(names, [importance[n] / total for n in names], color=_COLORS[PRIMARY])
        ax.set(xlabel="share of total gain", title="Feature importance")
        save(fig, "importance")
    if audiences:
        sizes = [a["size"] for a in audiences]
        fig, ax1 = plt.subplots(figsize=(5, 4))
        ax1.plot(sizes, [a["mae"] for a in audiences], "o-", color=_COLORS[PRIMARY],
                 label="mean absolute error")
        ax1.set(xscale="log", xlabel="sampled followers", ylabel="MAE of the fake share")
        ax2 = ax1.twinx()
        ax2.plot(sizes, [a["coverage"] for a in audiences], "s--", color="#b8312f",
                 label="interval coverage")
        ax2.set(ylabel="coverage of the 95% interval", ylim=(0, 1.02))
        ax1.set_title("Semi-real audiences (fake share 0-90%)")
        handles = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax1.legend(handles=handles, loc="center right", fontsize=8)
        save(fig, "audiences")
    return written


def write_json(path: Path, payload: dict[str, Any]) -> None:
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def data_summary(data: LabelledFollowers) -> dict[str, Any]:
    """What the data holds: class counts, groups, each data set's share, and what it lacks.

    "groups" counts bare group names over everything (as before several data
    sets could be read at once); "datasets" splits the counts by data set so
    that a report says which set each group came from.
    """
    def counts(values: np.ndarray) -> dict[str, int]:
        names, n = np.unique(values.astype(str), return_counts=True)
        return {str(g): int(c) for g, c in zip(names, n, strict=True)}

    names, platforms, y = data.datasets.astype(str), data.platforms.astype(str), data.labels
    datasets: dict[str, Any] = {}
    for name in sorted(set(names)):
        rows = names == name
        datasets[str(name)] = {
            "platform": ", ".join(sorted(map(str, set(platforms[rows])))),
            "n_fake": int((y[rows] == 1).sum()),
            "n_human": int((y[rows] == 0).sum()),
            "groups": counts(data.groups[rows]),
        }
    return {
        "source": data.source,
        **data.class_counts(),
        "groups": counts(data.groups),
        "datasets": datasets,
        "lacks": data.lacks(),
    }


# --- the commands' work ---------------------------------------------------------------


def evaluate_follower_model(
    model: FollowerModel,
    data: LabelledFollowers,
    *,
    report: Path | None = None,
    title: str = "",
) -> dict[str, Any]:
    """``model`` on ``data`` at its stored threshold: metrics, and the fake share of the set.

    The model comes loaded so a caller can check it before reading the data.
    Works with one class only (a folder of humans): figures that need both
    are then None.  With ``report``, metrics.json and PNG plots (``title``
    ends their titles) are written there and the plots listed under "plots".
    """
    y = data.labels
    p = model.fake_probability(data.signals())
    flagged = p >= model.threshold_
    estimate = model.quantifier_.estimate(np.array([flagged.sum()], float),
                                          np.array([len(flagged)], float))
    figures: dict[str, Any] = classification_metrics(y, p, flagged)
    figures |= {
        "threshold": model.threshold_,
        "model_id": model.model_id_,
        "fake_share": {
            "true": float(y.mean()),
            "estimated": float(estimate.share[0]),
            "low": float(estimate.low[0]),
            "high": float(estimate.high[0]),
            "flagged": float(flagged.mean()),
        },
        "data": data_summary(data),
    }
    if report is not None:
        figures["plots"] = write_plots(report, y, {PRIMARY: p}, threshold=model.threshold_,
                                       importance=model.feature_importance(), title=title)
        write_json(report / METRICS_FILE, figures)
    return figures


def cross_validation_study(
    data: LabelledFollowers,
    *,
    folds: int = 10,
    audiences: bool = True,
    draws: int = 100,
    baselines: bool = True,
    seed: int = 0,
    threads: int = 1,
    trees: int = 200,
    report: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """In-distribution figures: stratified k-fold CV and audiences mixed from held-out halves.

    Every group is seen in training here, so these figures flatter the
    model; ``training.evaluate.held_out`` holds whole groups or data sets out.
    Returns plain JSON-ready values; with ``report``, metrics.json and PNG
    plots of the k-fold scores are written there.
    """
    from trueclout.training.evaluate.audiences import draw_audiences, model_estimate, share_errors

    def make_model() -> FollowerModel:
        return FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)

    learners = 1 + (len(follower_baselines()) if baselines else 0)
    step = progress_steps(progress or SilentProgress(), folds * learners + (2 if audiences else 0))
    results: dict[str, Any] = {"by": "folds", "data": data_summary(data)}
    cv = cross_validate(data, folds=folds, seed=seed, baselines=baselines,
                        make_model=make_model, n_jobs=threads, progress=step)
    results["cross_validation"] = {
        "folds": folds,
        "metrics": {name: h.metrics() for name, h in cv.items()},
        "mcc_per_fold": {name: h.per_fold("mcc") for name, h in cv.items()},
    }
    if audiences:
        step("semi-real audiences: 2-fold models", 0)
        halves = cross_validate(data, folds=2, seed=seed, baselines=False,
                                make_model=make_model, n_jobs=threads)[PRIMARY]
        step("semi-real audiences: mixing")
        created = data.seconds("created_at")
        per_half = []
        for run in halves.runs:
            y = data.labels[run.rows]
            mixed = draw_audiences(np.flatnonzero(y == 1), np.flatnonzero(y == 0), draws=draws,
                                   seed=seed)
            estimate = model_estimate(mixed, run.flagged, run.quantifier, created[run.rows])
            per_half.append(share_errors(mixed, estimate.share, estimate.low, estimate.high))
        results["audiences"] = {
            "design": "2 stratified halves; each half's model quantifies audiences mixed "
                      f"from the other half (model and creation lots), {draws} per cell",
            "halves": [errors.to_dict() for errors in per_half],
        }
        step("semi-real audiences: done")
    if report is not None:
        primary = cv[PRIMARY]
        by_size = results.get("audiences", {}).get("halves", [{}])[0].get("by_size")
        results["plots"] = write_plots(
            report, data.labels, {name: _in_row_order(h) for name, h in cv.items()},
            threshold=float(sum(r.threshold for r in primary.runs) / len(primary.runs)),
            audiences=by_size, title=f"({folds}-fold CV)",
        )
        write_json(report / METRICS_FILE, results)
    return results


def _in_row_order(held_out: HeldOut) -> np.ndarray:
    """Pooled held-out probabilities put back in the data's row order (for the plots)."""
    out = np.empty(len(held_out.y))
    out[held_out.rows] = held_out.probability
    return out
