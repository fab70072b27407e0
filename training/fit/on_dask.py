"""`trueclout train --dask`: the account-level model fitted on a Dask cluster with ``xgboost.dask``.

For labelled data larger than one process holds.  The raw tables never meet
in one process: each worker reads its partitions (whole accounts, the chunk
plan of the table folder) and computes their features with the service's
pipeline; the feature partitions stay on the workers as the blocks of a
Dask array.  What differs from the in-process fit (``training.fit``), and why:

* **Rings**: edge parts are built on the workers and rings detected once on
  the client (a ring spans partitions), as ``trueclout batch --dask`` does;
  ``--ring-table`` / ``--no-rings`` work as in-process.
* **Folds**: grouped, but by a hash of ``group_id`` (seeded), computed per
  account on the workers: no global pass over the groups.  The in-process fit
  stratifies its folds as well (``StratifiedGroupKFold``); both keep a ring or
  a purchase lot on one side of every split.
* **XGBoost**: per target and fold, ``xgboost.dask.train`` on a
  ``DaskQuantileDMatrix`` of all rows with the held-out fold's rows weighted
  0 (so nothing is re-partitioned), ``scale_pos_weight`` from the fold's own
  counts and the same parameters (and monotone constraints) as the in-process
  learner; out-of-fold margins come from ``xgboost.dask.inplace_predict``.
  Calibrators and thresholds are fitted on the client from those out-of-fold
  scores of *every* account (a few floats per account).
* **Baselines and the report**: the logistic regression and random forest,
  and the evaluation report, use a sample of whole partitions gathered to the
  client (``sample_accounts``, every account when the data is smaller),
  cross-validated there as in-process.  The report's XGBoost figures are its
  distributed out-of-fold predictions on the same sample, so the learners are
  compared on the same accounts.

The artifact is the same format (``models/artifact.py``): the service loads
it like any other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.assessment import TACTICS
from trueclout.errors import UserError
from trueclout.models.account_model import (
    PRIMARY_LEARNER,
    TARGETS,
    AccountModel,
    BoosterScorer,
    CalibratedLearner,
    monotone_constraints,
)
from trueclout.progress import Progress
from trueclout.training.data.labelled import (
    LabelledSet,
    Thinning,
    TrainingSet,
    account_groups,
    label_kinds,
    label_summary,
)
from trueclout.training.fit.account import (
    FitResult,
    TrainedModel,
    TrainingConfig,
    calibrate,
    choose_thresholds,
    features_digest,
    fit_account_model,
    save_trained,
    xgboost_params,
)

if TYPE_CHECKING:
    from distributed import Client

    from trueclout.io import TableSpan

DEFAULT_SAMPLE_ACCOUNTS = 20_000


@dataclass
class Partition:
    """One partition's features and labels, as computed on a worker (stays there)."""

    x: np.ndarray
    labels: np.ndarray  # accounts x tactics, int8
    fold: np.ndarray
    account_ids: np.ndarray
    groups: np.ndarray
    platform: np.ndarray
    followers_count: np.ndarray
    kind: np.ndarray

    def counts(self, folds: int) -> np.ndarray:
        """Per target and fold: [rows, positives] (the client sizes weights from these)."""
        out = np.zeros((len(TARGETS), folds, 2), dtype=np.int64)
        for t, y in enumerate(self.targets()):
            out[t, :, 0] = np.bincount(self.fold, minlength=folds)
            out[t, :, 1] = np.bincount(self.fold, weights=y, minlength=folds).astype(np.int64)
        return out

    def targets(self) -> list[np.ndarray]:
        return [*(self.labels[:, i] for i in range(len(TACTICS))),
                self.labels.max(axis=1) if len(self.labels) else np.zeros(0, np.int8)]


