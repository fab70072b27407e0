"""Fitting the account-level model: grouped cross-validation, calibration and thresholds.

Every learner (XGBoost, and the logistic-regression and random-forest
baselines) is fitted on every target (each tactic, and "any tactic") once per
fold, so each account gets an out-of-fold score from models that never saw its
ring or purchase batch (folds are grouped by ``group_id``).  Calibrators and
decision thresholds are fitted on those out-of-fold scores; the shipped
models are then refitted on all the data.

Monotone risk: XGBoost is constrained to be monotone in every feature in the
direction the feature registry gives (``account_model.monotone_constraints``),
so more of a manipulation signal never lowers a tactic's score; calibrators
are increasing, and the overall risk is a maximum of increasing functions.

Class imbalance: XGBoost weighs positives by ``scale_pos_weight`` = negatives
/ positives of the fold; the baselines use ``class_weight="balanced"``.  The
calibrators undo the resulting shift, so probabilities stay honest.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from trueclout.errors import UserError
from trueclout.models.account_model import (
    BASELINE_LEARNERS,
    OVERALL,
    PRIMARY_LEARNER,
    TACTICS,
    TARGETS,
    AccountModel,
    BoosterScorer,
    CalibratedLearner,
    Calibrator,
    ForestScorer,
    LevelThreshold,
    LinearScorer,
    TargetScorer,
    Thresholds,
    combine_overall,
    monotone_constraints,
)
from trueclout.progress import Progress
from trueclout.training.data.labelled import TrainingSet

DEFAULT_PRECISION_TARGETS: dict[str, float] = {"elevated": 0.80, "high": 0.95}
LEARNERS: tuple[str, ...] = (PRIMARY_LEARNER, *BASELINE_LEARNERS)

StepHook = Callable[[str], None]


@dataclass(frozen=True)
class TrainingConfig:
    """Every choice that shapes a trained model; stored in the card so a model can be rebuilt."""

    folds: int = 5
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    trees: int = 300
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 2.0
    forest_trees: int = 50
    forest_max_leaf_nodes: int = 128
    calibration: str = "sigmoid"
    # XGBoost monotone in each feature's registered risk direction.
    monotone: bool = True
    precision_targets: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PRECISION_TARGETS))

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("threads")  # how fast, not what: not part of the model
        doc.pop("device")
        return doc


@dataclass
class FitResult:
    model: AccountModel
    folds: np.ndarray
    oof: dict[str, dict[str, np.ndarray]]  # learner -> target -> calibrated out-of-fold probability
    seconds: float


# ---------------------------------------------------------------------------------------------
# Device


def check_device(device: str) -> str:
    """``cpu`` or ``cuda[:N]``; refuses CUDA where XGBoost cannot see a GPU.

    XGBoost itself only warns and falls back to the CPU, which would make a
    "GPU" run silently slow; one tiny probe fit tells the truth.
    """
    if device == "cpu":
        return device
    if not (device == "cuda" or device.startswith("cuda:")):
        raise UserError(f"--device must be 'cpu' or 'cuda' (optionally 'cuda:N'), not {device!r}")
    import json

    import xgboost as xgb

    if not xgb.build_info().get("USE_CUDA"):
        raise UserError(f"--device {device}: this XGBoost build has no CUDA support; "
                        "install a CUDA-enabled xgboost or use --device cpu")
    probe = xgb.DMatrix(np.array([[0.0], [1.0]], dtype=np.float32), label=np.array([0, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        booster = xgb.train({"device": device, "tree_method": "hist", "verbosity": 0}, probe, 1)
    used = json.loads(booster.save_config())["learner"]["generic_param"]["device"]
    if not used.startswith("cuda"):
        raise UserError(f"--device {device}: no usable GPU is visible on this machine "
                        "(XGBoost found none); use --device cpu")
    return device


# ---------------------------------------------------------------------------------------------
# Learners


def xgboost_params(config: TrainingConfig, *, rows: int, positives: int,
                   constraints: Sequence[int] | None, nthread: int) -> dict[str, Any]:
    """XGBoost's parameters for one target, in-process or on a cluster (``on_dask``).

    ``positives`` of ``rows`` size the class weight; ``constraints``: the
    monotone constraint per column (None: unconstrained).
    """
    positives = max(positives, 1)
    params: dict[str, Any] = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "device": config.device,
        "max_depth": config.max_depth,
        "eta": config.learning_rate,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "min_child_weight": config.min_child_weight,
        "scale_pos_weight": (rows - positives) / positives,
        "nthread": nthread,
        "seed": config.seed,
        "verbosity": 0,
    }
    if constraints is not None and any(constraints):
        params["monotone_constraints"] = "(" + ",".join(str(int(c)) for c in constraints) + ")"
    return params


def fit_xgboost(x: np.ndarray, y: np.ndarray, config: TrainingConfig,
                constraints: Sequence[int] | None = None) -> BoosterScorer:
    """``constraints``: XGBoost's monotone constraint per column (None: unconstrained)."""
    import xgboost as xgb

    params = xgboost_params(config, rows=len(y), positives=int(y.sum()),
                            constraints=constraints, nthread=config.threads)
    matrix = xgb.QuantileDMatrix(x, label=y, nthread=config.threads)
    booster = xgb.train(params, matrix, num_boost_round=config.trees)
    if config.device != "cpu":
        booster.set_param({"device": "cpu"})  # predictions run where the service runs
    scorer = BoosterScorer(booster)
    scorer.set_threads(config.threads)
    return scorer


