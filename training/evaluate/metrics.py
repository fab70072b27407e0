"""Evaluation figures: per-tactic and overall metrics, baselines, slices, stability, promotion.

Everything here works on calibrated probabilities and 0/1 labels, whether the
probabilities are out-of-fold (the training report) or from a saved model on
new data (``trueclout evaluate``), so both reports are the same document.
Metrics come from scikit-learn; this module only decides what to measure and
how to lay it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trueclout.models.account_model import (
    FLAG_LEVEL,
    LEVELS,
    OVERALL,
    PRIMARY_LEARNER,
    TACTICS,
    TARGETS,
    AccountModel,
    BoosterScorer,
    CalibratedLearner,
    LevelThreshold,
    Thresholds,
    assign_levels,
)
from trueclout.training.data.labelled import TrainingSet

# Genuine accounts that look like cheats to a naive model: organic viral growth and
# tight genuine communities.  Their false-positive rate is reported on its own line.
HARD_NEGATIVE_KINDS: tuple[str, ...] = ("viral", "community", "celebrity")
FOLLOWER_BANDS: tuple[tuple[float, str], ...] = (
    (1e3, "<1k"), (1e4, "1k-10k"), (1e5, "10k-100k"), (1e6, "100k-1M"), (np.inf, "1M+"))
CALIBRATION_BINS = 10
IMPORTANCE_SAMPLE = 2_000


@dataclass
class Evaluation:
    """The report's figures (``summary``, JSON-ready) and the arrays its plots are drawn from."""

    summary: dict[str, Any]
    labels: dict[str, np.ndarray]
    probabilities: dict[str, dict[str, np.ndarray]]
    thresholds: dict[str, Thresholds]
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# One target, one learner


def _safe(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: LevelThreshold) -> dict[str, Any]:
    """Precision, recall and false-positive rate of flagging ``p >= threshold``."""
    out: dict[str, Any] = {"target_precision": threshold.target_precision,
                           "threshold": threshold.threshold}
    if threshold.threshold is None:
        return out | {"reachable": False, "precision": None, "recall": None, "fpr": None,
                      "flagged": 0, "note": (f"no threshold reached precision "
                                             f"{threshold.target_precision:.0%} on held-out "
                                             f"folds (best {threshold.best_precision:.1%})")}
    flagged = p >= threshold.threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    positives, negatives = int((y == 1).sum()), int((y == 0).sum())
    return out | {
        "reachable": True,
        "flagged": int(flagged.sum()),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / positives if positives else None,
        "fpr": fp / negatives if negatives else None,
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability curve (scikit-learn's quantile bins) and the expected calibration error."""
    from sklearn.calibration import calibration_curve

    if len(np.unique(y)) < 2:
        return {"predicted": [], "observed": [], "ece": None}
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, len(edges) - 2)
    gaps = [abs(p[which == b].mean() - y[which == b].mean()) * (which == b).sum()
            for b in np.unique(which)]
    return {"predicted": predicted.tolist(), "observed": observed.tolist(),
            "ece": float(sum(gaps) / len(y))}


def target_metrics(
    y: np.ndarray, p: np.ndarray, thresholds: Mapping[str, LevelThreshold] | None
) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, Brier, log-loss, calibration and figures at each stored threshold."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=np.int8)
    p = np.asarray(p, dtype=np.float64)
    both = len(np.unique(y)) == 2
    out: dict[str, Any] = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": _safe(roc_auc_score(y, p)) if both else None,
        "pr_auc": _safe(average_precision_score(y, p)) if both else None,
        "brier": _safe(brier_score_loss(y, p, pos_label=1)) if len(y) else None,
        "log_loss": _safe(log_loss(y, p, labels=[0, 1])) if len(y) else None,
        "calibration": calibration_table(y, p),
        "thresholds": {},
    }
    for level, th in (thresholds or {}).items():
        out["thresholds"][level] = at_threshold(y, p, th)
    return out


# ---------------------------------------------------------------------------------------------
# Slices


