"""Labelled snapshot sets: snapshots (JSON Lines or a Parquet table folder) joined with labels.

The labels table (SNAPSHOT.md) is keyed by ``account_id`` with one 0/1 column
per tactic, optionally ``group_id`` (the ring or purchase batch, for grouped
cross-validation) and ``kind`` (what the account really is, for the report's
slices).  Every check here runs before any feature is computed where the
format allows, and names the file, the column and an example account, because
a wrong label costs more than a slow start.

Features are computed a chunk of accounts at a time with the same pipeline the
service runs, so training sees exactly what scoring will see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.assessment import TACTICS
from trueclout.errors import UserError
from trueclout.features.families.rings import GRAPH_KEY
from trueclout.io import LABELS_FILE, count_accounts, detect_format, iter_table_chunks
from trueclout.models.account_model import OVERALL
from trueclout.progress import Progress
from trueclout.tables import TABLE_NAMES, SnapshotTables

LABEL_FILE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".ndjson")
CHUNK_ACCOUNTS = 2_000
# Tables the graph stage reads; the others stay empty to keep memory down.
GRAPH_TABLES = ("profiles", "posts", "engagements", "reposts_made")

ProgressHook = Callable[[int], None]


@dataclass
class TrainingSet:
    """Features and labels of labelled accounts, rows aligned; groups keep rings together."""

    x: np.ndarray
    feature_names: tuple[str, ...]
    account_ids: np.ndarray
    labels: dict[str, np.ndarray]
    groups: np.ndarray
    # Per-account columns the evaluation slices by (platform, followers_count, kind).
    context: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    digest: str = ""
    table_rows: dict[str, int] = field(default_factory=dict)  # rows read per snapshot table

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        n = len(self.x)
        if self.x.ndim != 2 or self.x.shape[1] != len(self.feature_names):
            raise ValueError("x must be n x len(feature_names)")
        for name, values in (("account_ids", self.account_ids), ("groups", self.groups),
                             *self.labels.items(), *self.context.items()):
            if len(values) != n:
                raise ValueError(f"{name} has {len(values)} rows, features have {n}")

    def __len__(self) -> int:
        return len(self.x)

    def target(self, name: str) -> np.ndarray:
        """0/1 labels of a tactic, or of ``overall`` (any tactic)."""
        if name == OVERALL:
            return np.maximum.reduce([self.labels[t] for t in TACTICS]).astype(np.int8)
        return np.asarray(self.labels[name], dtype=np.int8)



class LabelError(UserError):
    """Labels that cannot be trusted for training: the message names file, column and account."""


@dataclass
class LabelledSet:
    """A snapshot set and its checked labels; features are read from it chunk by chunk."""

    data: Path
    labels_path: Path
    labels: pa.Table
    n_accounts: int | None
    extra_labels: int = 0
    notes: list[str] = field(default_factory=list)

    def iter_tables(self, chunk_accounts: int = CHUNK_ACCOUNTS) -> Iterator[SnapshotTables]:
        return iter_table_chunks(self.data, chunk_accounts=chunk_accounts)

    def labels_for(self, account_ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Label rows for these accounts, in their order; refuses accounts without a label."""
        index = pc.index_in(account_ids, value_set=self.labels.column("account_id"))
        if index.null_count:
            missing = pc.filter(account_ids, pc.is_null(index))
            raise LabelError(
                f"{self.labels_path}: {index.null_count} account(s) of {self.data} in this chunk "
                f"have no label (first: {missing[0].as_py()!r}); every account needs one")
        return self.labels.take(index)


# ---------------------------------------------------------------------------------------------
# Reading and checking labels


def find_labels(data: Path, labels: Path | None) -> Path:
    """The labels file: as given, else ``labels.parquet`` in the table folder or beside the file."""
    if labels is not None:
        if not Path(labels).exists():
            raise LabelError(f"{labels}: no such labels file")
        return Path(labels)
    folder = data if data.is_dir() else data.parent
    for candidate in (folder / LABELS_FILE, folder / "labels.csv"):
        if candidate.is_file():
            return candidate
    raise LabelError(f"{data}: no labels found ({folder / LABELS_FILE} does not exist); "
                     "pass --labels FILE (Parquet, CSV or JSON Lines keyed by account_id)")


