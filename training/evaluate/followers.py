"""Honest evaluation of the follower-level model: held-out folds, unseen markets, mixed audiences.

- ``cross_validate``: stratified k-fold; every profile is scored by a model
  that never saw it, at that model's own stored threshold.  The baselines
  (logistic regression, random forest) run on the same folds.
- ``leave_one_market_out``: for each fake market, models train on humans and
  the *other* markets and are tested on held-back humans and the market they
  never saw (humans rotate through folds so every human is tested once).
- ``semi_real_audiences``: audiences mixed from held-out real humans and
  real fakes at known fake shares and sample sizes, quantified with each
  fold model's own error rates: mean absolute error and interval coverage.

Everything returns plain numbers; ``write_plots`` and ``write_json`` turn them
into PNG plots and JSON.  ``evaluate_follower_model`` and
``cross_validation_study`` are the work behind `trueclout followers evaluate`
and `followers cross-validate`, here so a test or a notebook runs the same path.
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
DEFAULT_SHARES: tuple[float, ...] = tuple(np.round(np.arange(0.0, 0.91, 0.1), 2))
DEFAULT_SIZES: tuple[int, ...] = (20, 50, 100, 200, 500, 1000)
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
            learner = make().fit(X[train], y[train])
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
    return _run_splits(X, y, data.groups, splits, _learners(make_model, baselines, seed, n_jobs),
                       progress, f"{folds}-fold CV")


def fake_markets(data: LabelledFollowers) -> list[str]:
    return sorted(set(data.groups[data.labels == 1]))


def leave_one_market_out(
    data: LabelledFollowers,
    *,
    human_folds: int = 5,
    seed: int = 0,
    make_model: Callable[[], FollowerModel] | None = None,
    baselines: bool = True,
    n_jobs: int = 1,
    progress: FoldReport | None = None,
) -> dict[str, dict[str, HeldOut]]:
    """For each fake market: train on humans + the other markets, test on the held-out market.

    Humans are split into ``human_folds`` folds and so is the held-out market;
    fold ``k`` trains on the humans outside it plus every *other* market and
    is tested on its own humans plus its part of the held-out market.
    """
    X, y, groups = data.signals(), data.labels, data.groups
    markets = fake_markets(data)
    if len(markets) < 2:
        raise UserError(
            f"leave-one-market-out needs fakes from at least two markets (groups); "
            f"this data has {markets or 'none'}"
        )
    make_model = make_model or (lambda: FollowerModel(random_state=seed, n_jobs=n_jobs))
    learners = _learners(make_model, baselines, seed, n_jobs)
    return {
        market: _run_splits(X, y, groups, market_splits(y, groups, market, human_folds, seed),
                            learners, progress, f"held-out market {market}")
        for market in markets
    }


def market_splits(
    y: np.ndarray, groups: np.ndarray, market: str, human_folds: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) pairs that keep every fake of ``market`` out of training.

    Humans and the held-out market are each cut into ``human_folds`` parts;
    split ``k`` trains on the humans outside part ``k`` plus all fakes of the
    other markets, and tests on human part ``k`` plus market part ``k``.
    """
    from sklearn.model_selection import KFold

    humans = np.flatnonzero(y == 0)
    if len(humans) < human_folds:
        raise UserError(f"leave-one-market-out needs at least {human_folds} human profiles")
    held = np.flatnonzero((y == 1) & (groups == market))
    others = np.flatnonzero((y == 1) & (groups != market))
    human_parts = [humans[test] for _, test in
                   KFold(human_folds, shuffle=True, random_state=seed).split(humans)]
    held_parts = np.array_split(np.random.default_rng(seed).permutation(held), human_folds)
    splits = []
    for k in range(human_folds):
        train_humans = np.concatenate([p for j, p in enumerate(human_parts) if j != k])
        splits.append((np.concatenate([train_humans, others]),
                       np.concatenate([human_parts[k], held_parts[k]])))
    return splits