def follower_band(followers_count: np.ndarray) -> np.ndarray:
    counts = np.asarray(followers_count, dtype=np.float64)
    edges = np.array([edge for edge, _ in FOLLOWER_BANDS])
    names = np.array([name for _, name in FOLLOWER_BANDS], dtype=object)
    out = names[np.searchsorted(edges, np.nan_to_num(counts, nan=0.0), side="right")
                .clip(0, len(names) - 1)]
    out[np.isnan(counts)] = "unknown"
    return out


def slice_rows(
    values: np.ndarray, y: np.ndarray, p: np.ndarray, thresholds: Mapping[str, LevelThreshold]
) -> list[dict[str, Any]]:
    """Overall-risk figures for each distinct value of a slicing column."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = []
    names, which = np.unique(np.asarray(values).astype(str), return_inverse=True)
    for index, value in enumerate(names):
        mask = which == index
        ys, ps = y[mask], p[mask]
        both = len(np.unique(ys)) == 2
        row: dict[str, Any] = {
            "value": str(value),
            "n": int(mask.sum()),
            "positives": int(ys.sum()),
            "roc_auc": _safe(roc_auc_score(ys, ps)) if both else None,
            "pr_auc": _safe(average_precision_score(ys, ps)) if both else None,
        }
        for level, th in thresholds.items():
            fig = at_threshold(ys, ps, th)
            row[f"precision_{level}"] = fig["precision"]
            row[f"recall_{level}"] = fig["recall"]
            row[f"fpr_{level}"] = fig["fpr"]
        rows.append(row)
    return rows


def slices(data: TrainingSet, y: np.ndarray, p: np.ndarray,
           thresholds: Mapping[str, LevelThreshold]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if "platform" in data.context:
        out["platform"] = slice_rows(data.context["platform"], y, p, thresholds)
    if "followers_count" in data.context:
        out["followers_band"] = slice_rows(follower_band(data.context["followers_count"]),
                                           y, p, thresholds)
    if "kind" in data.context:
        out["kind"] = slice_rows(data.context["kind"], y, p, thresholds)
    return out


def hard_negative_lines(kind_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """False-positive rate on organic viral accounts and genuine communities, by themselves."""
    lines = []
    for kind in HARD_NEGATIVE_KINDS:
        row = next((r for r in kind_rows if r["value"] == kind), None)
        if row is None:
            continue
        lines.append({"kind": kind, "n": row["n"],
                      **{f"fpr_{lv}": row.get(f"fpr_{lv}") for lv in LEVELS[1:]}})
    return lines


# ---------------------------------------------------------------------------------------------
# Stability and feature importance


def stability(levels_before: np.ndarray, levels_after: np.ndarray) -> dict[str, Any]:
    """How many accounts change risk level between two models, and which way."""
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    before = np.array([rank[str(v)] for v in levels_before])
    after = np.array([rank[str(v)] for v in levels_after])
    matrix = np.zeros((len(LEVELS), len(LEVELS)), dtype=np.int64)
    np.add.at(matrix, (before, after), 1)
    n = len(before)
    up = int((after > before).sum())
    down = int((after < before).sum())
    flag = rank[LEVELS[-1]]
    return {
        "n": n,
        "levels": list(LEVELS),
        "matrix": matrix.tolist(),  # rows: before, columns: after
        "unchanged": n - up - down,
        "up": up,
        "down": down,
        "changed_share": (up + down) / n if n else None,
        "flag_gained": int(((after == flag) & (before != flag)).sum()),
        "flag_lost": int(((before == flag) & (after != flag)).sum()),
    }


def feature_importance(model: AccountModel, x: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """Mean |SHAP| of the overall booster on a sample, and total gain per target's booster."""
    rng = np.random.default_rng(seed)
    rows = x if len(x) <= IMPORTANCE_SAMPLE else x[np.sort(
        rng.choice(len(x), IMPORTANCE_SAMPLE, replace=False))]
    names = model.feature_names
    overall = model.learner.scorers[OVERALL]
    if not isinstance(overall, BoosterScorer) or len(rows) == 0:
        return []
    shap = np.abs(overall.contributions(rows, approx=False)[:, :-1]).mean(axis=0)
    gains: dict[str, np.ndarray] = {}
    for target in TARGETS:
        scorer = model.learner.scorers[target]
        assert isinstance(scorer, BoosterScorer)
        by_index = scorer.booster.get_score(importance_type="total_gain")
        total = np.zeros(len(names))
        for key, gain in by_index.items():
            total[int(key[1:])] = gain  # keys are f<column index>
        gains[target] = total / total.sum() if total.sum() else total
    order = np.argsort(-shap)
    return [{"feature": names[i], "mean_abs_contribution": float(shap[i]),
             "gain_share": {t: float(gains[t][i]) for t in TARGETS}} for i in order]