def read_label_table(path: Path) -> pa.Table:
    """A labels table as stored: Parquet, CSV or JSON Lines (a folder: its labels.parquet).

    CSV ids are read as text, so an id of digits keeps its leading zeros and
    still matches the snapshots' ``account_id``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LABELS_FILE
    try:
        if path.suffix == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={"account_id": pa.string(), "group_id": pa.string()}))
        if path.suffix in (".jsonl", ".ndjson"):
            import pyarrow.json as pajson

            return pajson.read_json(path)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise LabelError(f"{path}: cannot read labels ({exc})") from None


def check_labels(table: pa.Table, source: Path) -> pa.Table:
    """Labels conformed to: account_id, one int8 0/1 column per tactic, group_id, kind."""
    names = set(table.column_names)
    needed = ["account_id", *TACTICS]
    missing = [c for c in needed if c not in names]
    if missing:
        raise LabelError(f"{source}: labels lack column(s) {missing}; a labels table needs "
                         f"{needed} (and optionally group_id, kind)")
    ids = table.column("account_id").cast(pa.string())
    if ids.null_count:
        raise LabelError(f"{source}: account_id is empty on {ids.null_count} row(s)")
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        first = repeated[0]
        raise LabelError(
            f"{source}: {len(repeated)} account_id(s) are labelled more than once (first: "
            f"{first['values'].as_py()!r}, {first['counts'].as_py()} times); keep one row each")
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"account_id": ids}
    for tactic in TACTICS:
        columns[tactic] = _binary_column(table.column(tactic), tactic, ids, source)
    columns["group_id"] = (table.column("group_id").cast(pa.string()) if "group_id" in names
                           else pa.nulls(table.num_rows, pa.string()))
    columns["kind"] = (table.column("kind").cast(pa.string()) if "kind" in names
                       else pa.nulls(table.num_rows, pa.string()))
    return pa.table(columns)


def _binary_column(column: pa.ChunkedArray, name: str, ids: pa.ChunkedArray,
                   source: Path) -> pa.Array:
    if column.null_count:
        first = pc.filter(ids, pc.is_null(column))[0].as_py()
        raise LabelError(f"{source}: column {name!r} is empty for {column.null_count} "
                         f"account(s) (first: {first!r}); labels must be 0 or 1")
    if pa.types.is_boolean(column.type):
        return column.cast(pa.int8())
    try:
        values = column.cast(pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise LabelError(f"{source}: column {name!r} is {column.type}; labels must be 0 or 1"
                         ) from None
    bad = np.nonzero((values != 0) & (values != 1))[0]
    if len(bad):
        raise LabelError(f"{source}: column {name!r} has {len(bad)} value(s) other than 0/1 "
                         f"(first: {values[bad[0]]:g} for account {ids[int(bad[0])].as_py()!r})")
    return pa.array(values.astype(np.int8))


def open_labelled(data: Path, labels: Path | None = None) -> LabelledSet:
    """Check a labelled set before training: labels readable, complete and unique."""
    data = Path(data)
    fmt = detect_format(data)
    labels_path = find_labels(data, labels)
    table = check_labels(read_label_table(labels_path), labels_path)
    n_accounts = count_accounts(data)
    labelled = LabelledSet(data, labels_path, table, n_accounts)
    if fmt == "tables":
        import pyarrow.parquet as pq

        ids = pq.read_table(data / "profiles.parquet", columns=["account_id"]).column(
            "account_id").cast(pa.string())
        _check_unique_accounts(ids, data)
        labelled.labels_for(ids)  # refuses unlabelled accounts before any work
        labelled.extra_labels = table.num_rows - len(ids)
        if labelled.extra_labels:
            labelled.notes.append(f"{labelled.extra_labels} labelled account(s) are not in "
                                  f"{data} and were ignored")
    return labelled


def _check_unique_accounts(ids: pa.ChunkedArray | pa.Array, data: Path) -> None:
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        raise UserError(f"{data}: account_id {repeated[0]['values'].as_py()!r} appears "
                        f"{repeated[0]['counts'].as_py()} times; one snapshot per account")


# ---------------------------------------------------------------------------------------------
# Digest


def data_digest(labelled: LabelledSet) -> str:
    """sha256 over the input files' bytes (each table file in a fixed order, then the labels).

    The simulator writes byte-identical files for a seed, so the same world
    gives the same digest; a converted copy of the same data does not (it is
    other bytes), which is what a file digest is for.
    """
    digest = hashlib.sha256()
    if labelled.data.is_dir():
        files = [labelled.data / f"{name}.parquet" for name in TABLE_NAMES]
    else:
        files = [labelled.data]
    for file in [*files, labelled.labels_path]:
        if not file.exists():
            continue
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023
                digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Features


def ring_table(labelled: LabelledSet, *, on_stage: Callable[[str, float], None] | None = None
               ) -> pa.Table | None:
    """Rings over the engagement graph of the whole set, as training must see them.

    Returns None where the graph stage is not installed: the graph features
    then stay NaN (unknown), as they do for a service without a ring table.
    """
    try:
        from trueclout.features.graph.table import detect_rings
    except ModuleNotFoundError:
        return None
    return detect_rings(read_graph_tables(labelled), on_stage=on_stage)


def rings_for(labelled: LabelledSet, *, precomputed: Path | None, no_rings: bool,
              progress: Progress, stage: str = "finding rings in the engagement graph"
              ) -> pa.Table | None:
    """The ring table a run uses: none (``--no-rings``), a precomputed one (``--ring-table``),
    or rings found over the data (a stage of its own: the whole graph is read)."""
    if no_rings:
        return None
    if precomputed is not None:
        from trueclout.features.graph.table import load_ring_table

        return load_ring_table(precomputed)
    progress.start(stage, None)
    return ring_table(labelled)


def read_graph_tables(labelled: LabelledSet) -> SnapshotTables:
    """Only the tables the graph stage reads, for every account (followers stay empty)."""
    from trueclout.tables import SCHEMAS, conform, empty_tables

    if labelled.data.is_dir():
        import pyarrow.parquet as pq

        parts = {name: SCHEMAS[name].empty_table() for name in TABLE_NAMES}
        for name in GRAPH_TABLES:
            file = labelled.data / f"{name}.parquet"
            if file.exists():
                parts[name] = conform(pq.read_table(file), name)
        return SnapshotTables(**parts)
    chunks = []
    for chunk in labelled.iter_tables():
        chunks.append({name: chunk[name] for name in GRAPH_TABLES})
    empty = empty_tables()
    return SnapshotTables(**{
        name: (pa.concat_tables([c[name] for c in chunks]).combine_chunks()
               if name in GRAPH_TABLES and chunks else empty[name])
        for name in TABLE_NAMES
    })


@dataclass(frozen=True)
class Thinning:
    """Cut some accounts' snapshots short, so a model learns thin data is not evidence.

    A simulated world gives every account the same generous sample (200
    followers, 120 days); snapshots scored in production are often thinner.
    Trained only on full snapshots, a model reads the wide interval of a
    25-follower sample as a high fake share (measured: the shipped sample
    ``viral_genuine`` was flagged "high" on exactly that).  For a seeded
    ``share`` of accounts this keeps only the newest k followers (k
    log-uniform in [``min_followers``, ``max_followers``]) and the last d days
    (d uniform in [``min_days``, ``max_days``]) of history, posts, engagements
    and reposts.  The choice per account depends only on its id and the seed,
    so it does not depend on chunking.  Labels are unchanged: a cheat with a
    thin snapshot is still a cheat, only harder to see.

    A thinned account also loses each whole part of its snapshot (the follower
    sample, the follower history, posts with their engagements, its own
    reposts) with chance ``drop_part``: platforms often send none of one.  A
    model that never saw such snapshots reads the gap as evidence (measured
    on the shipped model before this: ``genuine_steady`` without its follower
    sample scored risk 0.98, "high").

    Independently of the cut, each account's row of the ring table is hidden
    with chance ``hide_rings`` (its global ring features become unknown), as
    for an account the service's ring table does not cover, or a service run
    without one.  A model that always saw ring features leaned on them alone
    and missed rings without them (measured on the shipped model before
    this, on its 4,000-account holdout scored without a ring table:
    ``engagement_ring`` ROC-AUC 0.860 and no ring member above "low"),
    although the snapshot's own engagement signals separate rings well.
    """

    share: float = 0.0
    seed: int = 0
    min_followers: int = 10
    max_followers: int = 200
    min_days: int = 30
    max_days: int = 120
    drop_part: float = 0.25
    hide_rings: float = 0.5

    def draws(self, account_ids: list[str]) -> np.ndarray:
        """Three uniforms per account (thin or not, sample size, window), from its id."""
        return _id_uniforms(f"{self.seed}", account_ids, 3)

    def part_draws(self, account_ids: list[str]) -> np.ndarray:
        """Four uniforms per account (drop followers, history, posts, reposts), from its id."""
        return _id_uniforms(f"{self.seed}\0parts", account_ids, 4)

    def ring_rows(self, graph: pa.Table | None, account_ids: list[str]) -> pa.Table | None:
        """``graph`` without the rows of the accounts whose ring features are hidden."""
        if graph is None or self.hide_rings <= 0 or not account_ids:
            return graph
        drawn = _id_uniforms(f"{self.seed}\0rings", account_ids, 1)[:, 0] < self.hide_rings
        hidden = [a for a, h in zip(account_ids, drawn, strict=True) if h]
        if not hidden:
            return graph
        key = graph.column(GRAPH_KEY)
        return graph.filter(pc.invert(pc.is_in(key, value_set=pa.array(hidden, key.type))))

    def apply(self, tables: SnapshotTables) -> SnapshotTables:
        if self.share <= 0 or tables.num_accounts == 0:
            return tables
        from trueclout.features.kernels.segments import account_index

        accounts = tables.profiles.column("account_id")
        u = self.draws(accounts.to_pylist())
        thin = u[:, 0] < self.share
        gone = thin[:, None] & (self.part_draws(accounts.to_pylist()) < self.drop_part)
        no_followers, no_history, no_posts, no_reposts = gone.T
        keep_followers = np.where(thin, np.floor(np.exp(
            np.log(self.min_followers) + u[:, 1] * np.log(self.max_followers / self.min_followers)
        )), np.inf)
        days = np.where(thin, self.min_days + u[:, 2] * (self.max_days - self.min_days), np.inf)
        observed = _seconds(tables.profiles.column("observed_at"))
        since = observed - days * 86_400.0

        def rows(name: str, keep: Any) -> pa.Table:
            table = tables[name]
            owner = account_index(table.column("account_id"), accounts)
            return table.filter(pa.array(keep(table, owner)))

        posts = rows("posts", lambda t, o: (_seconds(t.column("created_at")) >= since[o])
                     & ~no_posts[o])
        kept_posts = pc.binary_join_element_wise(posts.column("account_id"),
                                                 posts.column("post_id"), "\0")
        return SnapshotTables(
            profiles=tables.profiles,
            followers=rows("followers", lambda t, o: (t.column("position").to_numpy(
                zero_copy_only=False) < keep_followers[o]) & ~no_followers[o]),
            follower_history=rows("follower_history", lambda t, o: (_day_seconds(
                t.column("date")) >= since[o] - 86_400.0) & ~no_history[o]),
            posts=posts,
            engagements=rows("engagements", lambda t, o: pc.is_in(
                pc.binary_join_element_wise(t.column("account_id"), t.column("post_id"), "\0"),
                value_set=kept_posts.combine_chunks()).to_numpy(zero_copy_only=False)),
            reposts_made=rows("reposts_made", lambda t, o: (_seconds(t.column("at")) >= since[o])
                              & ~no_reposts[o]),
        )

    def to_json(self) -> dict[str, Any]:
        return {"share": self.share, "seed": self.seed,
                "followers": [self.min_followers, self.max_followers],
                "days": [self.min_days, self.max_days], "drop_part": self.drop_part,
                "hide_rings": self.hide_rings}


def _id_uniforms(tag: str, account_ids: list[str], k: int) -> np.ndarray:
    """``k`` (<= 4) uniforms in [0, 1) per account, fixed by the tag and its id alone."""
    out = np.empty((len(account_ids), k))
    for i, account in enumerate(account_ids):
        digest = hashlib.sha256(f"{tag}\0{account}".encode()).digest()
        out[i] = np.frombuffer(digest[:8 * k], dtype="<u8") / 2.0**64
    return out


def _seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
    return micros.to_numpy(zero_copy_only=False).astype(np.float64) / 1e6


def _day_seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    days = pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64)
    return days * 86_400.0


def build_training_set(
    labelled: LabelledSet,
    *,
    follower_model: Any | None,
    graph: pa.Table | None,
    chunk_accounts: int = CHUNK_ACCOUNTS,
    on_progress: ProgressHook | None = None,
    digest: str | None = None,
    thinning: Thinning | None = None,
) -> TrainingSet:
    """Features of every account (the service's pipeline) joined with its labels."""
    from trueclout.features.pipeline import compute_features

    values, ids, names = [], [], None
    label_parts: list[pa.Table] = []
    platforms, followers = [], []
    seen: set[str] = set()
    table_rows = dict.fromkeys(TABLE_NAMES, 0)
    for full in labelled.iter_tables(chunk_accounts):
        for name, table in full.items():
            table_rows[name] += table.num_rows
        tables = thinning.apply(full) if thinning is not None else full
        chunk_graph = (thinning.ring_rows(graph, tables.profiles.column("account_id").to_pylist())
                       if thinning is not None else graph)
        frame = compute_features(tables, audience_scorer=follower_model, graph=chunk_graph)
        chunk_ids = tables.profiles.column("account_id")
        repeated = seen.intersection(chunk_ids.to_pylist())
        if repeated or len(set(chunk_ids.to_pylist())) != len(chunk_ids):
            first = next(iter(repeated)) if repeated else chunk_ids[0].as_py()
            raise UserError(f"{labelled.data}: account_id {first!r} appears more than once; "
                            "one snapshot per account")
        seen.update(chunk_ids.to_pylist())
        label_parts.append(labelled.labels_for(chunk_ids))
        values.append(np.asarray(frame.values, dtype=np.float32))
        ids.append(np.asarray(chunk_ids.to_pylist(), dtype=object))
        names = tuple(frame.names)
        platforms.append(np.asarray(tables.profiles.column("platform").to_pylist(), dtype=object))
        followers.append(tables.profiles.column("followers_count").to_numpy(
            zero_copy_only=False).astype(np.float64))
        if on_progress:
            on_progress(tables.num_accounts)
    if names is None:
        raise UserError(f"{labelled.data}: no accounts to train on")
    labels = pa.concat_tables(label_parts)
    account_ids = np.concatenate(ids)
    context: dict[str, np.ndarray] = {"platform": np.concatenate(platforms),
                                      "followers_count": np.concatenate(followers)}
    if labels.column("kind").null_count < labels.num_rows:
        context["kind"] = label_kinds(labels)
    return TrainingSet(
        x=np.concatenate(values),
        feature_names=names,
        account_ids=account_ids,
        labels={t: labels.column(t).to_numpy() for t in TACTICS},
        groups=account_groups(labels, account_ids),
        context=context,
        source=str(labelled.data),
        digest=digest if digest is not None else data_digest(labelled),
        table_rows=table_rows,
    )


def account_groups(labels: pa.Table, account_ids: np.ndarray) -> np.ndarray:
    """The cross-validation group of each account: its ``group_id``, or the account alone."""
    group = labels.column("group_id").to_pylist()
    return np.asarray([g if g is not None else f"account:{a}"
                       for g, a in zip(group, account_ids, strict=True)], dtype=object)


def label_kinds(labels: pa.Table) -> np.ndarray:
    """What each account really is (the report's slices); "unknown" where not labelled."""
    kinds = labels.column("kind").to_pylist()
    return np.asarray([k if k is not None else "unknown" for k in kinds], dtype=object)


def label_summary(data: TrainingSet) -> dict[str, Any]:
    """Row counts for the card: accounts, rows per table, positives per tactic, groups."""
    return {
        "accounts": len(data),
        "table_rows": dict(data.table_rows),
        "positives": {t: int(data.labels[t].sum()) for t in TACTICS},
        "groups": int(len(np.unique(data.groups))),
        "grouped_accounts": int(sum(not str(g).startswith("account:") for g in data.groups)),
    }