def group_folds(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold per account from a seeded hash of its group: the same group, the same fold."""
    out = np.empty(len(groups), dtype=np.int64)
    for i, group in enumerate(groups):
        digest = hashlib.sha256(f"{seed}\0{group}".encode()).digest()
        out[i] = int.from_bytes(digest[:8], "little") % folds
    return out


def partition_task(item: tuple[TableSpan, pa.Table, pa.Table | None], *, folder: str,
                   follower_model: Any, folds: int, seed: int,
                   thinning: Thinning | None) -> Partition:
    """On a worker: read one partition, compute its features, attach labels and folds."""
    from trueclout.features.pipeline import compute_features
    from trueclout.io import read_table_span

    span, labels, graph = item
    tables = read_table_span(Path(folder), span, use_threads=False)
    if thinning is not None:
        tables = thinning.apply(tables)
        graph = thinning.ring_rows(graph, tables.profiles.column("account_id").to_pylist())
    frame = compute_features(tables, audience_scorer=follower_model, graph=graph)
    ids = np.asarray(tables.profiles.column("account_id").to_pylist(), dtype=object)
    groups = account_groups(labels, ids)
    return Partition(
        x=np.ascontiguousarray(frame.values, dtype=np.float32),
        labels=np.stack([labels.column(t).to_numpy() for t in TACTICS], axis=1).astype(np.int8),
        fold=group_folds(groups, folds, seed),
        account_ids=ids,
        groups=groups,
        platform=np.asarray(tables.profiles.column("platform").to_pylist(), dtype=object),
        followers_count=tables.profiles.column("followers_count").to_numpy(
            zero_copy_only=False).astype(np.float64),
        kind=label_kinds(labels),
    )


def _quiet_xgboost() -> None:
    """On each worker: no per-task log lines from XGBoost's collective (rank messages)."""
    import xgboost

    xgboost.set_config(verbosity=0)


def _field(partition: Partition, name: str) -> Any:
    return getattr(partition, name)


def _target(partition: Partition, index: int) -> np.ndarray:
    return partition.targets()[index].astype(np.float32)


def _train_weight(partition: Partition, held_out: int) -> np.ndarray:
    return (partition.fold != held_out).astype(np.float32)


def _counts(partition: Partition, folds: int) -> np.ndarray:
    return partition.counts(folds)


@dataclass
class DaskData:
    """The training data on the cluster: feature blocks and per-account columns."""

    client: Client
    partitions: list[Any]  # futures of Partition
    sizes: list[int]
    n_features: int
    folds: int

    def array(self, getter: Any, *args: Any, columns: int | None = None,
              dtype: Any = np.float32) -> Any:
        import dask.array as da

        blocks = []
        for future, size in zip(self.partitions, self.sizes, strict=True):
            part = self.client.submit(getter, future, *args, pure=False)
            shape = (size,) if columns is None else (size, columns)
            blocks.append(da.from_delayed(part, shape=shape, dtype=dtype))
        return da.concatenate(blocks)

    def gather(self, name: str) -> np.ndarray:
        parts = self.client.gather([self.client.submit(_field, f, name, pure=False)
                                    for f in self.partitions])
        return np.concatenate(parts) if parts else np.zeros(0)


def _xgb_params(config: TrainingConfig, feature_names: tuple[str, ...], rows: int,
                positives: int) -> dict[str, Any]:
    """The in-process learner's parameters (``fit.fit_xgboost``), one thread per worker."""
    constraints = monotone_constraints(feature_names) if config.monotone else None
    return xgboost_params(config, rows=rows, positives=positives, constraints=constraints,
                          nthread=1)


def _fit_boosters(data: DaskData, config: TrainingConfig, feature_names: tuple[str, ...],
                  counts: np.ndarray, progress: Progress | None
                  ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Final booster and out-of-fold margins per target, with xgboost.dask."""
    import xgboost.dask as dxgb

    x = data.array(_field, "x", columns=data.n_features)
    fold = data.gather("fold")
    boosters: dict[str, Any] = {}
    margins: dict[str, np.ndarray] = {}
    for t, target in enumerate(TARGETS):
        y = data.array(_target, t)
        margin = np.zeros(len(fold))
        for k in range(data.folds):
            rows = int(counts[t, :, 0].sum() - counts[t, k, 0])
            positives = int(counts[t, :, 1].sum() - counts[t, k, 1])
            matrix = dxgb.DaskQuantileDMatrix(data.client, x, y,
                                              weight=data.array(_train_weight, k))
            fitted = dxgb.train(data.client, _xgb_params(config, feature_names, rows, positives),
                                matrix, num_boost_round=config.trees)
            held = fold == k
            predicted = dxgb.inplace_predict(data.client, fitted, x,
                                             predict_type="margin").compute()
            margin[held] = np.asarray(predicted, dtype=np.float64)[held]
            if progress:
                progress.advance()
        matrix = dxgb.DaskQuantileDMatrix(data.client, x, y)
        fitted = dxgb.train(data.client, _xgb_params(
            config, feature_names, int(counts[t, :, 0].sum()), int(counts[t, :, 1].sum())),
            matrix, num_boost_round=config.trees)
        boosters[target] = fitted["booster"]
        margins[target] = margin
        if progress:
            progress.advance()
    return boosters, margins


def _labels_only(data: DaskData) -> TrainingSet:
    """Every account's labels and groups, without features (thresholds need only labels)."""
    labels = data.gather("labels").reshape(-1, len(TACTICS))
    return TrainingSet(x=np.zeros((len(labels), 0), np.float32), feature_names=(),
                       account_ids=data.gather("account_ids"),
                       labels={t: labels[:, i] for i, t in enumerate(TACTICS)},
                       groups=data.gather("groups"))


def _sample(data: DaskData, sample_accounts: int, seed: int, source: str, digest: str,
            table_rows: Mapping[str, int]) -> tuple[TrainingSet, np.ndarray]:
    """Whole partitions, chosen at random, up to ``sample_accounts``; and their row positions."""
    order = np.random.default_rng(seed).permutation(len(data.partitions))
    offsets = np.concatenate(([0], np.cumsum(data.sizes)))
    chosen, total = [], 0
    for i in order:
        if total >= sample_accounts:
            break
        chosen.append(int(i))
        total += data.sizes[i]
    chosen.sort()
    parts: list[Partition] = data.client.gather([data.partitions[i] for i in chosen])
    rows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in chosen])
    return _sample_set(parts, source, digest, table_rows), rows