# ---------------------------------------------------------------------------------------------
# The whole evaluation


def evaluate_probabilities(
    data: TrainingSet,
    probabilities: Mapping[str, Mapping[str, np.ndarray]],
    thresholds: Mapping[str, Thresholds],
    *,
    model_ref: Mapping[str, Any],
    setting: str,
    primary: str = PRIMARY_LEARNER,
    notes: Sequence[str] = (),
) -> Evaluation:
    """All figures for labelled data scored by one or more learners (primary first)."""
    labels = {t: data.target(t) for t in TARGETS}
    learners: dict[str, dict[str, Any]] = {}
    for learner, probs in probabilities.items():
        learners[learner] = {t: target_metrics(labels[t], probs[t], thresholds[learner].get(t))
                             for t in TARGETS}
    y, p = labels[OVERALL], np.asarray(probabilities[primary][OVERALL])
    by_slice = slices(data, y, p, thresholds[primary][OVERALL])
    summary: dict[str, Any] = {
        "model": dict(model_ref),
        "setting": setting,
        "data": {
            "source": data.source,
            "digest": data.digest,
            "n_accounts": len(data),
            "positives": {t: int(labels[t].sum()) for t in TARGETS},
            "prevalence": {t: float(labels[t].mean()) if len(data) else None for t in TARGETS},
        },
        "primary": primary,
        "tactics": {t: learners[primary][t] for t in TACTICS},
        "overall": learners[primary][OVERALL],
        "learners": learners,
        "comparison": comparison_rows(learners),
        "slices": by_slice,
        "hard_negatives": hard_negative_lines(by_slice.get("kind", [])),
        "against": None,
        "feature_importance": [],
        "notes": list(notes),
    }
    extra = {"kind": np.asarray(data.context["kind"])} if "kind" in data.context else {}
    return Evaluation(summary, labels, {k: dict(v) for k, v in probabilities.items()},
                      dict(thresholds), extra)


def comparison_rows(learners: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict]:
    """One row per target and learner: the table the report and the CLI print."""
    rows = []
    for target in TARGETS:
        for learner, by_target in learners.items():
            m = by_target[target]
            high = m["thresholds"].get(LEVELS[-1], {})
            rows.append({"target": target, "learner": learner, "roc_auc": m["roc_auc"],
                         "pr_auc": m["pr_auc"], "brier": m["brier"],
                         "precision_high": high.get("precision"),
                         "recall_high": high.get("recall")})
    return rows


def learner_probabilities(
    learners: Mapping[str, CalibratedLearner], x: np.ndarray
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Thresholds]]:
    probs = {name: learner.probabilities(x) for name, learner in learners.items()}
    return probs, {name: learner.thresholds for name, learner in learners.items()}


def add_against(evaluation: Evaluation, name: str, probabilities: Mapping[str, np.ndarray],
                thresholds: Thresholds, model_ref: Mapping[str, Any]) -> None:
    """Compare with another model on the same accounts: metric deltas and level stability."""
    primary = evaluation.summary["primary"]
    ours = evaluation.summary["learners"][primary]
    theirs = {t: target_metrics(evaluation.labels[t], probabilities[t], thresholds.get(t))
              for t in TARGETS}
    deltas = []
    for target in TARGETS:
        for metric in ("roc_auc", "pr_auc", "brier"):
            a, b = ours[target][metric], theirs[target][metric]
            deltas.append({"target": target, "metric": metric, "this_model": a, "other": b,
                           "difference": None if a is None or b is None else a - b})
    levels_other = assign_levels(probabilities[OVERALL], thresholds[OVERALL])
    levels_ours = assign_levels(evaluation.probabilities[primary][OVERALL],
                                evaluation.thresholds[primary][OVERALL])
    evaluation.probabilities[name] = dict(probabilities)
    evaluation.thresholds[name] = thresholds
    evaluation.summary["against"] = {
        "model": dict(model_ref),
        "metrics": theirs,
        "deltas": deltas,
        "stability": stability(levels_other, levels_ours),
    }


