"""Drift: is the model scoring a population it was not trained on?

Each model carries the feature distributions of its training data
(``models/reference.py``).  This module compares recent data with them, per
feature and per family, by the population stability index (PSI), in two
places that compute the same figures:

- ``trueclout drift`` (``cli/drift.py``) on recent stored snapshots
  (``recent_tables``) or on a snapshot set: ``tables_drift`` over their
  feature matrix;
- the service's ``/metrics``: ``DriftMonitor`` keeps the bins of the last
  ``TRUECLOUT_DRIFT_WINDOW_ACCOUNTS`` scored accounts and publishes
  ``trueclout_drift_psi{feature,family}`` and
  ``trueclout_drift_family_psi{family}``.

Per feature: PSI over the reference's decile bins plus a NaN bin; "watch"
above 0.1, "drifted" above 0.25.  Per family: the **mean** PSI of its
features (a broad shift moves many features; one drifted feature already
shows in its own line).  The verdict is the worst of the features and
families.

What a request pays is an append to a bounded queue (``ObservingScorer``).
A scorer that computes features (the model's, ``ModelScorer``) hands over
the feature rows it judged: the window bins the very values the model saw,
and nothing is computed twice.  Featurising the queued snapshots again cost
a second feature pass per request, run in bursts of up to 256 accounts every
refresh (0.2-0.4 s of CPU on the worker's core), and was the service's
latency tail (`benchmarks/service.py`, 1 worker: p99 153 ms and `/healthz`
p99 118 ms with it, 50 and 8 ms with the monitor off; docs/API.md "Speed").
Any other scorer (a test double) hands over the snapshots, featurised in a
worker thread at the next refresh by the same pipeline and follower model;
between refreshes at most ``PENDING_ACCOUNTS`` snapshots (the most recent)
and ``PENDING_ROWS`` rows of them are kept, and at most a window's worth of
feature rows.  Every ``TRUECLOUT_DRIFT_REFRESH_SECONDS`` the queued accounts'
bins join the window and the gauges are set.

The global ring features (``graph_*``) are left out of drift, in both places:
they describe an account's place in the engagement graph of a whole set
(the size of its ring, of its lockstep group), so their distribution depends
on how many accounts, and which, were scored together, not only on what kind
of accounts they are; a window of recent requests is not comparable, on
them, with a training set of thousands.  Their local counterparts
(``engagement_*``) carry the same signals per account.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from prometheus_client import Gauge

from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot
from trueclout.fast_contract import ScorableSnapshot, with_account_id
from trueclout.features.registry import GRAPH_FEATURES
from trueclout.models.reference import (
    DRIFTED_PSI,
    MIN_ACCOUNTS,
    NOT_ENOUGH_DATA,
    WATCH_PSI,
    Reference,
    Status,
    Verdict,
    noise_floor,
    status_of,
)
from trueclout.progress import Progress, SilentProgress
from trueclout.service.runtime.tasks import stop_task
from trueclout.service.scoring.scorer import ModelInfo, Scorer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from trueclout.tables import SnapshotTables

log = logging.getLogger("trueclout.service")

PENDING_ACCOUNTS = 256
# Relational features, left out of drift (see the module docstring).
EXCLUDED = GRAPH_FEATURES
PENDING_ROWS = 200_000
_ORDER: dict[str, int] = {"stable": 0, "watch": 1, "drifted": 2}

DRIFT_PSI = Gauge(
    "trueclout_drift_psi",
    "Population stability index of each feature: recent assessments against the model's "
    "training data (watch > 0.1, drifted > 0.25).",
    ["feature", "family"], multiprocess_mode="livemostrecent")
DRIFT_FAMILY_PSI = Gauge(
    "trueclout_drift_family_psi",
    "Mean PSI of a signal family's features (watch > 0.1, drifted > 0.25).",
    ["family"], multiprocess_mode="livemostrecent")
DRIFT_WINDOW = Gauge(
    "trueclout_drift_window_accounts",
    "Recent assessments the drift figures are computed from.",
    multiprocess_mode="livemostrecent")
DRIFT_REFERENCE = Gauge(
    "trueclout_drift_reference_loaded",
    "1 when the loaded model carries a training reference to compare with, else 0.",
    multiprocess_mode="livemin")


# ---------------------------------------------------------------------------------------------
# The figures


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    family: str
    psi: float
    status: Status
    nan_share_reference: float
    nan_share_now: float


@dataclass(frozen=True)
class FamilyDrift:
    family: str
    mean_psi: float
    max_psi: float
    status: Status
    watch: int
    drifted: int


@dataclass
class DriftReport:
    """PSI per feature and per family of some accounts against a model's training reference."""

    n_accounts: int
    reference_accounts: int
    features: list[FeatureDrift]
    families: list[FamilyDrift]
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> Verdict:
        """The worst feature or family; "not enough data" below ``MIN_ACCOUNTS`` accounts,
        where sampling alone moves some feature past the thresholds (models/reference.py)."""
        if self.n_accounts < MIN_ACCOUNTS:
            return NOT_ENOUGH_DATA
        statuses = [f.status for f in self.features] + [f.status for f in self.families]
        return max(statuses, key=_ORDER.__getitem__, default="stable")

    @property
    def noise_floor(self) -> float:
        return noise_floor(self.n_accounts)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "n_accounts": self.n_accounts,
                "reference_accounts": self.reference_accounts,
                "noise_floor": self.noise_floor,
                "thresholds": {"watch": WATCH_PSI, "drifted": DRIFTED_PSI},
                "family_rule": "mean PSI of the family's features",
                "families": [asdict(f) for f in self.families],
                "features": [asdict(f) for f in self.features],
                "excluded": list(self.excluded), "notes": list(self.notes)}


