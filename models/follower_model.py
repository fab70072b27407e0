"""The follower-level model: how likely is it that this follower profile was bought?

XGBoost on the profile signals of ``features.follower_signals``, built to keep
its meaning on fake-follower markets it never saw in training:

- **Noise injection.**  Trees put each split at the edge of the training
  classes; a market whose stock is a little more active than the one trained
  on then lands on the human side although it ranks as fake (AUC 0.99, MCC
  0.2).  Training on copies of the profiles with Gaussian noise on every
  measured signal (``noise_scale`` standard deviations; flags untouched) moves
  the boundary into the middle of the gap, the tree analogue of a large
  margin (training with noise is Tikhonov regularisation, Bishop 1995).
- **Monotone constraints** from ``FOLLOWER_SIGNAL_DIRECTIONS`` (more real
  followers, posts, lists or age never raise the odds of being bought),
  imposed in every group.  A bought follower is stock: an account that
  exists to be delivered, so whatever makes an account a participant
  (people following it, lists naming it, posts, age) speaks for it.  Bot
  families that are not stock disagree on some signals (spambots that buy
  followers for themselves, self-declared bots on many lists); dropping a
  direction wherever one group disagreed let the trees learn those
  families' quirks, and every data set and group held out got worse
  (worst group 0.532 -> 0.610 ROC-AUC when imposed, PRN19 0.868 -> 0.992).
  The groups that disagree are recorded in the manifest
  (``monotone_disputed_by``).
- **Shallow trees** (depth 2): each signal's effect must carry to accounts
  unlike any fake trained on (stock bots that post a lot but nobody
  follows), so few interactions; with the constraints imposed, depth 2 beats
  3 on every held-out data set or ties (cresci-2017 0.917 -> 0.927).
- **Calibration and threshold on perturbed held-out folds.**  Stratified folds
  of the training data are scored by models that did not see them, once as
  they are and once with the same noise.  A Platt sigmoid fitted on the noisy
  held-out margins gives the probabilities, and the stored threshold
  maximises the Matthews correlation on them (the midpoint of the best
  plateau): chosen on clean folds the threshold drifts to wherever the wide
  gap between training classes happens to end.
- **Error rates for quantification**: the true- and false-positive rates at
  that threshold on the clean held-out folds feed ``quantify.AdjustedCount``.

Persistence is a folder without pickles: XGBoost's own UBJSON booster and a
``manifest.json`` with feature names, calibration numbers, threshold, error
rates, hyperparameters and library versions.  It implements the audience
seam ``features.audience.AudienceScorer``.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sklearn.base import BaseEstimator, ClassifierMixin

from trueclout.errors import UserError
from trueclout.features.families.audience import ShareEstimate
from trueclout.features.families.follower_signals import (
    FOLLOWER_FLAGS,
    FOLLOWER_SIGNAL_DIRECTIONS,
    FOLLOWER_SIGNALS,
)
from trueclout.features.kernels.segments import Segments
from trueclout.files import write_atomic
from trueclout.models.quantify import MIN_GROUP_PROFILES, AdjustedCount

MODEL_FORMAT = "trueclout.follower_model"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
BOOSTER_FILE = "booster.ubj"


class FollowerModelError(UserError):
    """A follower model that cannot be trained, read or used as asked; the message says why."""


@dataclass(frozen=True)
class PlattCalibration:
    """probability = 1 / (1 + exp(-(coef * margin + intercept)))."""

    coef: float
    intercept: float

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        z = self.coef * np.asarray(margin, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def fit(cls, margin: np.ndarray, y: np.ndarray,
            weight: np.ndarray | None = None) -> PlattCalibration:
        from sklearn.linear_model import LogisticRegression

        # Mild L2 keeps the fit finite when held-out margins separate the classes.
        lr = LogisticRegression(C=1.0).fit(np.asarray(margin).reshape(-1, 1), y,
                                           sample_weight=weight)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def youden_threshold(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The probability cut that maximises tpr - fpr (weighted), midpoint of the best plateau.

    The gap between the true- and false-positive rates is what adjusted
    classify-and-count divides by, so this cut makes the fake share least
    sensitive to error in the rates (Forman's "MAX" method).
    """
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    scores = np.unique(p)[::-1]
    if len(scores) < 2:
        return 0.5
    order = np.argsort(-p, kind="stable")
    ps, ys, ws = p[order], y[order], w[order]
    flagged = np.searchsorted(-ps, -scores, side="right")
    tp = np.cumsum(ws * ys)[flagged - 1]
    fp = np.cumsum(ws * (1 - ys))[flagged - 1]
    gap = (tp / max(tp[-1], 1e-12) - fp / max(fp[-1], 1e-12))[:-1]
    first = int(np.argmax(gap))
    last = first
    while last + 1 < len(gap) and gap[last + 1] >= gap[first] - 1e-12:
        last += 1
    lo, hi = _logit(scores[last + 1]), _logit(scores[first])
    return float(1.0 / (1.0 + np.exp(-(lo + hi) / 2)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


# The signals the shipped recipe uses, chosen by the held-out-data-set table
# (`trueclout followers cross-validate --by dataset`): activity in the
# account's own time (posts, likes, followers per day of age), total activity,
# lists, age, and the follow-many-followed-by-few ratio of a follower for hire.
# Raw following and follower counts, bio, avatar and username traits lowered
# the worst held-out data set's ROC-AUC (0.868 -> 0.728 with every signal):
# vendors fake them, and their meaning flips between markets and eras.
TRANSFER_SIGNALS: tuple[str, ...] = (
    "log_posts",
    "log_likes",
    "log_age_days",
    "log_posts_per_day",
    "log_likes_per_day",
    "log_followers_per_day",
    "log_listed",
    "following_to_followers",
)
# A group's fakes must sit on the expected side of the humans by at least this
# much less than a coin toss (ROC-AUC of the signal alone) to be recorded as
# disputing a direction: small groups wobble around 0.5 by chance.
DIRECTION_SLACK = 0.02


class FollowerModel(ClassifierMixin, BaseEstimator):
    """Calibrated fake probability per follower profile; see the module docstring for why.

    ``fit(X, y, groups)`` takes the ``follower_signals`` matrix (all
    ``FOLLOWER_SIGNALS`` columns, NaN unknown; the model reads its
    ``features``), 0/1 labels (1 = bought) and optionally the group (market,
    data set) of each row: groups weigh equally within their class, and the
    calibration, threshold and error rates come from groups held out whole.
    """

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = TRANSFER_SIGNALS,
        n_estimators: int = 200,
        max_depth: int = 2,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1.0,
        reg_lambda: float = 1.0,
        noise_scale: float = 1.0,
        noise_copies: int = 10,
        max_augmented_rows: int = 200_000,
        monotone: bool = True,
        balance: bool = True,
        max_human_fpr: float = 0.05,
        folds: int = 5,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.noise_scale = noise_scale
        self.noise_copies = noise_copies
        self.max_augmented_rows = max_augmented_rows
        self.monotone = monotone
        self.balance = balance
        self.max_human_fpr = max_human_fpr
        self.folds = folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    # --- training ---------------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> FollowerModel:
        X = _check_signals(X)
        y = _check_labels(y, len(X), self.folds)
        groups = _check_groups(groups, len(y))
        self.feature_names_ = _check_features(self.features)
        self.columns_ = _columns(self.feature_names_)
        X = X[:, self.columns_]
        weight = group_weights(y, groups) if self.balance else np.ones(len(y))
        self.directions_ = ({n: FOLLOWER_SIGNAL_DIRECTIONS[n] for n in self.feature_names_
                             if n in FOLLOWER_SIGNAL_DIRECTIONS} if self.monotone else {})
        self.disputed_ = disputed_directions(X, y, groups, self.feature_names_)
        rng = np.random.default_rng(self.random_state)
        rows = _fold_rows(y, groups, "stratified", self.folds, self.random_state)
        clean, noisy, noisy_y, noisy_w = self._held_out(X, y, weight, rows, rng)
        self.calibration_ = PlattCalibration.fit(noisy, noisy_y, noisy_w)
        self.oof_probability_ = self.calibration_(clean)
        self.threshold_ = max(youden_threshold(noisy_y, self.calibration_(noisy), noisy_w),
                              human_guard(self.oof_probability_, y, groups, self.max_human_fpr))
        # The rates' spread over markets the model never met: whole groups held out.
        self.held_out_by_ = held_out_folds(y, groups, self.folds)
        unseen = None
        if self.held_out_by_ == "group":
            splits = _fold_rows(y, groups, "group", self.folds, self.random_state)
            unseen = self.calibration_(self._held_out(X, y, weight, splits, rng)[0])
            self.unseen_probability_ = unseen
        self.quantifier_ = AdjustedCount.from_held_out(
            y, self.oof_probability_ >= self.threshold_, groups,
            unseen_flagged=None if unseen is None else unseen >= self.threshold_)
        self.noise_sd_ = self._noise_sd(X)
        self.booster_ = self._train_booster(X, y, weight, self.noise_sd_, rng)
        self.n_features_in_ = len(FOLLOWER_SIGNALS)
        self.classes_ = np.array([0, 1])
        self.prior_ = float(y.mean())
        self.training_counts_ = {"n_fake": int(y.sum()), "n_human": int(len(y) - y.sum()),
                                 "groups": _group_counts(y, groups)}
        self.model_id_ = self._content_digest()
        return self

    def _held_out(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray,
                  splits: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Margins of each held-out fold by a model that never saw it: clean, and on noisy
        copies (with their labels and weights) for the calibration."""
        clean = np.empty(len(y))
        noisy, noisy_y, noisy_w = [], [], []
        for train, held in splits:
            sd = self._noise_sd(X[train])
            booster = self._train_booster(X[train], y[train], weight[train], sd, rng)
            clean[held] = _margin(booster, X[held])
            copies = self._copies(len(held))
            noisy.append(_margin(booster, _jitter(X[held], sd, copies, rng)))
            noisy_y.append(np.repeat(y[held], copies))
            noisy_w.append(np.repeat(weight[held], copies))
        return (clean, np.concatenate(noisy), np.concatenate(noisy_y),
                np.concatenate(noisy_w))

    def _content_digest(self) -> str:
        """Names the model by its content (booster, calibration, threshold), not by a clock,
        so that a reproducible build writes byte-identical files."""
        digest = hashlib.sha256(bytes(self.booster_.save_raw("ubj")))
        digest.update(orjson.dumps([self.calibration_.coef, self.calibration_.intercept,
                                    self.threshold_, self.quantifier_.to_dict()]))
        return digest.hexdigest()[:16]

    def _noise_sd(self, X: np.ndarray) -> np.ndarray:
        """Noise per signal: ``noise_scale`` standard deviations of measured ones, 0 for flags."""
        known = ~np.isnan(X)
        count = known.sum(axis=0)
        mean = np.where(known, X, 0).sum(axis=0) / np.maximum(count, 1)
        var = np.where(known, (X - mean) ** 2, 0).sum(axis=0) / np.maximum(count, 1)
        sd = np.sqrt(var) * self.noise_scale
        sd[[i for i, name in enumerate(self.feature_names_) if name in FOLLOWER_FLAGS]] = 0.0
        return sd

    def _copies(self, n: int) -> int:
        if self.noise_scale <= 0:
            return 1
        return int(max(1, min(self.noise_copies, self.max_augmented_rows // max(n, 1))))

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "nthread": self.n_jobs,
            "seed": self.random_state,
            "verbosity": 0,
        }
        if self.directions_:
            directions = [self.directions_.get(n, 0) for n in self.feature_names_]
            params["monotone_constraints"] = "(" + ",".join(map(str, directions)) + ")"
        return params

    def _train_booster(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, sd: np.ndarray,
                       rng: np.random.Generator):
        import xgboost as xgb

        copies = self._copies(len(X))
        data = xgb.DMatrix(_jitter(X, sd, copies, rng), label=np.repeat(y, copies),
                           weight=np.repeat(weight, copies),
                           feature_names=list(self.feature_names_))
        return xgb.train(self._params(), data, num_boost_round=self.n_estimators)

    # --- prediction -------------------------------------------------------------------

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Raw log-odds of the booster, before calibration."""
        self._check_fitted()
        return _margin(self.booster_, _check_signals(X)[:, self.columns_])

    def fake_probability(self, signals: np.ndarray) -> np.ndarray:
        """Calibrated probability that each profile was bought (one per row)."""
        margin = self.decision_function(signals)
        return self.calibration_(margin)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self.fake_probability(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """1 where the calibrated probability reaches the stored threshold."""
        return (self.fake_probability(X) >= self.threshold_).astype(np.int64)

    def estimate_share(
        self, probabilities: np.ndarray, segments: Segments, followers_count: np.ndarray
    ) -> ShareEstimate:
        """Fake share of each account's whole audience from its sampled followers' probabilities."""
        self._check_fitted()
        p = np.asarray(probabilities, dtype=np.float64)
        flagged = np.where(np.isnan(p), np.nan, (p >= self.threshold_).astype(np.float64))
        return self.quantifier_.estimate_share(flagged, segments, followers_count)

    def feature_importance(self) -> dict[str, float]:
        """Total gain per signal the model reads (0 where the trees never split), in its order."""
        self._check_fitted()
        gain = self.booster_.get_score(importance_type="total_gain")
        return {name: float(gain.get(name, 0.0)) for name in self.feature_names_}

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise FollowerModelError("the follower model is not trained; call fit or load")

    # --- persistence ------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """Everything but the booster, as plain JSON values (no absolute paths, no clock)."""
        self._check_fitted()
        return {
            "format": MODEL_FORMAT,
            "format_version": FORMAT_VERSION,
            "model_id": self.model_id_,
            "feature_names": self.feature_names_,
            "files": {"booster": BOOSTER_FILE},
            "calibration": {"method": "platt", "coef": self.calibration_.coef,
                            "intercept": self.calibration_.intercept},
            "threshold": self.threshold_,
            "threshold_rule": "max tpr - fpr (Youden's J, groups weighted equally) on "
                              "noise-perturbed held-out folds (plateau midpoint), raised until "
                              f"no group of humans has more than {self.max_human_fpr:.0%} "
                              "of its held-out profiles flagged",
            "held_out_by": self.held_out_by_,
            "monotone": dict(self.directions_),
            "monotone_disputed_by": {k: list(v) for k, v in self.disputed_.items()},
            "quantifier": {"method": "adjusted_classify_and_count",
                           **self.quantifier_.to_dict()},
            "prior": self.prior_,
            "training": dict(self.training_counts_),
            "noise_sd": [float(v) for v in self.noise_sd_],
            "hyperparameters": self.get_params(),
            "library_versions": _library_versions(),
        }

    def save(self, directory: Path | str, *, extra: dict[str, Any] | None = None) -> Path:
        """Write the booster and ``manifest.json`` into ``directory`` (created if needed)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest() | ({"about": extra} if extra else {})
        self.booster_.save_model(str(directory / BOOSTER_FILE))
        write_atomic(directory / MANIFEST_FILE,
                     orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        return directory

    @classmethod
    def load(cls, directory: Path | str, *, n_jobs: int = 1) -> FollowerModel:
        """Read a saved model; refuses a folder made for another feature list or format."""
        import xgboost as xgb

        directory = Path(directory)
        path = directory / MANIFEST_FILE
        if not path.is_file():
            raise FollowerModelError(f"{directory}: not a follower model (no {MANIFEST_FILE})")
        try:
            m = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise FollowerModelError(f"{path}: not valid JSON ({exc})") from exc
        if m.get("format") != MODEL_FORMAT:
            raise FollowerModelError(f"{directory}: not a follower model (format "
                                     f"{m.get('format')!r}, expected {MODEL_FORMAT!r})")
        if m.get("format_version") != FORMAT_VERSION:
            raise FollowerModelError(f"{directory}: format version {m.get('format_version')} "
                                     f"is not supported (this version reads {FORMAT_VERSION})")
        _check_feature_names(m.get("feature_names"), directory)
        booster_path = directory / m["files"]["booster"]
        if not booster_path.is_file():
            raise FollowerModelError(f"{directory}: booster file {booster_path.name} is missing")
        hyper = {k: v for k, v in m["hyperparameters"].items() if k in cls._get_param_names()}
        hyper["features"] = tuple(m["feature_names"])
        model = cls(**(hyper | {"n_jobs": n_jobs}))
        booster = xgb.Booster()
        booster.load_model(str(booster_path))
        booster.set_param({"nthread": n_jobs})
        model.booster_ = booster
        model.calibration_ = PlattCalibration(float(m["calibration"]["coef"]),
                                              float(m["calibration"]["intercept"]))
        model.threshold_ = float(m["threshold"])
        model.quantifier_ = AdjustedCount.from_dict(m["quantifier"])
        model.noise_sd_ = np.asarray(m["noise_sd"], dtype=np.float64)
        model.feature_names_ = list(m["feature_names"])
        model.columns_ = _columns(model.feature_names_)
        model.held_out_by_ = str(m.get("held_out_by", "stratified"))
        model.directions_ = {str(k): int(v) for k, v in m.get("monotone", {}).items()}
        model.disputed_ = {str(k): [str(g) for g in v]
                           for k, v in m.get("monotone_disputed_by", {}).items()}
        model.n_features_in_ = len(FOLLOWER_SIGNALS)
        model.classes_ = np.array([0, 1])
        model.prior_ = float(m["prior"])
        model.training_counts_ = dict(m["training"])
        model.model_id_ = str(m.get("model_id", ""))
        return model


def _check_feature_names(names: Any, where: Path) -> None:
    """A saved model may read any subset of the signals this version computes, in any order."""
    unknown = [n for n in (names or []) if n not in FOLLOWER_SIGNALS]
    if names and not unknown:
        return
    detail = (f"it reads signals this version does not compute: {unknown}" if unknown
              else "it names no signals")
    raise FollowerModelError(
        f"{where}: the follower model was trained on other follower signals than this "
        f"version computes ({detail}); retrain it with `trueclout followers train`"
    )


def _columns(names: list[str]) -> np.ndarray:
    """Where the model's features sit in the ``FOLLOWER_SIGNALS`` matrix (computed once, not
    on every scoring call)."""
    return np.array([FOLLOWER_SIGNALS.index(name) for name in names], dtype=np.intp)


def _check_features(features: tuple[str, ...] | None) -> list[str]:
    if features is None:
        return list(FOLLOWER_SIGNALS)
    names = list(features)
    unknown = [n for n in names if n not in FOLLOWER_SIGNALS]
    if not names or unknown or len(set(names)) != len(names):
        raise FollowerModelError(
            f"features must name distinct follower signals; unknown: {unknown or 'none'} "
            f"(known: {', '.join(FOLLOWER_SIGNALS)})")
    return names


def _check_groups(groups: np.ndarray | None, n: int) -> np.ndarray:
    if groups is None:
        return np.zeros(n, dtype=object)
    groups = np.asarray(groups, dtype=object)
    if groups.shape != (n,):
        raise ValueError(f"expected {n} groups, got shape {groups.shape}")
    return groups


def _group_counts(y: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for group in sorted(set(groups.tolist()), key=str):
        rows = groups == group
        out[str(group)] = {"n_fake": int(y[rows].sum()), "n_human": int((y[rows] == 0).sum())}
    return out


def human_guard(probability: np.ndarray, y: np.ndarray, groups: np.ndarray,
                max_fpr: float) -> float:
    """The lowest cut at which no group of humans has more than ``max_fpr`` of its profiles
    flagged (held-out probabilities; groups of fewer than ``MIN_GROUP_PROFILES`` humans pooled).

    A false accusation does real harm: a threshold that catches one more bot
    family by flagging 60% of one population's real people (casual users of
    2013, say) is not one to ship.  0 when no humans are given.
    """
    names = groups.astype(str)
    cuts = []
    small = np.zeros(len(y), dtype=bool)
    for name in sorted(set(names[y == 0].tolist())):
        rows = (names == name) & (y == 0)
        if rows.sum() < MIN_GROUP_PROFILES:
            small |= rows
            continue
        cuts.append(np.quantile(probability[rows], 1 - max_fpr, method="higher"))
    if small.any():
        cuts.append(np.quantile(probability[small], 1 - max_fpr, method="higher"))
    return float(np.nextafter(max(cuts), 1.0)) if cuts else 0.0


def disputed_directions(X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                        names: list[str]) -> dict[str, list[str]]:
    """Per prior direction (``FOLLOWER_SIGNAL_DIRECTIONS``), the groups whose fakes lean the
    other way, for the record (the direction is imposed anyway; see the module docstring).

    A group disputes a direction when the signal alone ranks its fakes on the
    unexpected side of all humans (ROC-AUC past 1/2 by more than
    ``DIRECTION_SLACK``).  Groups of fewer than ``MIN_GROUP_PROFILES`` fakes
    do not vote.
    """
    from sklearn.metrics import roc_auc_score

    humans = y == 0
    labels = groups.astype(str)
    out: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        direction = FOLLOWER_SIGNAL_DIRECTIONS.get(name, 0)
        if direction == 0:
            continue
        against = []
        for group in sorted(set(labels[y == 1].tolist())):
            fakes = (y == 1) & (labels == group)
            rows = (fakes | humans) & ~np.isnan(X[:, j])
            if fakes[rows].sum() < MIN_GROUP_PROFILES or humans[rows].sum() < MIN_GROUP_PROFILES:
                continue
            if (roc_auc_score(fakes[rows], X[rows, j]) - 0.5) * direction < -DIRECTION_SLACK:
                against.append(group)
        if against:
            out[name] = against
    return out


def group_weights(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Weights under which each class weighs the same and, within a class, every group too.

    No source may dominate: 17,000 profiles of one bot family count as much
    as 60 of a rare one, so the model learns what the groups share rather
    than what the largest one looks like.  Mean weight 1.
    """
    y = np.asarray(y)
    weight = np.zeros(len(y))
    for label in (0, 1):
        in_class = y == label
        names, codes = np.unique(groups[in_class].astype(str), return_inverse=True)
        sizes = np.bincount(codes, minlength=len(names))
        weight[in_class] = 1.0 / (sizes[codes] * len(names) * 2)
    return weight * len(y) / weight.sum()


def held_out_folds(y: np.ndarray, groups: np.ndarray, folds: int) -> str:
    """``"group"`` when whole groups can be held out (two or more with fakes, two or more
    with humans, so every training fold keeps both classes), else ``"stratified"``."""
    names = groups.astype(str)
    with_fakes = set(names[y == 1].tolist())
    with_humans = set(names[y == 0].tolist())
    if len(with_fakes) >= 2 and len(with_humans) >= 2 and folds >= 2:
        return "group"
    return "stratified"


def _fold_rows(y: np.ndarray, groups: np.ndarray, by: str, folds: int,
               seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Calibration folds: whole groups held out (each scored by a model that never met it),
    or stratified rows when there are too few groups."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if by == "group":
        names = groups.astype(str)
        n_groups = len(set(names.tolist()))
        splits = list(GroupKFold(min(folds, n_groups)).split(y, y, names))
        if all(0 < y[train].sum() < len(train) for train, _ in splits):
            return splits
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))


def _check_signals(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(FOLLOWER_SIGNALS):
        raise ValueError(
            f"expected a follower_signals matrix with {len(FOLLOWER_SIGNALS)} columns "
            f"(FOLLOWER_SIGNALS order), got shape {X.shape}"
        )
    return X


def _check_labels(y: np.ndarray, n: int, folds: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"expected {n} labels, got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise FollowerModelError("labels must be 0 (human) or 1 (bought)")
    y = y.astype(np.int64)
    n_fake, n_human = int(y.sum()), int(n - y.sum())
    if min(n_fake, n_human) < folds:
        raise FollowerModelError(
            f"training needs at least {folds} bought and {folds} human profiles "
            f"(one per calibration fold); got {n_fake} bought and {n_human} human"
        )
    return y


def _jitter(X: np.ndarray, sd: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
    """``copies`` noisy copies of the rows (NaN stays NaN), as float32 for XGBoost."""
    out = np.repeat(X.astype(np.float32), copies, axis=0)
    if np.any(sd > 0):
        out += (rng.standard_normal(out.shape, dtype=np.float32) * sd.astype(np.float32))
    return out


def _margin(booster, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.zeros(0)
    return np.asarray(
        booster.inplace_predict(np.ascontiguousarray(X, dtype=np.float32),
                                predict_type="margin"),
        dtype=np.float64,
    )


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("trueclout", "xgboost", "scikit-learn", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def follower_baselines(random_state: int = 0, n_jobs: int = 1) -> dict[str, Any]:
    """The scikit-learn baselines reported beside the model (threshold 0.5 on their probability).

    Logistic regression on standardised signals with median imputation and
    missing-value indicators; a random forest as in the cresci-2015 paper
    (200 trees, native missing-value support, probabilities as the forest
    gives them).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic_regression": make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=5000),
        ),
        "random_forest": RandomForestClassifier(
            n_estimators=200, random_state=random_state, n_jobs=n_jobs
        ),
    }


def same_follower_model(a: FollowerModel | None, b: FollowerModel | None) -> bool:
    """Whether two follower models are the same fitted model, loaded once or twice.

    ``model_id_`` is a digest of the fitted model's content, so two loads of
    one folder (or of two copies of it) compare equal; no model equals only
    no model.
    """
    if a is None or b is None:
        return a is b
    return a is b or (bool(a.model_id_) and a.model_id_ == b.model_id_)