# ---------------------------------------------------------------------------------------------
# Promotion


@dataclass
class PromotionCheck:
    """Candidate vs active on the same data: each criterion, which got worse, which were too thin.

    ``thin``: criteria the data cannot decide (too few positives, or an
    interval too wide to rule out a drop beyond the margin); a promotion
    then needs more labelled data or ``--force``, never a silent pass.
    """

    rows: list[dict[str, Any]]
    worse: list[str]
    stability: dict[str, Any]
    thin: list[str] = field(default_factory=list)

    @property
    def acceptable(self) -> bool:
        return not self.worse and not self.thin


# Resamples of the paired bootstrap that decides whether a drop is more than chance.
PROMOTION_RESAMPLES = 200
# Recall per tactic and the hard negatives' false-positive rate are compared at these levels.
GATED_LEVELS: tuple[str, ...] = ("high", "elevated")
# The most recall a candidate may lose (or false-positive rate gain) at a level, and the
# evidence must rule out more: the 95% interval of the change has to stay inside it.
RATE_MARGIN = 0.10
# Below this many positives per tactic (or hard negatives) one account moves a rate by more
# than half the margin (1/20 = 5 points), so no interval can tell a margin's drop from luck.
MIN_RATE_ACCOUNTS = round(2 / RATE_MARGIN)


def _paired_drop_interval(y: np.ndarray, active: np.ndarray, candidate: np.ndarray,
                          metric: Any, seed: int = 0, *,
                          both_classes: bool = True) -> tuple[float, float] | None:
    """95% interval of metric(candidate) - metric(active) over accounts resampled together.

    Both models are scored on the same resampled accounts, so the interval
    measures how much the difference itself moves with the accounts drawn.
    None when too few resamples hold both classes (``both_classes``: the
    metric needs them, as ranking metrics and recall do).
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = []
    for _ in range(PROMOTION_RESAMPLES):
        rows = rng.integers(0, n, n)
        if both_classes and y[rows].min() == y[rows].max():
            continue
        diffs.append(metric(y[rows], candidate[rows]) - metric(y[rows], active[rows]))
    if len(diffs) < PROMOTION_RESAMPLES // 2:
        return None
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def _recall(y: np.ndarray, flagged: np.ndarray) -> float:
    return float(flagged[y == 1].mean())


def _flag_rate(_: np.ndarray, flagged: np.ndarray) -> float:
    return float(flagged.mean())


def _flagged(p: np.ndarray, threshold: LevelThreshold | None) -> np.ndarray:
    """Accounts at ``threshold``'s level or above; an unreachable level flags nobody."""
    if threshold is None or threshold.threshold is None:
        return np.zeros(len(p), dtype=bool)
    return np.asarray(p) >= threshold.threshold