def family_figures(features: Sequence[FeatureDrift]) -> list[FamilyDrift]:
    families: dict[str, list[FeatureDrift]] = {}
    for feature in features:
        families.setdefault(feature.family, []).append(feature)
    out = []
    for family, members in families.items():
        values = np.array([f.psi for f in members])
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        out.append(FamilyDrift(
            family, mean, float(np.nanmax(values)) if np.isfinite(values).any() else float("nan"),
            status_of(mean) if np.isfinite(mean) else "stable",
            sum(f.status == "watch" for f in members), sum(f.status == "drifted" for f in members)))
    return out


def figures_from_counts(reference: Reference, counts: Sequence[np.ndarray],
                        columns: Sequence[int]) -> list[FeatureDrift]:
    """Per-feature figures from bin counts of the reference features at ``columns``."""
    out = []
    for column, count in zip(columns, counts, strict=True):
        feature = reference.features[column]
        total = int(np.sum(count))
        psi = feature.psi(count)
        out.append(FeatureDrift(
            feature.name, feature.family, psi, status_of(psi) if np.isfinite(psi) else "stable",
            feature.nan_share, float(count[-1] / total) if total else float("nan")))
    return out


def drift_report(reference: Reference, x: np.ndarray, names: Sequence[str], *,
                 exclude: Sequence[str] = EXCLUDED) -> DriftReport:
    """PSI of a feature matrix (rows: accounts) against ``reference``, feature by feature."""
    columns = [j for j, f in enumerate(reference.features) if f.name not in set(exclude)]
    bins = reference.bin_indices(x, names)
    counts = [np.bincount(bins[:, j], minlength=reference.features[j].n_bins) for j in columns]
    features = figures_from_counts(reference, counts, columns)
    report = DriftReport(len(x), reference.n_accounts, features,
                         family_figures(features), excluded=list(exclude))
    if len(x) < MIN_ACCOUNTS:
        report.notes.append(
            f"not enough data: {len(x)} account(s), and drift needs at least {MIN_ACCOUNTS} "
            f"(sampling alone gives a PSI near {report.noise_floor:.2f} per feature, and some "
            "feature past the thresholds below that)")
    return report