def fit_logistic(x: np.ndarray, y: np.ndarray, config: TrainingConfig) -> LinearScorer:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
    pipeline = make_pipeline(
        imputer,
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2_000),
    )
    pipeline.fit(np.asarray(x, dtype=np.float64), y)
    scaler, logistic = pipeline[1], pipeline[2]
    indicator = (imputer.indicator_.features_ if imputer.indicator_ is not None
                 else np.zeros(0, dtype=np.int64))
    return LinearScorer(
        medians=np.asarray(imputer.statistics_, dtype=np.float64),
        indicator_columns=np.asarray(indicator, dtype=np.int64),
        mean=np.asarray(scaler.mean_, dtype=np.float64),
        scale=np.asarray(scaler.scale_, dtype=np.float64),
        coef=np.asarray(logistic.coef_[0], dtype=np.float64),
        intercept=float(logistic.intercept_[0]),
    )


def fit_forest(x: np.ndarray, y: np.ndarray, config: TrainingConfig) -> ForestScorer:
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=config.forest_trees,
        max_leaf_nodes=config.forest_max_leaf_nodes,
        min_samples_leaf=5,
        class_weight="balanced_subsample",
        n_jobs=config.threads,
        random_state=config.seed,
    )
    forest.fit(x, y)
    return ForestScorer.from_sklearn(forest)


FITTERS: dict[str, Callable[[np.ndarray, np.ndarray, TrainingConfig], TargetScorer]] = {
    "xgboost": fit_xgboost,
    "logistic_regression": fit_logistic,
    "random_forest": fit_forest,
}


# ---------------------------------------------------------------------------------------------
# Folds and thresholds


def make_folds(data: TrainingSet, n_splits: int, seed: int) -> np.ndarray:
    """Fold number per row: no group on both sides, tactic mixes balanced across folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    pattern = sum(data.target(t).astype(np.int64) << i for i, t in enumerate(TACTICS))
    folds = np.full(len(data), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Rare tactic mixes have fewer members than folds; grouping matters more.
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, test) in enumerate(splitter.split(data.x, pattern, data.groups)):
            folds[test] = k
    return folds


def check_trainable(data: TrainingSet, folds: int) -> None:
    """Refuse data on which grouped CV cannot fit or judge a target, saying why."""
    if folds < 2:
        raise UserError(f"--folds must be at least 2, not {folds}")
    finite = np.isfinite(data.x) | np.isnan(data.x)
    if not finite.all():
        bad = data.feature_names[int(np.nonzero(~finite.all(axis=0))[0][0])]
        raise UserError(f"feature {bad!r} has infinite values; the pipeline must give NaN")
    n_groups = len(np.unique(data.groups))
    if n_groups < folds:
        raise UserError(f"only {n_groups} distinct group_id values for {folds}-fold grouped "
                        "cross-validation; use fewer --folds or more data")
    for target in TARGETS:
        y = data.target(target)
        for cls, word in ((1, "positive"), (0, "negative")):
            groups_of_class = len(np.unique(data.groups[y == cls]))
            if groups_of_class < folds:
                raise UserError(
                    f"label {target!r} has {int((y == cls).sum())} {word} account(s) in "
                    f"{groups_of_class} group(s); {folds}-fold grouped cross-validation needs "
                    f"at least {folds} groups of each class (label more, or lower --folds)")


def check_folds(data: TrainingSet, folds: np.ndarray) -> None:
    """Every training split must hold both classes of every target, or a fit is meaningless."""
    for k in np.unique(folds):
        for target in TARGETS:
            present = np.unique(data.target(target)[folds != k])
            if len(present) < 2:
                lacking = "positive" if present[0] == 0 else "negative"
                raise UserError(f"grouped fold {k + 1} leaves no {lacking} {target!r} account to "
                                "train on; label more groups or lower --folds")


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, level: str, target_precision: float
) -> LevelThreshold:
    """The threshold with the most recall at the target precision, and the fewest false alarms.

    ``scores`` are calibrated probabilities.  A candidate threshold must give a
    flagged set that reaches the target precision *and* must itself be at
    least the target as a probability: otherwise a set of near-certain cheats
    would carry along accounts that are, one by one, more likely genuine (a
    false accusation does real harm).  Among the candidates with the best
    recall, all of which catch the same positives, the highest adds no
    needless false positives; the threshold sits halfway between it and the
    next lower score, so accounts scored a little differently on new data
    fall on the side the held-out folds put them.
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    best = float(precision.max()) if len(precision) else 0.0
    reached = np.nonzero((precision >= target_precision) & (thresholds >= target_precision))[0]
    if len(reached) == 0:
        return LevelThreshold(level, target_precision, None, None, None, best)
    most_recall = recall[reached].max()
    i = int(reached[recall[reached] >= most_recall].max())
    cut = float(thresholds[i]) if i == 0 else float((thresholds[i] + thresholds[i - 1]) / 2)
    cut = max(cut, target_precision)
    return LevelThreshold(level, target_precision, cut, float(precision[i]), float(recall[i]),
                          best)