def _rate_row(name: str, y: np.ndarray, active: np.ndarray, candidate: np.ndarray, *,
              counted: int, counted_what: str, higher_is_better: bool,
              tolerance: float, gated: bool = True) -> dict[str, Any]:
    """One rate criterion (recall, or a false-positive rate) with its interval and verdict.

    ``gated=False``: shown with its interval but never refusing.
    """
    metric = _recall if higher_is_better else _flag_rate
    before = metric(y, active) if counted else None
    after = metric(y, candidate) if counted else None
    row: dict[str, Any] = {"criterion": name, "active": before, "candidate": after,
                           "change": None if before is None else after - before,
                           "change_interval": None, "worse": False, "thin": False, "note": ""}
    if counted < MIN_RATE_ACCOUNTS:
        row["thin"] = gated
        row["note"] = (f"too little data to tell: {counted} {counted_what}, needs at least "
                       f"{MIN_RATE_ACCOUNTS}" + ("" if gated else " (shown, not gated)"))
        return row
    interval = _paired_drop_interval(y, active, candidate, metric,
                                     both_classes=higher_is_better)
    row["change_interval"] = interval
    if not gated:
        row["note"] = "shown, not gated"
        return row
    sign = 1.0 if higher_is_better else -1.0  # a drop in recall, a rise in false positives
    gain = sign * row["change"]
    if interval is None:
        row["thin"] = True
        row["note"] = f"too little data to tell: {counted} {counted_what}"
        return row
    best, worst = sorted(sign * np.asarray(interval))[::-1]
    if gain < -tolerance and best < 0:
        row["worse"] = True
        row["note"] = "worse beyond chance"
    elif worst < -RATE_MARGIN:
        row["thin"] = True
        row["note"] = (f"too little data to tell: {counted} {counted_what} cannot rule out a "
                       f"loss over {RATE_MARGIN:.0%}")
        room = RATE_MARGIN + min(gain, 0.0)
        if room > 0:
            # The interval narrows as 1/sqrt(n): about how many would fit it inside the margin.
            needed = int(np.ceil(counted * ((best - worst) / 2 / room) ** 2))
            row["note"] += f"; about {max(needed, counted + 1)} needed"
    return row


def promotion_check(active: Evaluation, candidate: Evaluation,
                    tolerance: float = 0.005) -> PromotionCheck:
    """Refusal criteria, each candidate vs active on the same accounts.

    Ranking: overall and per-tactic PR-AUC, overall ROC-AUC (higher is
    better).  Rates at each gated level (``high``, ``elevated``), each model
    at its own thresholds: recall per tactic, and the false-positive rate on
    hard negatives (genuine viral, community and celebrity accounts) at the
    flag level (at ``elevated``, which flags nobody, it is shown but not
    gated: a model that flags no one would otherwise never be replaced).

    A criterion counts as worse only when it moved the wrong way by more than
    ``tolerance`` *and* a paired bootstrap over the accounts puts the whole 95%
    interval of the change on the wrong side of zero: on a holdout of a few
    dozen accounts a drop of a few hundredths is what another draw of accounts
    would give.  A rate the data cannot decide (fewer than
    ``MIN_RATE_ACCOUNTS`` positives, or an interval that cannot rule out a
    change beyond ``RATE_MARGIN``) is listed in ``thin``, which also refuses:
    ROC/PR-AUC within tolerance once let a model with half the ring recall
    at ``high`` through on 200 accounts.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    a, c = active.summary, candidate.summary
    metric_of = {"PR-AUC": average_precision_score, "ROC-AUC": roc_auc_score}
    ranked = [("overall", "PR-AUC"), ("overall", "ROC-AUC"),
              *((t, "PR-AUC") for t in TACTICS)]
    rows = []
    for target, metric in ranked:
        source = a["overall"] if target == "overall" else a["tactics"][target]
        result = c["overall"] if target == "overall" else c["tactics"][target]
        key = "pr_auc" if metric == "PR-AUC" else "roc_auc"
        before, after = source[key], result[key]
        delta = None if before is None or after is None else after - before
        interval = None
        is_worse = False
        if delta is not None and delta < -tolerance:
            y = np.asarray(active.labels[target])
            interval = _paired_drop_interval(
                y, np.asarray(active.probabilities[a["primary"]][target]),
                np.asarray(candidate.probabilities[c["primary"]][target]), metric_of[metric])
            is_worse = interval is None or interval[1] < 0
        rows.append({"criterion": f"{target} {metric}", "active": before, "candidate": after,
                     "change": delta, "change_interval": interval, "worse": is_worse,
                     "thin": False, "note": "worse beyond chance" if is_worse else ""})
    rows += _rate_rows(active, candidate, tolerance)
    levels_a = assign_levels(active.probabilities[a["primary"]][OVERALL],
                             active.thresholds[a["primary"]][OVERALL])
    levels_c = assign_levels(candidate.probabilities[c["primary"]][OVERALL],
                             candidate.thresholds[c["primary"]][OVERALL])
    return PromotionCheck(rows, [r["criterion"] for r in rows if r["worse"]],
                          stability(levels_a, levels_c),
                          [r["criterion"] for r in rows if r["thin"]])


def _rate_rows(active: Evaluation, candidate: Evaluation,
               tolerance: float) -> list[dict[str, Any]]:
    """Recall per tactic and level, then the hard negatives' false-positive rate per level."""
    a_name, c_name = active.summary["primary"], candidate.summary["primary"]
    rows = []
    for tactic in TACTICS:
        y = np.asarray(active.labels[tactic])
        for level in GATED_LEVELS:
            flags = [_flagged(ev.probabilities[name][tactic],
                              ev.thresholds[name].get(tactic, {}).get(level))
                     for ev, name in ((active, a_name), (candidate, c_name))]
            rows.append(_rate_row(f"{tactic} recall at '{level}'", y, *flags,
                                  counted=int(y.sum()), counted_what=f"{tactic} positives",
                                  higher_is_better=True, tolerance=tolerance))
    kind = active.extra.get("kind")
    if kind is None:
        return rows
    hard = np.isin(kind.astype(str), HARD_NEGATIVE_KINDS) & (active.labels[OVERALL] == 0)
    for level in GATED_LEVELS:
        flags = [_flagged(np.asarray(ev.probabilities[name][OVERALL])[hard],
                          ev.thresholds[name][OVERALL].get(level))
                 for ev, name in ((active, a_name), (candidate, c_name))]
        rows.append(_rate_row(f"false-positive rate at '{level}' on hard negatives",
                              np.zeros(int(hard.sum()), dtype=np.int8), *flags,
                              counted=int(hard.sum()),
                              counted_what="hard negatives (genuine viral, community, celebrity)",
                              higher_is_better=False, tolerance=tolerance,
                              gated=level == FLAG_LEVEL))
    return rows