def recent_tables(*, session: Session, since: datetime, limit: int,
                  now: datetime) -> SnapshotTables:
    """The latest stored snapshot of each recently scored account (still kept), as tables."""
    from trueclout.service.db.snapshots import decode_snapshot, latest_per_account
    from trueclout.tables import snapshots_to_tables

    snapshots = []
    rows = latest_per_account(session=session, since=since, now=now, limit=limit)
    for i, row in enumerate(rows):
        snapshot = AccountSnapshot.model_validate_json(
            decode_snapshot(row.snapshot, row.content_encoding))
        # Ids need only be unique here: one account per platform and id.
        snapshots.append(snapshot.model_copy(update={"account_id": f"{i}:{row.account_id}"}))
    return snapshots_to_tables(snapshots)


def tables_drift(reference: Reference, tables: SnapshotTables, follower: Any | None, *,
                 progress: Progress | None = None) -> DriftReport:
    """``drift_report`` of accounts' tables, their features computed as the model's own are
    (with its follower component ``follower``)."""
    from trueclout.features.pipeline import compute_features

    progress = progress or SilentProgress()
    progress.start(f"computing features of {tables.num_accounts:,} accounts", None)
    frame = compute_features(tables, audience_scorer=follower)
    progress.advance()
    return drift_report(reference, frame.values, frame.names)


# ---------------------------------------------------------------------------------------------
# The service's rolling window


class DriftWindow:
    """The bins of the last ``size`` accounts' features, and their counts per bin."""

    def __init__(self, reference: Reference, columns: Sequence[int], size: int) -> None:
        self.reference = reference
        self.columns = list(columns)
        self.size = size
        widths = [reference.features[j].n_bins for j in self.columns]
        self.offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.counts = np.zeros(int(sum(widths)), dtype=np.int64)
        self.rows = np.zeros((size, len(self.columns)), dtype=np.int64)
        self.filled = 0
        self.position = 0

    def add(self, bins: np.ndarray) -> None:
        """Add accounts' bins (rows x the window's columns), dropping the oldest beyond ``size``.

        One vector step for the whole batch (a refresh may bring a window's worth of rows):
        the slots the batch takes, ring-buffer style, give back the counts of the rows they
        held, then count the new ones.
        """
        bins = np.asarray(bins, dtype=np.int64)[-self.size:]
        if len(bins) == 0:
            return
        slots = (self.position + np.arange(len(bins))) % self.size
        held = slots[slots < self.filled] if self.filled < self.size else slots
        n = len(self.counts)
        self.counts -= np.bincount((self.offsets + self.rows[held]).ravel(), minlength=n)
        self.rows[slots] = bins
        self.counts += np.bincount((self.offsets + bins).ravel(), minlength=n)
        self.filled = min(self.size, self.filled + len(bins))
        self.position = int((self.position + len(bins)) % self.size)

    def feature_counts(self) -> list[np.ndarray]:
        ends = [*self.offsets[1:], len(self.counts)]
        return [self.counts[start:end] for start, end in zip(self.offsets, ends, strict=True)]

    def figures(self) -> list[FeatureDrift]:
        return figures_from_counts(self.reference, self.feature_counts(), self.columns)


