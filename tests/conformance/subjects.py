"""Every estimator and detector, adapted to the checks' ``Subject`` and built from small data.

Training data comes from the builders the model tests use (``follower_builders``
profiles, ``test_artifact.toy_training_set``) and, for the ring detector, from
small simulated worlds; each subject costs about a second to fit.

Order-sensitive learners (see ``ORDER_SENSITIVE``) appear twice: as shipped,
for every check but training order, and in the configuration where training
order must not matter, for that check alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.conformance.checks import ITEM, Outputs, Subject
from tests.models.follower_builders import FAST_MODEL, cresci_folder
from tests.models.test_artifact import (
    TOY_CONFIG,
    TOY_REGISTRY_VERSION,
    Frame,
    toy_training_set,
)
from trueclout.features.graph.table import detect_rings, load_ring_table, save_ring_table
from trueclout.features.kernels.segments import Segments
from trueclout.models.account_model import TACTICS, Calibrator
from trueclout.models.follower_model import FollowerModel, PlattCalibration
from trueclout.tables import SnapshotTables, concat_tables
from trueclout.training.data.followers import read_followers
from trueclout.training.data.labelled import TrainingSet

# Why a subject is checked for training order in another configuration than it ships in.
ORDER_SENSITIVE = {
    "follower_model": (
        "draws its training noise row by row, assigns its calibration folds by position "
        "(StratifiedKFold) and subsamples rows by position; the booster alone, without noise "
        "or subsampling, is order-free"),
    "account_model": (
        "XGBoost's subsample=0.8 picks rows by position (the random-forest baseline's "
        "bootstrap too, but it only feeds reports); with subsample=1 the whole model, folds, "
        "calibrators and thresholds included, is order-free"),
    "audience_quantifier": (
        "its error rates are measured on the follower model's positional calibration folds; "
        "its scoring is checked for order, its training order is the follower model's"),
}


def _permutation(n: int, shuffle: np.random.Generator | None) -> np.ndarray:
    return np.arange(n) if shuffle is None else shuffle.permutation(n)


# ---------------------------------------------------------------------------------------------
# Follower model and audience quantifier


@cache
def follower_data(folder: Path) -> dict[str, np.ndarray]:
    """Training profiles, and profiles to score: held-out ones and blends of the two kinds.

    The generated kinds separate cleanly, which would hide a changed seed, row
    order or stored number behind saturated probabilities and error rates of
    exactly 1 and 0; so one training label in ten is flipped, and blends (a
    human's signals moved part of the way to a bought profile's) are scored
    beside the held-out profiles.  Labels of the profiles to score: 1 bought,
    0 real, -1 blend.
    """
    train = read_followers(cresci_folder(folder / "train", humans=80, fakes={"A": 50, "B": 50}))
    held = read_followers(cresci_folder(folder / "held", humans=40, fakes={"A": 25, "B": 25},
                                        seed=50))
    x, y = held.signals(), held.labels
    rng = np.random.default_rng(5)
    train_y = np.where(rng.random(len(train.labels)) < 0.1, 1 - train.labels, train.labels)
    human = x[rng.choice(np.flatnonzero(y == 0), 60)]
    bought = x[rng.choice(np.flatnonzero(y == 1), 60)]
    share = rng.uniform(0.2, 0.8, (60, 1))
    blends = np.where(np.isnan(human) | np.isnan(bought), np.nan,
                      (1 - share) * human + share * bought)
    return {"x": train.signals(), "y": train_y, "held_x": np.vstack([x, blends]),
            "held_y": np.r_[y, np.full(60, -1)]}


class FollowerModelSubject(Subject):
    """The follower model; items are profiles to score (held-out ones and blends)."""

    persists = True

    def __init__(self, folder: Path, *, name: str = "follower_model",
                 params: dict[str, Any] | None = None,
                 columns: tuple[str, ...] = ("probability", "margin", "flag")) -> None:
        super().__init__()
        self.name = name
        self.folder = folder
        self.params = FAST_MODEL | (params or {})
        self.columns = columns
        self.n_items = len(follower_data(folder)["held_x"])

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> FollowerModel:
        data = follower_data(self.folder)
        order = _permutation(len(data["y"]), shuffle)
        return FollowerModel(**self.params, random_state=seed).fit(data["x"][order],
                                                                   data["y"][order])

    def outputs(self, fitted: FollowerModel, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        x = follower_data(self.folder)["held_x"][items]
        every = {"probability": fitted.fake_probability(x), "margin": fitted.decision_function(x),
                 "flag": fitted.predict(x)}
        return {ITEM: np.asarray(items), **{c: every[c] for c in self.columns}}

    def round_trip(self, fitted: FollowerModel, folder: Path) -> FollowerModel:
        return FollowerModel.load(fitted.save(folder / self.name))


@dataclasses.dataclass(frozen=True)
class Audiences:
    """Accounts with sampled followers: the rows of ``signals`` each account's sample holds."""

    signals: np.ndarray
    rows: list[np.ndarray]
    followers_count: np.ndarray