def _need_both_classes(y: np.ndarray, folds: int, what: str) -> None:
    n_fake, n_human = int(y.sum()), int(len(y) - y.sum())
    if min(n_fake, n_human) < folds:
        raise UserError(
            f"{what} with {folds} folds needs at least {folds} fake and {folds} human "
            f"profiles; got {n_fake} fake and {n_human} human"
        )


# --- semi-real audiences --------------------------------------------------------------


@dataclass(frozen=True)
class AudienceCell:
    """Quantification error at one (sample size, true fake share)."""

    size: int
    share: float
    mae: float
    bias: float
    coverage: float
    mean_width: float
    draws: int


def semi_real_audiences(
    held_out: HeldOut,
    *,
    shares: Sequence[float] = DEFAULT_SHARES,
    sizes: Sequence[int] = DEFAULT_SIZES,
    draws: int = 200,
    seed: int = 0,
) -> list[AudienceCell]:
    """Sample followers of audiences with known fake shares; quantify with each fold's rates.

    The estimand is the fake share of the whole audience, so each draw
    samples ``size`` followers from an audience whose share is ``s``: the
    number of fakes in the sample is Binomial(size, s), and the truth is
    ``s``.  Profiles come from the fold's pool (the profiles its model never
    saw), drawn with replacement: a pool can be smaller than the sample, and
    the audience stands for a population much larger than the sample (no
    finite-population correction applies).
    """
    rng = np.random.default_rng(seed)
    runs = [r for r in held_out.runs if r.quantifier is not None]
    if not runs:
        raise UserError("semi-real audiences need the model's own error rates (xgboost runs)")
    cells = []
    for size in sizes:
        for share in shares:
            truth = float(share)
            errors, covered, widths = [], [], []
            for run in runs:
                y = held_out.y[run.rows]
                fake_flags = run.flagged[y == 1].astype(np.float64)
                human_flags = run.flagged[y == 0].astype(np.float64)
                if (share > 0 and not len(fake_flags)) or (share < 1 and not len(human_flags)):
                    continue
                n_fake = rng.binomial(size, share, draws)
                # Draw `size` profiles of each class per audience; keep the first n_fake fakes
                # and the first size - n_fake humans (one vectorised draw per class).
                slot = np.arange(size)
                k = np.zeros(draws)
                if share > 0:
                    picks = fake_flags[rng.integers(0, len(fake_flags), (draws, size))]
                    k += (picks * (slot < n_fake[:, None])).sum(1)
                if share < 1:
                    picks = human_flags[rng.integers(0, len(human_flags), (draws, size))]
                    k += (picks * (slot < (size - n_fake)[:, None])).sum(1)
                est = run.quantifier.estimate(k, np.full(draws, float(size)))
                errors.append(est.share - truth)
                covered.append((est.low <= truth + 1e-12) & (truth - 1e-12 <= est.high))
                widths.append(est.high - est.low)
            if not errors:
                continue
            err = np.concatenate(errors)
            cells.append(AudienceCell(
                size=int(size), share=float(share), mae=float(np.mean(np.abs(err))),
                bias=float(np.mean(err)), coverage=float(np.mean(np.concatenate(covered))),
                mean_width=float(np.mean(np.concatenate(widths))), draws=len(err),
            ))
    return cells