class DriftMonitor:
    """Queues what was scored (feature rows, or snapshots to featurise) and turns it into
    drift gauges."""

    def __init__(self, reference: Reference, follower_model: Any | None, *,
                 window_accounts: int, exclude: Sequence[str] = EXCLUDED,
                 pending_accounts: int = PENDING_ACCOUNTS,
                 pending_rows: int = PENDING_ROWS) -> None:
        self.reference = reference
        self.follower_model = follower_model
        excluded = set(exclude)
        columns = [j for j, f in enumerate(reference.features) if f.name not in excluded]
        self.window = DriftWindow(reference, columns, window_accounts)
        self.excluded = [f.name for f in reference.features if f.name in excluded]
        self.pending: deque[tuple[ScorableSnapshot, int]] = deque()
        self.pending_accounts = pending_accounts
        self.pending_rows = pending_rows
        self._rows = 0
        self.skipped = 0
        # Feature rows handed over by the scorer, with their column names; at most a
        # window's worth (older rows would leave the window at the next refresh anyway).
        self.pending_features: deque[tuple[np.ndarray, tuple[str, ...]]] = deque()
        self._feature_rows = 0
        self._lock = threading.Lock()  # scoring threads hand rows over while one refreshes
        self._task: asyncio.Task[None] | None = None

    # --- on the request path ---------------------------------------------------------------

    def observe(self, snapshots: Sequence[ScorableSnapshot]) -> None:
        """Queue scored snapshots; over the budget, the oldest queued ones make room."""
        for snapshot in snapshots:
            rows = _rows_of(snapshot)
            if rows > self.pending_rows:
                self.skipped += 1
                continue
            self.pending.append((snapshot, rows))
            self._rows += rows
            while len(self.pending) > self.pending_accounts or self._rows > self.pending_rows:
                _, dropped = self.pending.popleft()
                self._rows -= dropped
                self.skipped += 1

    def observe_features(self, values: np.ndarray, names: Sequence[str]) -> None:
        """Queue the feature rows (accounts x ``names``) a scorer computed and judged."""
        rows = np.array(values, dtype=np.float64)  # a copy: the caller's frame moves on
        if rows.ndim != 2 or rows.shape[0] == 0:
            return
        with self._lock:
            self.pending_features.append((rows, tuple(names)))
            self._feature_rows += len(rows)
            while self._feature_rows - len(self.pending_features[0][0]) >= self.window.size:
                dropped, _ = self.pending_features.popleft()
                self._feature_rows -= len(dropped)

    # --- in a worker thread ----------------------------------------------------------------

    def refresh(self) -> int:
        """Bin what is queued into the window (featurising queued snapshots first) and set
        the gauges; accounts added."""
        with self._lock:
            handed = list(self.pending_features)
            self.pending_features.clear()
            self._feature_rows = 0
        by_names: dict[tuple[str, ...], list[np.ndarray]] = {}
        for values, names in handed:  # one model: one set of names, binned in one pass
            by_names.setdefault(names, []).append(values)
        for names, parts in by_names.items():
            self._add(np.vstack(parts), names)
        batch: list[ScorableSnapshot] = []
        while self.pending:
            snapshot, rows = self.pending.popleft()
            self._rows -= rows
            batch.append(snapshot)
        if batch:
            from trueclout.features.pipeline import compute_features
            from trueclout.tables import snapshots_to_tables

            # Positions as ids: an account scored twice since the last refresh counts twice.
            unique = [with_account_id(s, f"w{i}") for i, s in enumerate(batch)]
            frame = compute_features(snapshots_to_tables(unique),
                                     audience_scorer=self.follower_model)
            self._add(frame.values, frame.names)
        self.publish()
        return len(batch) + sum(len(values) for values, _ in handed)

    def _add(self, values: np.ndarray, names: Sequence[str]) -> None:
        bins = self.reference.bin_indices(values, names)
        self.window.add(bins[:, self.window.columns])

    def figures(self) -> tuple[list[FeatureDrift], list[FamilyDrift]]:
        features = self.window.figures()
        return features, family_figures(features)

    def publish(self) -> None:
        DRIFT_REFERENCE.set(1)
        DRIFT_WINDOW.set(self.window.filled)
        if self.window.filled == 0:
            return
        features, families = self.figures()
        for f in features:
            DRIFT_PSI.labels(f.name, f.family).set(f.psi)
        for fam in families:
            DRIFT_FAMILY_PSI.labels(fam.family).set(fam.mean_psi)

    # --- in the server -----------------------------------------------------------------------

    def start(self, every_seconds: float) -> None:
        if self._task is None:
            self.publish()
            self._task = asyncio.get_running_loop().create_task(
                self._run(every_seconds), name="trueclout-drift")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self, every_seconds: float) -> None:
        from starlette.concurrency import run_in_threadpool

        while True:
            await asyncio.sleep(every_seconds)
            try:
                await run_in_threadpool(self.refresh)
            except Exception:  # noqa: BLE001 - drift figures must never take the service down
                log.exception("the drift figures could not be brought up to date")