def choose_thresholds(
    data: TrainingSet, probabilities: Mapping[str, np.ndarray], targets: Mapping[str, float]
) -> Thresholds:
    """Per target, one threshold per level, in increasing precision."""
    ordered = sorted(targets.items(), key=lambda kv: kv[1])
    return {
        target: {level: choose_threshold(data.target(target), probabilities[target], level, p)
                 for level, p in ordered}
        for target in TARGETS
    }


# ---------------------------------------------------------------------------------------------
# The whole fit


def calibrate(raw: Mapping[str, np.ndarray], data: TrainingSet, method: str
              ) -> tuple[dict[str, Calibrator], dict[str, np.ndarray]]:
    """Calibrators fitted on out-of-fold raw scores, and the calibrated probabilities.

    The overall probability is combined from the calibrated targets the way
    the saved model combines them, so thresholds are chosen on what it predicts.
    """
    calibrators = {t: Calibrator.fit(raw[t], data.target(t), method) for t in TARGETS}
    calibrated = {t: calibrators[t](raw[t]) for t in TARGETS}
    tactics = {t: calibrated[t] for t in TACTICS}
    return calibrators, {**tactics, OVERALL: combine_overall(calibrated[OVERALL], tactics)}


def total_steps(config: TrainingConfig) -> int:
    """Model fits done by ``fit_account_model``: for progress bars."""
    return len(LEARNERS) * len(TARGETS) * (config.folds + 1)


