"""The account-level model: one calibrated classifier per tactic, an overall risk, risk levels.

Each target (the three tactics, and ``overall`` = "any tactic") has a scorer
(an XGBoost booster for the shipped learner; logistic regression and random
forest for the baselines) and a calibrator fitted on out-of-fold scores.  The
overall risk is the calibrated "any tactic" probability, raised to the largest
tactic probability where that is higher (the chance of some manipulation is
never below the chance of one kind).  Levels come from thresholds chosen at
stated precisions on held-out folds; the ``flag`` a platform acts on is set
only at the ``high`` level, because a false accusation does real harm.

Everything a prediction needs is plain numbers (boosters in XGBoost's own
format, calibrators and thresholds as JSON), so nothing here is unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from trueclout.assessment import TACTICS
from trueclout.features.registry import REGISTRY

OVERALL = "overall"
TARGETS: tuple[str, ...] = (*TACTICS, OVERALL)
LEVELS: tuple[str, ...] = ("low", "elevated", "high")
FLAG_LEVEL = "high"
PRIMARY_LEARNER = "xgboost"
BASELINE_LEARNERS: tuple[str, ...] = ("logistic_regression", "random_forest")
# Calibrated probabilities stay inside [floor, 1 - floor], so log-odds stay finite.
PROBABILITY_FLOOR = 1e-6

ContributionMode = Literal["none", "approx", "exact"]
Thresholds = dict[str, dict[str, "LevelThreshold"]]  # target -> level -> threshold


class FeatureMatrix(Protocol):
    """What the model reads: the feature pipeline's FeatureFrame or any matrix with names."""

    @property
    def values(self) -> np.ndarray: ...

    @property
    def names(self) -> Sequence[str]: ...


class FeatureMismatchError(ValueError):
    """The matrix's columns are not the ones the model was trained on."""


def monotone_constraints(feature_names: Sequence[str]) -> tuple[int, ...]:
    """XGBoost's ``monotone_constraints``, one per feature: the registry's risk direction.

    +1: a higher value never lowers the predicted risk; -1: never raises it; 0
    (a name the registry lacks) leaves the feature free.  With every learner
    monotone, calibrators increasing and the overall risk a maximum of them,
    more of a signal never makes an account look cleaner.
    """
    directions = {s.name: s.risk_direction for s in REGISTRY}
    return tuple(int(directions.get(name, 0)) for name in feature_names)