def _rows_of(snapshot: ScorableSnapshot) -> int:
    return (1 + len(snapshot.followers) + len(snapshot.follower_history) + len(snapshot.posts)
            + len(snapshot.engagements) + len(snapshot.reposts_made))


class ObservingScorer:
    """The loaded scorer, unchanged, except that what it scores is queued for the drift window.

    A scorer with ``feature_observers`` (``ModelScorer``) hands over the feature rows
    it computed; any other scorer's snapshots are queued and featurised later.
    """

    def __init__(self, scorer: Scorer, monitor: DriftMonitor) -> None:
        self.scorer = scorer
        self.monitor = monitor
        observers = getattr(scorer, "feature_observers", None)
        self._hands_features = observers is not None
        if observers is not None:
            observers.append(monitor.observe_features)

    def model_info(self) -> ModelInfo:
        return self.scorer.model_info()

    def ready(self) -> bool:
        return self.scorer.ready()

    def assess(self, snapshot: ScorableSnapshot, *, scored_at: datetime) -> Assessment:
        assessment = self.scorer.assess(snapshot, scored_at=scored_at)
        if not self._hands_features:
            self.monitor.observe([snapshot])
        return assessment

    def assess_many(self, snapshots: Sequence[ScorableSnapshot], *,
                    scored_at: datetime | None = None) -> list[Assessment]:
        assessments = self.scorer.assess_many(snapshots, scored_at=scored_at)
        if not self._hands_features:
            self.monitor.observe(snapshots)
        return assessments

    def __getattr__(self, name: str) -> Any:
        # Anything else the real scorer offers stays reachable.
        return getattr(self.scorer, name)


# ---------------------------------------------------------------------------------------------
# Which model, which reference


def model_folder(models_dir: Path, version: str) -> Path | None:
    """The artifact folder of a model version: in the registry, or the shipped default."""
    from trueclout.models.artifact import SHIPPED_DIR, read_card
    from trueclout.models.registry import ModelRegistry

    registry = ModelRegistry(models_dir)
    candidates = [models_dir / version, SHIPPED_DIR]
    try:
        candidates.insert(0, registry.active())
    except Exception:  # noqa: BLE001 - an unusable registry only means "look elsewhere"
        pass
    for folder in candidates:
        try:
            if read_card(folder).get("version") == version:
                return folder
        except Exception:  # noqa: BLE001
            continue
    return None


def reference_of_artifact(artifact: Any) -> tuple[Reference, Any | None]:
    """A loaded model's training reference and its follower component (what features need)."""
    from trueclout.models.reference import read_reference

    return read_reference(artifact.path), artifact.follower_model


def load_model_reference(folder: Path) -> tuple[Reference, Any | None]:
    """The training reference and follower component of the model in ``folder``.

    Loaded by ``load_artifact``, the one loader, so the model is verified and
    checked against the running feature pipeline before its reference is
    trusted: figures of features the model was not built on would mislead.
    """
    from trueclout.models.artifact import load_artifact

    return reference_of_artifact(load_artifact(folder))


def build_monitor(settings: Any, scorer: Scorer) -> DriftMonitor | None:
    """The monitor for the loaded model, or None (said in the log and the gauges) when there
    is no model, no reference or the window is turned off."""
    DRIFT_REFERENCE.set(0)
    if settings.drift_window_accounts <= 0 or not scorer.ready():
        return None
    try:
        artifact = getattr(scorer, "artifact", None)  # the real scorer shares what it loaded
        if artifact is not None:
            reference, follower = reference_of_artifact(artifact)
        else:
            version = scorer.model_info().version
            folder = model_folder(settings.resolved_models_dir, version)
            if folder is None:
                log.info("drift figures off: no artifact for model %s", version)
                return None
            reference, follower = load_model_reference(folder)
    except Exception as exc:  # noqa: BLE001 - no reference means no drift gauges, nothing worse
        log.warning("drift figures off: %s", exc)
        return None
    return DriftMonitor(reference, follower, window_accounts=settings.drift_window_accounts)