def _sample_set(parts: list[Partition], source: str, digest: str,
                table_rows: Mapping[str, int]) -> TrainingSet:
    from trueclout.features.registry import FEATURE_NAMES

    labels = np.concatenate([p.labels for p in parts])
    return TrainingSet(
        x=np.concatenate([p.x for p in parts]),
        feature_names=tuple(FEATURE_NAMES),
        account_ids=np.concatenate([p.account_ids for p in parts]),
        labels={t: labels[:, i] for i, t in enumerate(TACTICS)},
        groups=np.concatenate([p.groups for p in parts]),
        context={"platform": np.concatenate([p.platform for p in parts]),
                 "followers_count": np.concatenate([p.followers_count for p in parts]),
                 "kind": np.concatenate([p.kind for p in parts])},
        source=source, digest=digest, table_rows=dict(table_rows),
    )


# ---------------------------------------------------------------------------------------------
# The run


def _ring_rows(ring: pa.Table | None, account_ids: pa.Array, start: int, stop: int,
               aligned: dict[str, pa.Table]) -> pa.Table | None:
    """The ring rows of the accounts at input positions [start, stop) (aligned once)."""
    if ring is None:
        return None
    if "table" not in aligned:
        position = pc.index_in(account_ids, value_set=ring.column("account_id").combine_chunks())
        aligned["table"] = ring.take(position).combine_chunks()
    part = aligned["table"].slice(start, stop - start)
    return part.filter(part.column("account_id").is_valid())


def detect_rings_on_cluster(client: Client, folder: Path, spans: list[TableSpan]) -> pa.Table:
    """Edge parts on the workers, ring detection once on the client."""
    from trueclout.cluster import ordered_map
    from trueclout.features.graph.ingest import merge_edge_parts
    from trueclout.features.graph.table import detect_rings_in_edges

    parts = list(ordered_map(client, _edge_part_task, spans, folder=str(folder),
                             key_prefix="train-edge-part"))
    edges = merge_edge_parts(parts)
    del parts  # detection should not hold the parts too
    return detect_rings_in_edges(edges)