# ---------------------------------------------------------------------------------------------
# A saved model on labelled data


def model_ref(artifact: Any) -> dict[str, Any]:
    return {"name": artifact.name, "version": artifact.version}


def evaluate_artifact(
    artifact: Any,
    data: TrainingSet,
    *,
    against: tuple[Any, TrainingSet] | None = None,
    setting: str = "held-out labelled data",
    baselines: bool = True,
) -> Evaluation:
    """Score labelled data with a saved model, its baselines and optionally another model.

    ``data`` must hold features computed with this artifact's own follower
    component; ``against`` pairs the other artifact with features computed
    with its component (the same accounts, in the same order).
    """
    learners: dict[str, CalibratedLearner] = {PRIMARY_LEARNER: artifact.model.learner}
    notes: list[str] = []
    if baselines:
        loaded, notes = artifact.load_baselines()
        learners.update(loaded)
    x = _matrix(artifact, data)
    probs, thresholds = learner_probabilities(learners, x)
    evaluation = evaluate_probabilities(data, probs, thresholds, model_ref=model_ref(artifact),
                                        setting=setting, notes=notes)
    evaluation.summary["feature_importance"] = feature_importance(artifact.model, x)
    if against is not None:
        other, other_data = against
        if not np.array_equal(other_data.account_ids, data.account_ids):
            raise ValueError("the other model's features must be for the same accounts")
        other_x = _matrix(other, other_data)
        add_against(evaluation, f"against:{other.version}",
                    other.model.learner.probabilities(other_x), other.thresholds,
                    model_ref(other))
    return evaluation


def _matrix(artifact: Any, data: TrainingSet) -> np.ndarray:
    from trueclout.models.account_model import FeatureMismatchError
    from trueclout.models.artifact import IncompatibleArtifactError

    try:
        return artifact.model.matrix(_Frame(data.x, data.feature_names))
    except FeatureMismatchError as exc:
        raise IncompatibleArtifactError(f"model {artifact.version}: {exc}") from None


@dataclass(frozen=True)
class _Frame:
    values: np.ndarray
    names: Sequence[str]