@cache
def audiences(folder: Path, n_accounts: int = 24) -> Audiences:
    """Accounts whose samples mix bought, real and in-between profiles (one sample empty)."""
    data = follower_data(folder)
    rng = np.random.default_rng(3)
    pools = [np.flatnonzero(data["held_y"] == label) for label in (1, 0, -1)]
    rows = []
    for i in range(n_accounts):
        size = 0 if i == 5 else int(rng.integers(1, 25))
        counts = rng.multinomial(size, rng.dirichlet(np.ones(3)))
        rows.append(np.concatenate([rng.choice(p, k) for p, k in zip(pools, counts, strict=True)]))
    counts = rng.integers(30, 5_000, n_accounts).astype(np.float64)
    counts[7] = np.nan  # audience size unknown
    counts[9] = len(rows[9])  # the whole audience sampled
    return Audiences(data["held_x"], rows, counts)


class AudienceQuantifierSubject(Subject):
    """Adjusted classify-and-count over the follower model's flags; items are accounts."""

    persists = True

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.name = "audience_quantifier"
        self.model = FollowerModelSubject(folder, name="audience_quantifier")
        self.audiences = audiences(folder)
        self.n_items = len(self.audiences.rows)

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> FollowerModel:
        return self.model.fit(seed, shuffle)

    def outputs(self, fitted: FollowerModel, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        a = self.audiences
        rows = np.concatenate([a.rows[i] for i in items]).astype(np.int64)
        account = np.repeat(np.arange(len(items)), [len(a.rows[i]) for i in items])
        order = _permutation(len(rows), shuffle)  # follower rows need not come sorted
        p = fitted.fake_probability(a.signals[rows[order]])
        est = fitted.estimate_share(p, Segments(account[order], len(items)),
                                    a.followers_count[items])
        return {ITEM: np.asarray(items), "share": est.share, "low": est.low, "high": est.high}

    def round_trip(self, fitted: FollowerModel, folder: Path) -> FollowerModel:
        # The quantifier persists inside the follower model's manifest.
        return self.model.round_trip(fitted, folder)


# ---------------------------------------------------------------------------------------------
# Calibrators


@cache
def calibration_data() -> dict[str, np.ndarray]:
    """Out-of-fold-like scores: overlapping classes, ties (rounded), and scores to calibrate."""
    rng = np.random.default_rng(11)
    y = (rng.random(600) < 0.3).astype(np.int64)
    scores = np.round(rng.normal(np.where(y == 1, 1.5, -1.0), 1.2), 1)
    query = np.r_[np.linspace(-6, 6, 49), np.round(rng.normal(0, 2, 31), 1)]
    return {"scores": scores, "y": y, "query": query}


class CalibratorSubject(Subject):
    """A score -> probability calibrator; items are scores.  It has no seed: fits are pure."""

    persists = True

    def __init__(self, name: str, fit: Callable[[np.ndarray, np.ndarray], Any],
                 save: Callable[[Any], dict], load: Callable[[dict], Any],
                 order_tolerance: float) -> None:
        super().__init__()
        self.name = name
        self._fit, self._save, self._load = fit, save, load
        self.order_tolerance = order_tolerance
        self.n_items = len(calibration_data()["query"])

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> Any:
        data = calibration_data()
        order = _permutation(len(data["y"]), shuffle)
        return self._fit(data["scores"][order], data["y"][order])

    def outputs(self, fitted: Any, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        return {ITEM: np.asarray(items),
                "probability": np.asarray(fitted(calibration_data()["query"][items]))}

    def round_trip(self, fitted: Any, folder: Path) -> Any:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        path.write_text(json.dumps(self._save(fitted)))
        return self._load(json.loads(path.read_text()))


def calibrator_subjects() -> list[Subject]:
    """The account model's Platt and isotonic calibrators, and the follower model's Platt fit.

    Shuffled inputs change only the order of sums inside the optimisers, hence
    a small tolerance for the two fitted by iteration.
    """
    return [
        CalibratorSubject("calibrator_sigmoid", lambda s, y: Calibrator.fit(s, y, "sigmoid"),
                          Calibrator.to_json, Calibrator.from_json, order_tolerance=1e-6),
        CalibratorSubject("calibrator_isotonic", lambda s, y: Calibrator.fit(s, y, "isotonic"),
                          Calibrator.to_json, Calibrator.from_json, order_tolerance=1e-12),
        # Stored as the follower manifest's "calibration" entry: coef and intercept.
        CalibratorSubject("follower_platt", PlattCalibration.fit, dataclasses.asdict,
                          lambda doc: PlattCalibration(**doc), order_tolerance=1e-6),
    ]


# ---------------------------------------------------------------------------------------------
# Account model


@cache
def account_data() -> tuple[TrainingSet, np.ndarray]:
    """The artifact tests' toy training set (smaller), and held-out rows to score."""
    return toy_training_set(n=400), toy_training_set(n=120, seed=1).x


def _shuffled(data: TrainingSet, order: np.ndarray) -> TrainingSet:
    return dataclasses.replace(
        data, x=data.x[order], account_ids=data.account_ids[order], groups=data.groups[order],
        labels={k: v[order] for k, v in data.labels.items()},
        context={k: v[order] for k, v in data.context.items()})


class AccountModelSubject(Subject):
    """The account model (every target's booster, calibrator and thresholds); items are accounts.

    Persists through the artifact format (``models/artifact.py``).
    """

    persists = True
    # Out-of-fold scores reach the Platt fit in another order: sums differ in the last bit.
    order_tolerance = 1e-9

    def __init__(self, *, name: str = "account_model", **config: Any) -> None:
        super().__init__()
        self.name = name
        self.config = dataclasses.replace(TOY_CONFIG, **config)
        self.n_items = len(account_data()[1])

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> Any:
        from trueclout.training.fit.account import fit_account_model

        data, _ = account_data()
        data = _shuffled(data, _permutation(len(data), shuffle))
        return fit_account_model(data, dataclasses.replace(self.config, seed=seed)).model

    def outputs(self, fitted: Any, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        data, held = account_data()
        p = fitted.predict(Frame(held[items], data.feature_names), tactic_contributions=True)
        out = {ITEM: np.asarray(items), "risk": p.risk, "level": p.level, "flag": p.flag,
               "contributions": p.contributions, "bias": p.bias}
        for t in TACTICS:
            out |= {t: p.tactics[t], f"{t}_level": p.tactic_levels[t],
                    f"{t}_contributions": p.tactic_contributions[t]}
        return out

    def round_trip(self, fitted: Any, folder: Path) -> Any:
        from trueclout.models.artifact import load_artifact, save_artifact

        data, _ = account_data()
        path = folder / self.name
        save_artifact(path, fitted, name=self.name, training={}, metrics={},
                      registry_version=TOY_REGISTRY_VERSION)
        return load_artifact(path, expected_features=(data.feature_names, TOY_REGISTRY_VERSION))


# ---------------------------------------------------------------------------------------------
# Ring detector

_ID_COLUMNS = ("account_id", "actor_id", "target_account_id", "follower_id")


def _prefixed(tables: SnapshotTables, prefix: str) -> SnapshotTables:
    """The same world under other account ids, so that several worlds share no account."""
    renamed = {}
    for name, table in tables.items():
        for column in _ID_COLUMNS:
            if column in table.column_names:
                i = table.column_names.index(column)
                joined = pc.binary_join_element_wise(prefix, table.column(column), "")
                table = table.set_column(i, table.field(i), joined)
        renamed[name] = table
    return SnapshotTables(**renamed)


@cache
def communities(n: int = 3, accounts: int = 100) -> tuple[SnapshotTables, ...]:
    """Small simulated worlds (rings, lockstep groups, fans) with disjoint account ids."""
    from trueclout.training.sim.world import simulate_world

    return tuple(_prefixed(simulate_world(accounts, seed=40 + i).tables, f"c{i}:")
                 for i in range(n))


def _shuffle_rows(tables: SnapshotTables, shuffle: np.random.Generator) -> SnapshotTables:
    return SnapshotTables(**{name: t.take(pa.array(shuffle.permutation(t.num_rows)))
                             for name, t in tables.items()})


def _community(accounts: pa.ChunkedArray) -> np.ndarray:
    """The community number in each ``c<i>:`` account id."""
    prefix = pc.list_element(pc.split_pattern(accounts, ":", max_splits=1), 0)
    return pc.cast(pc.utf8_slice_codeunits(prefix, 1), pa.int64()).to_numpy()


def _canonical(table: pa.Table, column: str) -> np.ndarray:
    """Each account's block or group named by its smallest member's id ('' for none)."""
    ids = table.column(column)
    members = pa.table({"id": ids, "account": table.column("account_id")}).filter(
        pc.is_valid(ids))
    first = members.group_by("id").aggregate([("account", "min")])
    lookup = dict(zip(first.column("id").to_pylist(), first.column("account_min").to_pylist(),
                      strict=True))
    return np.array([lookup.get(i, "") for i in ids.to_pylist()], dtype=object)


class RingDetectorSubject(Subject):
    """``detect_rings`` (dense blocks, lockstep groups, mutual cores); items are communities.

    A detector is fitted on the graph it scores: its fit is the ring table of
    all communities together, and any other batch (a subset, another order)
    is detected afresh on the union of just those communities.  Block and
    group ids number the blocks of one table, so a community alone is
    compared with its rows in the union by membership (each block named by its
    smallest member) instead.
    """

    persists = True
    batch_numbering = ("ring_block_id", "lockstep_group_id")

    def __init__(self) -> None:
        super().__init__()
        self.name = "ring_detector"
        self.n_items = len(communities())

    def _detect(self, items: np.ndarray, shuffle: np.random.Generator | None) -> pa.Table:
        tables = concat_tables([communities()[i] for i in items])
        return detect_rings(tables if shuffle is None else _shuffle_rows(tables, shuffle))

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> pa.Table:
        return self._detect(self.everything(), shuffle)

    def outputs(self, fitted: pa.Table, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        if shuffle is not None or not np.array_equal(items, self.everything()):
            fitted = self._detect(items, shuffle)
        accounts = fitted.column("account_id")
        out: Outputs = {
            ITEM: _community(accounts),
            "ring_block": _canonical(fitted, "ring_block_id"),
            "lockstep_group": _canonical(fitted, "lockstep_group_id"),
        }
        for name in fitted.column_names:
            column = fitted.column(name)
            if pa.types.is_integer(column.type):
                column = column.fill_null(-1)
            out[name] = column.to_numpy(zero_copy_only=False)  # floats: null -> NaN
        return out

    def round_trip(self, fitted: pa.Table, folder: Path) -> pa.Table:
        return load_ring_table(save_ring_table(fitted, folder / "rings.parquet"))