def _edge_part_task(span: TableSpan, *, folder: str) -> Any:
    from trueclout.features.graph.ingest import (
        GRAPH_COLUMNS,
        GRAPH_DICTIONARY_COLUMNS,
        edge_part,
    )
    from trueclout.io import read_table_span

    return edge_part(read_table_span(Path(folder), span, columns=GRAPH_COLUMNS,
                                     dictionary=GRAPH_DICTIONARY_COLUMNS, use_threads=False))


def check_dask_folds(counts: np.ndarray, folds: int) -> None:
    """Every training split must hold both classes of every target (hash folds can miss one)."""
    for t, target in enumerate(TARGETS):
        rows, positives = counts[t, :, 0], counts[t, :, 1]
        if rows.sum() == 0:
            raise UserError("no accounts to train on")
        for k in range(folds):
            train_rows = rows.sum() - rows[k]
            train_positive = positives.sum() - positives[k]
            if train_positive == 0 or train_positive == train_rows:
                lacking = "positive" if train_positive == 0 else "negative"
                raise UserError(f"grouped fold {k + 1} leaves no {lacking} {target!r} account "
                                "to train on; label more groups or lower --folds")


def train_on_dask(
    labelled: LabelledSet,
    config: TrainingConfig,
    out: Path,
    *,
    client: Client,
    name: str,
    registry_version: str,
    follower_model: Any | None,
    graph: pa.Table | None | str,
    digest: str,
    thinning: Thinning | None = None,
    sample_accounts: int = DEFAULT_SAMPLE_ACCOUNTS,
    chunk_accounts: int = 2_000,
    write_report: bool = True,
    progress: Progress | None = None,
    created_at: datetime | None = None,
    overwrite: bool = False,
    extra_training: Mapping[str, Any] | None = None,
) -> TrainedModel:
    """Fit the account model on the cluster of ``client`` and save the artifact at ``out``.

    ``graph``: a ring table, None (no rings) or ``"detect"`` (rings detected
    over the data, edge parts built on the workers).
    """
    import pyarrow.parquet as pq

    from trueclout.features.registry import FEATURE_NAMES
    from trueclout.io import InputError, plan_table_chunks
    from trueclout.training.evaluate.metrics import evaluate_probabilities, feature_importance

    started = time.perf_counter()
    folder = _table_folder(labelled)
    try:
        spans = plan_table_chunks(folder, chunk_accounts=chunk_accounts)
    except InputError as exc:
        raise UserError(f"{exc}; rewrite the folder with `trueclout convert`") from None
    ids = pq.read_table(folder / "profiles.parquet", columns=["account_id"]).column(
        "account_id").cast(pa.string()).combine_chunks()
    if graph == "detect":
        if progress:
            progress.start("finding rings (edge parts on the workers)", None)
        graph = detect_rings_on_cluster(client, folder, spans)
    ring = graph if isinstance(graph, pa.Table) else None

    if progress:
        progress.start("computing features on the workers", len(ids))
    component = client.scatter(follower_model, broadcast=True) if follower_model else None
    aligned: dict[str, pa.Table] = {}
    futures = []
    for span in spans:
        start, stop = span.rows["profiles"]
        item = (span, labelled.labels_for(ids.slice(start, stop - start)),
                _ring_rows(ring, ids, start, stop, aligned))
        futures.append(client.submit(partition_task, item, folder=str(folder),
                                     follower_model=component, folds=config.folds,
                                     seed=config.seed, thinning=thinning, pure=False))
    del aligned
    sizes = [span.num_accounts for span in spans]
    counts = sum(client.gather([client.submit(_counts, f, config.folds, pure=False)
                                for f in futures]))
    if progress:
        progress.advance(len(ids))
    check_dask_folds(counts, config.folds)
    names = tuple(FEATURE_NAMES)
    data = DaskData(client, futures, sizes, len(names), config.folds)

    if progress:
        progress.start("fitting XGBoost on the cluster (grouped CV, then final models)",
                       len(TARGETS) * (config.folds + 1))
    client.run(_quiet_xgboost)
    with client.as_current():  # xgboost.dask looks the client up globally
        boosters, margins = _fit_boosters(data, config, names, counts, progress)
    everyone = _labels_only(data)
    everyone.table_rows = _table_rows(folder)
    calibrators, oof = calibrate(margins, everyone, config.calibration)
    thresholds = choose_thresholds(everyone, oof, config.precision_targets)
    scorers = {}
    for target, booster in boosters.items():
        scorer = BoosterScorer(booster)
        scorer.set_threads(config.threads)
        scorers[target] = scorer
    learner = CalibratedLearner(PRIMARY_LEARNER, scorers, calibrators, thresholds)

    if progress:
        progress.start("baselines and the report on a sample (on the client)", None)
    sample, rows = _sample(data, sample_accounts, config.seed, str(labelled.data), digest,
                           everyone.table_rows)
    local = fit_account_model(sample, config)
    model = AccountModel(feature_names=names, learner=learner, baselines={
        n: lr for n, lr in local.model.all_learners().items() if n != PRIMARY_LEARNER})
    sample_oof = {**local.oof, PRIMARY_LEARNER: {t: oof[t][rows] for t in TARGETS}}
    learners = model.all_learners()
    evaluation = evaluate_probabilities(
        sample, sample_oof, {n: lr.thresholds for n, lr in learners.items()},
        model_ref={"name": name, "version": "(this model)"},
        setting=(f"grouped {config.folds}-fold cross-validation (out-of-fold), on "
                 f"{len(sample):,} of {len(everyone):,} accounts; XGBoost trained with "
                 "xgboost.dask on all of them"),
    )
    evaluation.summary["feature_importance"] = feature_importance(model, sample.x,
                                                                  seed=config.seed)
    card = save_trained(
        out, model, evaluation, config, name=name, registry_version=registry_version,
        follower_model=follower_model, training={
            "data": {"source": str(labelled.data), "digest": digest,
                     "sample_features_sha256": features_digest(sample),
                     **label_summary(everyone)},
            "distributed": {
                "engine": "xgboost.dask", "workers": len(client.scheduler_info(
                    n_workers=-1).get("workers", {})),
                "partitions": len(spans), "folds": "seeded hash of group_id",
                "held_out_rows": "weight 0 in each fold's DaskQuantileDMatrix",
                "baselines_and_report": f"sample of {len(sample):,} accounts (whole partitions)",
            },
            **(extra_training or {})},
        created_at=created_at, overwrite=overwrite, write_report=write_report,
        progress=progress)
    fit = FitResult(model, np.zeros(0, np.int64), sample_oof, time.perf_counter() - started)
    return TrainedModel(Path(out), card, fit, sample, evaluation)