def fit_account_model(
    data: TrainingSet, config: TrainingConfig, *, on_step: StepHook | None = None
) -> FitResult:
    """Grouped CV for every learner and target, then calibrators, thresholds and final fits."""
    started = time.perf_counter()
    check_trainable(data, config.folds)
    check_device(config.device)
    step = on_step or (lambda _msg: None)
    folds = make_folds(data, config.folds, config.seed)
    check_folds(data, folds)
    learners: dict[str, CalibratedLearner] = {}
    oof: dict[str, dict[str, np.ndarray]] = {}
    for learner in LEARNERS:
        fitter = FITTERS[learner]
        if learner == PRIMARY_LEARNER and config.monotone:
            fitter = partial(fit_xgboost, constraints=monotone_constraints(data.feature_names))
        raw = {t: np.zeros(len(data)) for t in TARGETS}
        for k in range(config.folds):
            train, test = folds != k, folds == k
            for target in TARGETS:
                scorer = fitter(data.x[train], data.target(target)[train], config)
                raw[target][test] = scorer.score(data.x[test])
                step(f"{learner}: fold {k + 1}/{config.folds}, {target}")
        calibrators, oof[learner] = calibrate(raw, data, config.calibration)
        scorers: dict[str, TargetScorer] = {}
        for target in TARGETS:
            scorers[target] = fitter(data.x, data.target(target), config)
            step(f"{learner}: final model, {target}")
        thresholds = choose_thresholds(data, oof[learner], config.precision_targets)
        learners[learner] = CalibratedLearner(learner, scorers, calibrators, thresholds)
    model = AccountModel(
        feature_names=tuple(data.feature_names),
        learner=learners[PRIMARY_LEARNER],
        baselines={name: learners[name] for name in BASELINE_LEARNERS},
    )
    return FitResult(model, folds, oof, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Labelled data -> a saved artifact


@dataclass
class TrainedModel:
    path: Path
    card: dict[str, Any]
    fit: FitResult
    data: TrainingSet
    evaluation: Any | None


CLASS_IMBALANCE = ("xgboost: scale_pos_weight = negatives / positives of each training fold; "
                   "baselines: class_weight='balanced'; calibrated afterwards on out-of-fold "
                   "scores")
THRESHOLD_RULE = ("on out-of-fold calibrated probabilities (grouped CV): the most recall whose "
                  "flagged set reaches the target precision, with the threshold itself at least "
                  "the target as a probability; the highest such score (fewest false alarms), "
                  "halfway to the next lower score; unreachable targets are stored as such")


def features_digest(data: TrainingSet) -> str:
    """sha256 of exactly what the learners saw: feature names, matrix, labels, groups."""
    digest = hashlib.sha256()
    digest.update("\0".join(data.feature_names).encode())
    digest.update(np.ascontiguousarray(data.x, dtype=np.float32).tobytes())
    for tactic in TACTICS:
        digest.update(np.asarray(data.labels[tactic], dtype=np.int8).tobytes())
    digest.update("\0".join(map(str, data.account_ids)).encode())
    digest.update("\0".join(map(str, data.groups)).encode())
    return digest.hexdigest()


def cv_metrics(evaluation: Any, config: TrainingConfig) -> dict[str, Any]:
    """The card's metrics: out-of-fold figures of every learner, compactly."""
    summary = evaluation.summary
    learners = {
        learner: {t: {k: m[k] for k in ("roc_auc", "pr_auc", "brier")}
                  for t, m in by_target.items()}
        for learner, by_target in summary["learners"].items()
    }
    return {
        "setting": f"grouped {config.folds}-fold cross-validation, out-of-fold predictions",
        "learners": learners,
        "thresholds": {t: summary["learners"][PRIMARY_LEARNER][t]["thresholds"]
                       for t in TARGETS},
        "hard_negatives": summary["hard_negatives"],
    }


def save_trained(
    out: Path,
    model: AccountModel,
    evaluation: Any,
    config: TrainingConfig,
    *,
    name: str,
    registry_version: str,
    follower_model: Any | None,
    training: Mapping[str, Any],
    extra_files: Mapping[str, bytes] | None = None,
    created_at: datetime | None = None,
    overwrite: bool = False,
    write_report: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Save a fitted model with its card (and its report); returns the card.

    In-process and distributed fits record the same facts about how they
    were made; ``training`` adds what only that fit knows (its data, where it ran).
    """
    from trueclout.models.artifact import REPORT_DIR, attach_reports, save_artifact
    from trueclout.training.evaluate.report import render_report

    record = {"config": config.to_json(), "class_imbalance": CLASS_IMBALANCE,
              "threshold_rule": THRESHOLD_RULE, **training}
    card = save_artifact(out, model, name=name, training=record,
                         metrics=cv_metrics(evaluation, config),
                         registry_version=registry_version, follower_model=follower_model,
                         extra_files=extra_files, created_at=created_at, overwrite=overwrite)
    evaluation.summary["model"] = {"name": name, "version": card["version"]}
    if write_report:
        if progress:
            progress.start("writing the report", None)
        files = {f"{REPORT_DIR}/{k}": v for k, v in render_report(evaluation).items()}
        card = attach_reports(out, files)
    return card


def train_artifact(
    data: TrainingSet,
    config: TrainingConfig,
    out: Path,
    *,
    name: str,
    registry_version: str,
    follower_model: Any | None,
    write_report: bool = True,
    progress: Progress | None = None,
    created_at: datetime | None = None,
    overwrite: bool = False,
    extra_training: Mapping[str, Any] | None = None,
) -> TrainedModel:
    """Fit every learner on a training set and save the artifact (with its CV report)."""
    from trueclout.models.reference import REFERENCE_FILE, reference_of
    from trueclout.training.data.labelled import label_summary
    from trueclout.training.evaluate.metrics import evaluate_probabilities, feature_importance

    if progress:
        progress.start("fitting (grouped CV, then final models)", total_steps(config))
    result = fit_account_model(data, config,
                               on_step=(lambda _m: progress.advance()) if progress else None)
    if progress:
        progress.start("evaluating out-of-fold predictions", None)
    learners = result.model.all_learners()
    evaluation = evaluate_probabilities(
        data, result.oof, {n: lr.thresholds for n, lr in learners.items()},
        model_ref={"name": name, "version": "(this model)"},
        setting=f"training data, grouped {config.folds}-fold cross-validation (out-of-fold)",
    )
    evaluation.summary["feature_importance"] = feature_importance(result.model, data.x,
                                                                  seed=config.seed)
    # What the model learned from, feature by feature: the baseline drift is measured against.
    reference = reference_of(data.x, data.feature_names, registry_version=registry_version,
                             source=data.source)
    card = save_trained(
        out, result.model, evaluation, config, name=name, registry_version=registry_version,
        follower_model=follower_model, training={
            "data": {"source": data.source, "digest": data.digest,
                     "features_sha256": features_digest(data), **label_summary(data)},
            **(extra_training or {})},
        extra_files={REFERENCE_FILE: reference.to_bytes()}, created_at=created_at,
        overwrite=overwrite, write_report=write_report, progress=progress)
    return TrainedModel(Path(out), card, result, data, evaluation)