def summarise_audiences(cells: Sequence[AudienceCell]) -> list[dict[str, float | int]]:
    """Per sample size: MAE and coverage over all shares, and the worst share's coverage."""
    out = []
    for size in sorted({c.size for c in cells}):
        mine = [c for c in cells if c.size == size]
        weights = np.array([c.draws for c in mine], dtype=np.float64)
        out.append({
            "size": size,
            "mae": float(np.average([c.mae for c in mine], weights=weights)),
            "coverage": float(np.average([c.coverage for c in mine], weights=weights)),
            "worst_coverage": float(min(c.coverage for c in mine)),
            "max_abs_bias": float(max(abs(c.bias) for c in mine)),
            "mean_width": float(np.average([c.mean_width for c in mine], weights=weights)),
        })
    return out


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
    """What a data set holds: class counts, groups, and the measurements it lacks."""
    groups, counts = np.unique(data.groups.astype(str), return_counts=True)
    return {
        "source": data.source,
        **data.class_counts(),
        "groups": {str(g): int(c) for g, c in zip(groups, counts, strict=True)},
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
    markets: bool = True,
    market_folds: int = 5,
    audiences: bool = True,
    draws: int = 200,
    baselines: bool = True,
    seed: int = 0,
    threads: int = 1,
    trees: int = 200,
    report: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The honest evaluation: k-fold CV, leave-one-market-out and semi-real audiences.

    Returns the figures as plain JSON-ready values.  Leaving markets out
    needs fakes from two or more groups; with fewer, "leave_one_market_out"
    says why it was skipped instead of failing the whole study.  With
    ``report``, metrics.json and PNG plots of the k-fold scores are written there.
    """

    def make_model() -> FollowerModel:
        return FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)

    learners = 1 + (len(follower_baselines()) if baselines else 0)
    market_names = fake_markets(data) if markets else []
    do_markets = len(market_names) >= 2
    total = folds * learners + (len(market_names) * market_folds * learners if do_markets else 0)
    total += 2 if audiences else 0
    results: dict[str, Any] = {"data": data_summary(data)}
    step = progress_steps(progress or SilentProgress(), total)
    cv = cross_validate(data, folds=folds, seed=seed, baselines=baselines,
                        make_model=make_model, n_jobs=threads, progress=step)
    results["cross_validation"] = {
        "folds": folds,
        "metrics": {name: h.metrics() for name, h in cv.items()},
        "mcc_per_fold": {name: h.per_fold("mcc") for name, h in cv.items()},
    }
    if do_markets:
        lomo = leave_one_market_out(data, human_folds=market_folds, seed=seed,
                                    make_model=make_model, baselines=baselines,
                                    n_jobs=threads, progress=step)
        results["leave_one_market_out"] = {
            market: {
                "trained_on": [m for m in market_names if m != market],
                "metrics": {name: h.metrics() for name, h in by_learner.items()},
                "audiences": (summarise_audiences(semi_real_audiences(
                    by_learner[PRIMARY], draws=draws, seed=seed)) if audiences else None),
            }
            for market, by_learner in lomo.items()
        }
    elif markets:
        results["leave_one_market_out"] = (
            f"skipped: needs fakes from two or more groups, found {market_names or 'none'}")
    if audiences:
        step("semi-real audiences: 2-fold models", 0)
        halves = cross_validate(data, folds=2, seed=seed, baselines=False,
                                make_model=make_model, n_jobs=threads)
        step("semi-real audiences: mixing")
        cells = semi_real_audiences(halves[PRIMARY], draws=draws, seed=seed)
        results["audiences"] = {
            "design": "2 stratified halves; each half's model quantifies audiences mixed "
                      f"from the other half, {draws} draws per (size, share) and half",
            "by_size": summarise_audiences(cells),
            "cells": [vars(c) for c in cells],
        }
        step("semi-real audiences: done")
    if report is not None:
        primary = cv[PRIMARY]
        results["plots"] = write_plots(
            report, data.labels, {name: _in_row_order(h) for name, h in cv.items()},
            threshold=float(sum(r.threshold for r in primary.runs) / len(primary.runs)),
            audiences=results.get("audiences", {}).get("by_size"),
            title=f"({folds}-fold CV)",
        )
        write_json(report / METRICS_FILE, results)
    return results


def _in_row_order(held_out: HeldOut) -> np.ndarray:
    """Pooled held-out probabilities put back in the data's row order (for the plots)."""
    out = np.empty(len(held_out.y))
    out[held_out.rows] = held_out.probability
    return out