def _table_folder(labelled: LabelledSet) -> Path:
    folder = Path(labelled.data).resolve()
    if not folder.is_dir():
        raise UserError(f"{labelled.data}: --dask reads a Parquet table folder; convert JSON "
                        f"Lines first (trueclout convert {labelled.data} FOLDER)")
    return folder


def _table_rows(folder: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    from trueclout.tables import TABLE_NAMES

    return {name: (pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows
                   if (folder / f"{name}.parquet").exists() else 0) for name in TABLE_NAMES}


def train_with_cluster(labelled: LabelledSet, config: TrainingConfig, out: Path, *,
                       scheduler: str | None, ring_table: Path | None, no_rings: bool,
                       **kwargs: Any) -> TrainedModel:
    """``train_on_dask`` on a new local cluster, or on the one at ``scheduler``."""
    from trueclout.cluster import dask_client
    from trueclout.training.data.labelled import data_digest

    _table_folder(labelled)  # refuse JSON before starting a cluster
    graph: pa.Table | None | str = "detect"
    if no_rings:
        graph = None
    elif ring_table is not None:
        from trueclout.features.graph.table import load_ring_table

        graph = load_ring_table(ring_table)
    with dask_client(scheduler) as client:
        return train_on_dask(labelled, config, out, client=client, graph=graph,
                             digest=data_digest(labelled), **kwargs)