def as_float32(values: np.ndarray) -> np.ndarray:
    """The one conversion at the model's edge: C-ordered float32, NaN kept as 'unknown'."""
    return np.ascontiguousarray(values, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class Calibrator:
    """Maps a scorer's raw output to a calibrated probability; stored as numbers, not pickles.

    ``sigmoid`` (the default) is Platt scaling, ``1 / (1 + exp(-(a * score +
    b)))``, fitted on Platt's smoothed targets so that separable data does
    not drive the slope to infinity.  It keeps every distinction the learner
    makes.  ``isotonic`` keeps the knots of scikit-learn's IsotonicRegression
    (clipped at the ends, linear in between, exactly what its ``predict``
    does); it bends to any shape, but on well-separated data it collapses the
    scores into a few steps (measured on the default model's holdout world:
    12 distinct probabilities for 4,000 accounts, ROC-AUC of growth_burst
    0.99985 before calibration, 0.99902 after), which ties accounts the
    learner had ranked.
    """

    method: Literal["isotonic", "sigmoid"]
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(
        cls, scores: np.ndarray, labels: np.ndarray, method: str = "sigmoid"
    ) -> Calibrator:
        scores = np.asarray(scores, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.float64)
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(scores, labels)
            return cls("isotonic", x=tuple(map(float, iso.X_thresholds_)),
                       y=tuple(map(float, iso.y_thresholds_)))
        if method == "sigmoid":
            a, b = _platt(scores, labels)
            return cls("sigmoid", a=a, b=b)
        raise ValueError(f"calibration method must be 'isotonic' or 'sigmoid', not {method!r}")

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        if self.method == "isotonic":
            p = np.interp(scores, np.asarray(self.x), np.asarray(self.y))
        else:
            p = 1.0 / (1.0 + np.exp(-(self.a * scores + self.b)))
        return np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)

    def to_json(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"method": "sigmoid", "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Calibrator:
        if doc["method"] == "isotonic":
            return cls("isotonic", x=tuple(doc["x"]), y=tuple(doc["y"]))
        return cls("sigmoid", a=float(doc["a"]), b=float(doc["b"]))


def _platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt (1999): logistic fit of labels on scores, with targets (n+ + 1)/(n+ + 2) and
    1/(n- + 2) instead of 1 and 0, as scikit-learn's sigmoid calibration does."""
    from scipy.optimize import minimize
    from scipy.special import expit

    positives = float(labels.sum())
    negatives = float(len(labels) - positives)
    target = np.where(labels > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * scores + ab[1]
        gap = expit(z) - target
        return float(np.sum(np.logaddexp(0.0, z) - target * z)), np.array(
            [gap @ scores, gap.sum()])

    start = np.array([1.0, np.log((positives + 1) / (negatives + 1))])
    # The slope stays >= 0: a calibrator must never turn a higher score into a lower risk.
    result = minimize(loss, start, jac=True, method="L-BFGS-B",
                      bounds=[(0.0, None), (None, None)])
    return float(result.x[0]), float(result.x[1])


# ---------------------------------------------------------------------------------------------
# Scorers: raw, uncalibrated outputs of one fitted learner for one target


class TargetScorer(Protocol):
    """One fitted learner for one target (a tactic, or overall): raw scores, not probabilities.

    Not the service's ``Scorer`` (a snapshot to an assessment): this is a
    part of a model, calibrated into a probability by ``CalibratedLearner``.
    """

    def score(self, x: np.ndarray) -> np.ndarray:
        """A raw score per row (log-odds for boosters), monotone in the risk."""
        ...


class ModelInput:
    """One feature matrix, converted once for every booster that reads it.

    Measured on this project's 2-core machine (xgboost 3.2, one thread):
    building one ``DMatrix`` and calling ``Booster.predict`` on it for the four
    boosters costs ~0.24 ms for one row, against ~0.42 ms for four
    ``inplace_predict`` calls (and 4 ms against 15 ms for 2,000 rows); the
    contributions reuse the same matrix.  The margins are identical.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self._matrices: dict[int, Any] = {}

    def dmatrix(self, nthread: int) -> Any:
        if nthread not in self._matrices:
            import xgboost as xgb

            self._matrices[nthread] = xgb.DMatrix(as_float32(self.x), nthread=nthread)
        return self._matrices[nthread]


@dataclass
class BoosterScorer:
    """An XGBoost booster's margin (log-odds), predicted from a float32 ``DMatrix``."""

    booster: Any  # xgboost.Booster, imported lazily
    nthread: int = 1

    def set_threads(self, nthread: int) -> None:
        self.nthread = nthread
        self.booster.set_param({"nthread": nthread})

    def score(self, x: np.ndarray | ModelInput) -> np.ndarray:
        matrix = _as_input(x).dmatrix(self.nthread)
        return np.asarray(self.booster.predict(matrix, output_margin=True), dtype=np.float64)

    def contributions(self, x: np.ndarray | ModelInput, *, approx: bool) -> np.ndarray:
        """Per-feature log-odds contributions; the last column is the bias (TreeSHAP)."""
        matrix = _as_input(x).dmatrix(self.nthread)
        return np.asarray(self.booster.predict(matrix, pred_contribs=True,
                                               approx_contribs=approx), dtype=np.float64)


def _as_input(x: np.ndarray | ModelInput) -> ModelInput:
    return x if isinstance(x, ModelInput) else ModelInput(x)


@dataclass(frozen=True)
class LinearScorer:
    """A logistic regression stored as numbers: median imputation, missing flags, scaling.

    Mirrors scikit-learn's SimpleImputer(add_indicator=True) + StandardScaler +
    LogisticRegression pipeline, so the baseline is portable JSON.
    """

    medians: np.ndarray
    indicator_columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        missing = np.isnan(x)
        filled = np.where(missing, self.medians, x)
        design = np.hstack([filled, missing[:, self.indicator_columns].astype(np.float64)])
        return ((design - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {
            "medians": self.medians.tolist(),
            "indicator_columns": self.indicator_columns.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LinearScorer:
        return cls(
            medians=np.asarray(doc["medians"], dtype=np.float64),
            indicator_columns=np.asarray(doc["indicator_columns"], dtype=np.int64),
            mean=np.asarray(doc["mean"], dtype=np.float64),
            scale=np.asarray(doc["scale"], dtype=np.float64),
            coef=np.asarray(doc["coef"], dtype=np.float64),
            intercept=float(doc["intercept"]),
        )


# Child index of a leaf in scikit-learn's tree arrays.
_LEAF = -1
_FLOAT_MAX = float(np.finfo(np.float64).max)


@dataclass
class ForestScorer:
    """A random forest's mean positive-class share, from its trees as plain arrays.

    The forest is grown by scikit-learn (``from_sklearn``) and kept as the
    arrays of its trees, all trees concatenated: node ``i`` sends a row to
    ``left[i]`` when its ``feature[i]`` is ``<= threshold[i]`` (NaN goes left
    where ``missing_left[i]``), and a leaf (``left == -1``) holds the share of
    the positive class it saw.  Walking these arrays gives scikit-learn's own
    ``predict_proba``, and they are stored as JSON, so loading a forest never
    unpickles anything.
    """

    roots: np.ndarray  # index of each tree's root node
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    positive_share: np.ndarray

    @classmethod
    def from_sklearn(cls, forest: Any) -> ForestScorer:
        """The arrays of a fitted ``RandomForestClassifier`` (labels 0/1)."""
        roots, parts = [], []
        offset = 0
        positive = list(forest.classes_).index(1) if 1 in forest.classes_ else None
        for estimator in forest.estimators_:
            tree = estimator.tree_
            leaf = tree.children_left == _LEAF
            left = np.where(leaf, _LEAF, tree.children_left + offset)
            right = np.where(leaf, _LEAF, tree.children_right + offset)
            counts = tree.value[:, 0, :]
            share = (counts[:, positive] / counts.sum(axis=1) if positive is not None
                     else np.zeros(tree.node_count))
            # A "missing or not" split has threshold +inf; the largest float routes every
            # finite value the same way and, unlike inf, is valid JSON.
            threshold = np.clip(tree.threshold, -_FLOAT_MAX, _FLOAT_MAX)
            parts.append((left, right, tree.feature, threshold,
                          tree.missing_go_to_left.astype(bool), share))
            roots.append(offset)
            offset += tree.node_count
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        return cls(np.asarray(roots, dtype=np.int64), *(
            np.asarray(c, dtype=d) for c, d in zip(
                columns, (np.int64, np.int64, np.int64, np.float64, bool, np.float64),
                strict=True)))

    def score(self, x: np.ndarray) -> np.ndarray:
        # Rows are compared as float32, as scikit-learn does, against float64 thresholds.
        x = np.asarray(x, dtype=np.float32)
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        inner = self.left[node] != _LEAF
        for _ in range(len(self.left)):  # no path is longer than the node count
            if not inner.any():
                break
            r, t = np.nonzero(inner)
            at = node[r, t]
            value = x[rows[r, 0], self.feature[at]]
            go_left = np.where(np.isnan(value), self.missing_left[at], value <= self.threshold[at])
            node[r, t] = np.where(go_left, self.left[at], self.right[at])
            inner = self.left[node] != _LEAF
        if inner.any():
            raise ValueError("forest arrays hold a cycle")
        return self.positive_share[node].mean(axis=1)

    def to_json(self) -> dict[str, Any]:
        return {"roots": self.roots.tolist(), "left": self.left.tolist(),
                "right": self.right.tolist(), "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(), "missing_left": self.missing_left.tolist(),
                "positive_share": self.positive_share.tolist()}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ForestScorer:
        """Arrays as ``to_json`` wrote them; refuses inconsistent ones rather than misroute rows."""
        scorer = cls(
            roots=np.asarray(doc["roots"], dtype=np.int64),
            left=np.asarray(doc["left"], dtype=np.int64),
            right=np.asarray(doc["right"], dtype=np.int64),
            feature=np.asarray(doc["feature"], dtype=np.int64),
            threshold=np.asarray(doc["threshold"], dtype=np.float64),
            missing_left=np.asarray(doc["missing_left"], dtype=bool),
            positive_share=np.asarray(doc["positive_share"], dtype=np.float64))
        n = len(scorer.left)
        sizes = {len(a) for a in (scorer.right, scorer.feature, scorer.threshold,
                                  scorer.missing_left, scorer.positive_share)}
        inner = scorer.left != _LEAF
        children = np.concatenate([scorer.left[inner], scorer.right[inner], scorer.roots])
        bad_child = children.size and (children.min() < 0 or children.max() >= n)
        if sizes != {n} or bad_child or (scorer.feature[inner] < 0).any():
            raise ValueError("forest arrays are inconsistent (lengths or child indices)")
        return scorer


# ---------------------------------------------------------------------------------------------
# A learner: one scorer + calibrator per target


def combine_overall(any_tactic: np.ndarray, tactics: Mapping[str, np.ndarray]) -> np.ndarray:
    """Overall risk: P(some tactic) is never below P(any one tactic)."""
    return np.maximum.reduce([np.asarray(any_tactic), *(tactics[t] for t in TACTICS)])


def _raw_score(scorer: TargetScorer, x: ModelInput) -> np.ndarray:
    """Boosters share the input's one ``DMatrix``; other scorers read the array."""
    return scorer.score(x) if isinstance(scorer, BoosterScorer) else scorer.score(x.x)


@dataclass
class CalibratedLearner:
    """One learner family fitted on every target, with calibrators from out-of-fold scores."""

    name: str
    scorers: dict[str, TargetScorer]
    calibrators: dict[str, Calibrator]
    thresholds: Thresholds = field(default_factory=dict)

    def probabilities(self, x: np.ndarray | ModelInput) -> dict[str, np.ndarray]:
        """Calibrated probability per tactic, and the combined overall risk."""
        shared = _as_input(x)
        raw = {t: self.calibrators[t](_raw_score(self.scorers[t], shared)) for t in TARGETS}
        tactics = {t: raw[t] for t in TACTICS}
        return {**tactics, OVERALL: combine_overall(raw[OVERALL], tactics)}


# ---------------------------------------------------------------------------------------------
# Thresholds and levels


@dataclass(frozen=True)
class LevelThreshold:
    """The score above which a level starts, chosen at a stated precision on held-out folds.

    ``threshold`` is None when no threshold reached the target precision; the
    level is then never assigned, rather than assigned at a precision nobody
    asked for (``best_precision`` says how close it came).
    """

    level: str
    target_precision: float
    threshold: float | None
    precision: float | None
    recall: float | None
    best_precision: float

    @property
    def reachable(self) -> bool:
        return self.threshold is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "target_precision": self.target_precision,
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "best_precision": self.best_precision,
            "reachable": self.reachable,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LevelThreshold:
        return cls(
            level=doc["level"],
            target_precision=float(doc["target_precision"]),
            threshold=None if doc["threshold"] is None else float(doc["threshold"]),
            precision=None if doc["precision"] is None else float(doc["precision"]),
            recall=None if doc["recall"] is None else float(doc["recall"]),
            best_precision=float(doc["best_precision"]),
        )


def thresholds_to_json(thresholds: Thresholds) -> dict[str, dict[str, Any]]:
    return {t: {lv: th.to_json() for lv, th in by_level.items()}
            for t, by_level in thresholds.items()}


def thresholds_from_json(doc: Mapping[str, Mapping[str, Any]]) -> Thresholds:
    return {t: {lv: LevelThreshold.from_json(th) for lv, th in by_level.items()}
            for t, by_level in doc.items()}


def assign_levels(scores: np.ndarray, by_level: Mapping[str, LevelThreshold]) -> np.ndarray:
    """low / elevated / high per row; unreachable levels are never assigned."""
    levels = np.full(len(scores), LEVELS[0], dtype=object)
    for level in LEVELS[1:]:
        th = by_level.get(level)
        if th is not None and th.threshold is not None:
            levels[np.asarray(scores) >= th.threshold] = level
    return levels


# ---------------------------------------------------------------------------------------------
# The model the service calls


@dataclass(frozen=True)
class Prediction:
    """Everything scoring needs for a batch of accounts, as arrays aligned with the input rows.

    ``contributions`` are per-feature contributions (log-odds) to the overall
    booster's margin, whose last term ``bias`` completes the sum; they explain
    the "any tactic" score behind ``risk``.
    """

    feature_names: tuple[str, ...]
    tactics: dict[str, np.ndarray]
    risk: np.ndarray
    level: np.ndarray
    flag: np.ndarray
    tactic_levels: dict[str, np.ndarray]
    contributions: np.ndarray | None = None
    bias: np.ndarray | None = None
    tactic_contributions: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.risk)


@dataclass
class AccountModel:
    """The shipped learner (XGBoost) with its thresholds, over a fixed list of features."""

    feature_names: tuple[str, ...]
    learner: CalibratedLearner
    baselines: dict[str, CalibratedLearner] = field(default_factory=dict)

    @property
    def thresholds(self) -> Thresholds:
        return self.learner.thresholds

    def matrix(self, frame: FeatureMatrix) -> np.ndarray:
        """The frame's values, after checking its columns are the model's, in order."""
        names = tuple(frame.names)
        if names != self.feature_names:
            raise FeatureMismatchError(describe_feature_mismatch(self.feature_names, names))
        return np.asarray(frame.values)

    def predict(
        self,
        frame: FeatureMatrix,
        *,
        contributions: ContributionMode = "approx",
        tactic_contributions: bool = False,
    ) -> Prediction:
        """Calibrated tactic probabilities, overall risk, level, flag and contributions.

        ``contributions="approx"`` (Saabas) costs ~0.2 ms for one row,
        ``"exact"`` (TreeSHAP) ~1 ms; ``"none"`` skips them for bulk scoring.
        """
        x = ModelInput(as_float32(self.matrix(frame)))
        probs = self.learner.probabilities(x)
        tactics = {t: probs[t] for t in TACTICS}
        risk = probs[OVERALL]
        level = assign_levels(risk, self.thresholds[OVERALL])
        tactic_levels = {t: assign_levels(tactics[t], self.thresholds[t]) for t in TACTICS}
        contrib = bias = None
        per_tactic = None
        if contributions != "none":
            approx = contributions == "approx"
            full = self._booster(OVERALL).contributions(x, approx=approx)
            contrib, bias = full[:, :-1], full[:, -1]
            if tactic_contributions:
                per_tactic = {t: self._booster(t).contributions(x, approx=approx)[:, :-1]
                              for t in TACTICS}
        return Prediction(
            feature_names=self.feature_names,
            tactics=tactics,
            risk=risk,
            level=level,
            flag=level == FLAG_LEVEL,
            tactic_levels=tactic_levels,
            contributions=contrib,
            bias=bias,
            tactic_contributions=per_tactic,
        )

    def all_learners(self) -> dict[str, CalibratedLearner]:
        return {self.learner.name: self.learner, **self.baselines}

    def set_threads(self, nthread: int) -> None:
        """Threads for prediction: 1 per server process (one process per core)."""
        for target in TARGETS:
            self._booster(target).set_threads(nthread)

    def _booster(self, target: str) -> BoosterScorer:
        scorer = self.learner.scorers[target]
        if not isinstance(scorer, BoosterScorer):
            raise TypeError(f"the {self.learner.name} learner has no booster for {target}")
        return scorer


def describe_feature_mismatch(expected: Sequence[str], got: Sequence[str]) -> str:
    """A message naming what differs: missing, unexpected, or reordered features."""
    missing = [n for n in expected if n not in set(got)]
    extra = [n for n in got if n not in set(expected)]
    parts = []
    if missing:
        parts.append(f"missing {_short(missing)}")
    if extra:
        parts.append(f"unexpected {_short(extra)}")
    if not parts:
        first = next(i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b)
        parts.append(f"same names in another order (first difference at column {first}: "
                     f"expected {expected[first]!r}, got {got[first]!r})")
    return (f"feature list differs from the model's ({len(expected)} features expected, "
            f"{len(got)} given): " + "; ".join(parts))


def _short(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"
