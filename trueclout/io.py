"""Reading and writing snapshot sets: JSON, JSON Lines and Parquet table folders.

Everything here streams: JSON Lines is read a line at a time and Parquet a
chunk of accounts at a time, so memory stays flat however large the input.
A table folder holds one ``<table>.parquet`` per table of ``tables.SCHEMAS``
(and optionally ``labels.parquet``), rows grouped by account in the order of
``profiles.parquet``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from trueclout.contract import (
    AccountSnapshot,
    describe_errors,
    field_names,
    load_json,
)
from trueclout.errors import UserError
from trueclout.fast_contract import validate_snapshot_json
from trueclout.files import atomic_open
from trueclout.tables import (
    SCHEMAS,
    TABLE_NAMES,
    SnapshotTables,
    concat_tables,
    conform,
    empty_tables,
    snapshots_to_tables,
    table_documents,
    tables_to_snapshots,
)

GROUPED_KEY = b"trueclout.grouped"
LABELS_FILE = "labels.parquet"
DEFAULT_CHUNK_ACCOUNTS = 2_000


class InputError(UserError):
    """A file that cannot be read as a snapshot set; the message says which and why."""


@dataclass
class RecordError:
    """One bad record: where it is (1-based line, or index in a JSON array) and every problem."""

    line: int
    problems: list[dict[str, str]]
    account_id: str | None = None

    def lines(self) -> list[str]:
        who = f" (account_id {self.account_id!r})" if self.account_id else ""
        return [f"line {self.line}{who}: {p['field']}: {p['reason']}" for p in self.problems]


@dataclass
class ParsedRecord:
    line: int
    snapshot: AccountSnapshot | None = None
    error: RecordError | None = None


def parse_snapshot(raw: bytes | str | dict, *, line: int = 1) -> ParsedRecord:
    """Validate one document; never raises for bad content, reports it instead."""
    try:
        if isinstance(raw, dict):
            snap = AccountSnapshot.model_validate(raw)
        else:  # the API's own reading: duplicate keys and key floods refused, msgspec first
            snap = validate_snapshot_json(raw)
        return ParsedRecord(line=line, snapshot=snap)
    except ValidationError as exc:
        account_id = None
        if not isinstance(raw, dict):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raw = None
        if isinstance(raw, dict) and isinstance(raw.get("account_id"), str):
            account_id = raw["account_id"][:128]
        return ParsedRecord(line=line, error=RecordError(line, describe_errors(exc), account_id))


def detect_format(path: Path) -> str:
    """``tables`` (a folder of Parquet), ``jsonl`` or ``json``, from what is on disk."""
    if path.is_dir():
        if not (path / "profiles.parquet").exists():
            raise InputError(f"{path}: a table folder needs profiles.parquet")
        return "tables"
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith(b"["):
        return "json"
    # A single pretty-printed object spans lines; JSON Lines has one per line.
    first_line = head.split(b"\n", 1)[0].strip()
    try:
        orjson.loads(first_line)
        return "jsonl"
    except orjson.JSONDecodeError:
        return "json"


def iter_records(path: Path) -> Iterator[ParsedRecord]:
    """Every record of a JSON or JSON Lines file or a table folder, validated, with its place.

    The place is the line of a JSON Lines file, the item of a JSON array, or
    the account's row in a table folder's ``profiles.parquet``.
    """
    fmt = detect_format(path)
    if fmt == "tables":
        row = 0
        for chunk in iter_table_chunks(path):
            for doc in table_documents(chunk):
                row += 1
                yield parse_snapshot(doc, line=row)
        return
    if fmt == "jsonl":
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield parse_snapshot(raw, line=n)
        return
    try:
        doc = load_json(path.read_bytes(), known_keys=field_names(AccountSnapshot))
    except ValidationError as exc:
        yield ParsedRecord(line=1, error=RecordError(1, describe_errors(exc)))
        return
    docs = doc if isinstance(doc, list) else [doc]
    for n, item in enumerate(docs, start=1):
        if not isinstance(item, dict):
            yield ParsedRecord(line=n, error=RecordError(n, [{"field": "(document)",
                                                              "reason": "is not a JSON object",
                                                              "type": "model_type"}]))
        else:
            yield parse_snapshot(item, line=n)


def iter_snapshots(path: Path, *, on_error: str = "raise") -> Iterator[AccountSnapshot]:
    """Valid snapshots of a file or table folder; bad records raise (or are skipped)."""
    if detect_format(path) == "tables":
        for chunk in iter_table_chunks(path):
            yield from tables_to_snapshots(chunk)
        return
    for rec in iter_records(path):
        if rec.error is not None:
            if on_error == "skip":
                continue
            raise InputError(f"{path}: " + "; ".join(rec.error.lines()))
        assert rec.snapshot is not None
        yield rec.snapshot


def _batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_table_chunks(
    path: Path,
    *,
    chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS,
    on_error: str = "raise",
    columns: Mapping[str, Collection[str]] | None = None,
    dictionary: Mapping[str, Collection[str]] | None = None,
) -> Iterator[SnapshotTables]:
    """Tables for at most ``chunk_accounts`` accounts at a time, from any supported input.

    Two options make a Parquet table folder cheaper to read (JSON input is
    converted whole and ignores them).  ``columns`` (table -> column names) reads
    only those columns of the tables it names; the other columns come back all
    null, so every table keeps the contract's columns.  ``dictionary`` (table ->
    string columns) keeps those columns dictionary-encoded as Parquet stores them
    (``dictionary<int32, string>``, one dictionary per row group), which skips
    copying a repeated value such as ``account_id`` or ``kind`` onto every row;
    profiles are always read as plain strings.
    """
    path = Path(path)
    if detect_format(path) != "tables":
        for batch in _batched(iter_snapshots(path, on_error=on_error), chunk_accounts):
            yield snapshots_to_tables(batch)
        return
    yield from _ParquetChunks(path, chunk_accounts, _Projection.of(columns, dictionary))


def read_tables(path: Path) -> SnapshotTables:
    """The whole input as one set of tables (for data that fits in memory)."""
    return concat_tables(iter_table_chunks(Path(path), chunk_accounts=1_000_000))


def count_accounts(path: Path) -> int | None:
    """Number of accounts, cheaply where the format allows (for progress bars)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "tables":
        return pq.ParquetFile(path / "profiles.parquet").metadata.num_rows
    if fmt == "jsonl":
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    return None


@dataclass(frozen=True)
class _Projection:
    """Which columns of each table to read, and which of them as dictionaries."""

    columns: Mapping[str, frozenset[str]]
    dictionary: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, columns: Mapping[str, Collection[str]] | None,
           dictionary: Mapping[str, Collection[str]] | None) -> _Projection:
        for option in (columns or {}, dictionary or {}):
            unknown = {f"{t}.{c}" for t, cs in option.items() for c in cs
                       if t not in SCHEMAS or c not in SCHEMAS[t].names}
            if unknown:
                raise ValueError(f"no such table columns: {sorted(unknown)}")
        if (dictionary or {}).get("profiles"):
            raise ValueError("profiles are read as plain strings; no dictionary columns there")
        for table, names in (dictionary or {}).items():
            not_strings = [c for c in names if SCHEMAS[table].field(c).type != pa.string()]
            if not_strings:
                raise ValueError(f"table {table!r}: only string columns can be read as "
                                 f"dictionaries, not {not_strings}")
        read = {t: frozenset(cs) | {"account_id"} for t, cs in (columns or {}).items()}
        return cls(read, {t: frozenset(cs) for t, cs in (dictionary or {}).items()})

    def read(self, name: str) -> frozenset[str] | None:
        """Columns to read of table ``name`` (None: all)."""
        return self.columns.get(name)

    def file(self, path: Path) -> pq.ParquetFile:
        name = path.name.removesuffix(".parquet")
        # pre_buffer=False: with pre-buffering, pyarrow keeps every column chunk it
        # has read for the life of the reader, so memory grew with the file.
        return pq.ParquetFile(path, pre_buffer=False,
                              read_dictionary=sorted(self.dictionary.get(name, ())) or None)

    def batches(self, path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
        pf = self.file(path)
        wanted = self.read(path.name.removesuffix(".parquet"))
        names = None if wanted is None else [c for c in pf.schema_arrow.names if c in wanted]
        return pf.iter_batches(batch_size=batch_size, columns=names)

    def conform(self, table: pa.Table, name: str) -> pa.Table:
        return conform(table, name, read=self.read(name),
                       dictionary=self.dictionary.get(name, ()))


class _ParquetChunks:
    """Streams a table folder by chunks of accounts with memory bounded by the chunk.

    Files written by ``TablesWriter`` are grouped by account in profile order,
    so each child table is read forward once.  Folders from elsewhere are
    filtered per chunk instead (correct, slower).
    """

    def __init__(self, path: Path, chunk_accounts: int,
                 projection: _Projection | None = None) -> None:
        self.path = path
        self.chunk_accounts = chunk_accounts
        self.projection = projection or _Projection({}, {})

    def __iter__(self) -> Iterator[SnapshotTables]:
        grouped = self._all_grouped()
        readers = {
            name: _ForwardReader(self.path / f"{name}.parquet", name, self.projection)
            for name in TABLE_NAMES[1:]
        }
        for batch in self.projection.batches(self.path / "profiles.parquet",
                                             self.chunk_accounts):
            profiles = self.projection.conform(pa.Table.from_batches([batch]), "profiles")
            ids = profiles.column("account_id")
            parts = {"profiles": profiles}
            for name, reader in readers.items():
                parts[name] = reader.take(ids, grouped)
            yield SnapshotTables(**parts)

    def _all_grouped(self) -> bool:
        for name in TABLE_NAMES:
            f = self.path / f"{name}.parquet"
            if f.exists():
                meta = pq.read_schema(f).metadata or {}
                if meta.get(GROUPED_KEY) != b"profiles-order":
                    return False
        return True


# Rows decoded per step of a child table: large enough that per-batch overhead
# vanishes, small enough that the batch waiting for the next chunk stays small.
_BATCH_ROWS = 262_144


class _ForwardReader:
    """Reads one child table forward, handing out the rows of consecutive account chunks."""

    def __init__(self, file: Path, name: str, projection: _Projection) -> None:
        self.file = file
        self.name = name
        self.projection = projection
        self.exists = file.exists()
        self._batches = projection.batches(file, _BATCH_ROWS) if self.exists else None
        self._pending: pa.Table | None = None

    def take(self, ids: pa.ChunkedArray, grouped: bool) -> pa.Table:
        if not self.exists:
            return self.projection.conform(SCHEMAS[self.name].empty_table(), self.name)
        if not grouped:
            read = self.projection.read(self.name)
            names = pq.read_schema(self.file).names
            table = pq.read_table(self.file, filters=pc.field("account_id").isin(ids.to_pylist()),
                                  columns=None if read is None else
                                  [c for c in names if c in read])
            return self.projection.conform(table, self.name)
        wanted = _flat(ids)
        taken: list[pa.Table] = []
        while True:
            if self._pending is None or self._pending.num_rows == 0:
                batch = next(self._batches, None)
                if batch is None:
                    break
                self._pending = pa.Table.from_batches([batch])
            # Grouped in profile order: this chunk's rows are a prefix of what is left.
            first_outside = _first_outside(self._pending.column("account_id"), wanted)
            taken.append(self._pending.slice(0, first_outside))
            self._pending = self._pending.slice(first_outside)
            if self._pending.num_rows > 0:
                break
        if not taken:
            return self.projection.conform(SCHEMAS[self.name].empty_table(), self.name)
        return _combined(self.projection.conform(pa.concat_tables(taken), self.name))


def _flat(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    return ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids


def _first_outside(account_id: pa.ChunkedArray, wanted: pa.Array) -> int:
    """Position of the first row whose account is not in ``wanted`` (the length if none)."""
    inside = []
    for chunk in account_id.chunks:
        if pa.types.is_dictionary(chunk.type) and chunk.null_count == 0:
            # One lookup per distinct account, then spread over the rows.
            known = pc.is_in(chunk.dictionary, value_set=wanted).to_numpy(zero_copy_only=False)
            inside.append(known[chunk.indices.to_numpy(zero_copy_only=False)])
        else:
            inside.append(pc.is_in(chunk, value_set=wanted).to_numpy(zero_copy_only=False))
    values = np.concatenate(inside) if inside else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(~values)
    return int(idx[0]) if len(idx) else len(values)


def _combined(table: pa.Table) -> pa.Table:
    """Plain columns as one contiguous chunk; dictionary columns keep one chunk per
    dictionary (merging the dictionaries would cost more than reading them)."""
    columns = [col if pa.types.is_dictionary(col.type) else col.combine_chunks()
               for col in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


@dataclass(frozen=True)
class TableSpan:
    """Where one chunk of accounts lies in a table folder: ``[start, stop)`` rows per table."""

    index: int
    rows: Mapping[str, tuple[int, int]]

    @property
    def num_accounts(self) -> int:
        start, stop = self.rows["profiles"]
        return stop - start


def plan_table_chunks(path: Path, *,
                      chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS) -> list[TableSpan]:
    """The chunks ``iter_table_chunks`` yields from a table folder, as row ranges.

    With a plan, separate processes can each read their own chunks
    (``read_table_span``) instead of one reader streaming them all.  Costs one
    pass over the ``account_id`` columns, read dictionary-encoded.  Needs rows
    grouped by account in profile order (as ``TablesWriter`` writes them);
    raises InputError otherwise.
    """
    path = Path(path)
    if detect_format(path) != "tables":
        raise InputError(f"{path}: only a Parquet table folder can be read by chunk spans")
    profiles = pq.read_table(path / "profiles.parquet", columns=["account_id"])
    ids = profiles.column("account_id").to_pylist()
    position = {account: i for i, account in enumerate(ids)}
    if len(position) != len(ids):
        raise InputError(f"{path}: account_id repeats in profiles.parquet")
    n_chunks = -(-len(ids) // chunk_accounts)
    starts = {"profiles": np.arange(n_chunks + 1) * chunk_accounts}
    starts["profiles"][-1] = len(ids)
    for name in TABLE_NAMES[1:]:
        per_chunk = _rows_per_chunk(path / f"{name}.parquet", position, chunk_accounts, n_chunks)
        starts[name] = np.concatenate(([0], np.cumsum(per_chunk)))
    return [TableSpan(c, {name: (int(s[c]), int(s[c + 1])) for name, s in starts.items()})
            for c in range(n_chunks)]


def _rows_per_chunk(file: Path, position: dict[str, int], chunk_accounts: int,
                    n_chunks: int) -> np.ndarray:
    counts = np.zeros(n_chunks, dtype=np.int64)
    if not file.exists():
        return counts
    pf = pq.ParquetFile(file, pre_buffer=False, read_dictionary=["account_id"])
    last = 0
    for batch in pf.iter_batches(batch_size=1 << 20, columns=["account_id"], use_threads=False):
        col = batch.column(0)
        if not pa.types.is_dictionary(col.type) or col.null_count:
            raise InputError(f"{file}: account_id must be strings without nulls")
        where = np.array([position.get(a, -1) for a in col.dictionary.to_pylist()], np.int64)
        rows = where[col.indices.to_numpy(zero_copy_only=False)]
        if len(rows) == 0:
            continue
        if rows.min() < 0:
            raise InputError(f"{file}: a row names an account_id that is not in profiles")
        if rows[0] < last or (rows[1:] < rows[:-1]).any():
            raise InputError(f"{file}: rows are not grouped by account in profile order")
        last = int(rows[-1])
        first_chunk, last_chunk = int(rows[0]) // chunk_accounts, last // chunk_accounts
        edges = np.arange(first_chunk, last_chunk + 2) * chunk_accounts
        counts[first_chunk:last_chunk + 1] += np.diff(np.searchsorted(rows, edges))
    return counts


def read_table_span(path: Path, span: TableSpan, *,
                    columns: Mapping[str, Collection[str]] | None = None,
                    dictionary: Mapping[str, Collection[str]] | None = None,
                    use_threads: bool = True) -> SnapshotTables:
    """The tables of one planned chunk (``plan_table_chunks``), decoding only the row
    groups that hold it; ``columns`` and ``dictionary`` as for ``iter_table_chunks``."""
    projection = _Projection.of(columns, dictionary)
    return SnapshotTables(**{
        name: _read_rows(Path(path) / f"{name}.parquet", name, *span.rows[name], projection,
                         use_threads)
        for name in TABLE_NAMES
    })


def _read_rows(file: Path, name: str, start: int, stop: int, projection: _Projection,
               use_threads: bool) -> pa.Table:
    if not file.exists() or stop <= start:
        return projection.conform(SCHEMAS[name].empty_table(), name)
    pf = projection.file(file)
    sizes = np.array([pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])
    ends = np.cumsum(sizes)
    begins = ends - sizes
    groups = np.flatnonzero((begins < stop) & (ends > start))
    read = projection.read(name)
    table = pf.read_row_groups(groups.tolist(), use_threads=use_threads,
                               columns=None if read is None else
                               [c for c in pf.schema_arrow.names if c in read])
    table = table.slice(start - int(begins[groups[0]]), stop - start)
    return _combined(projection.conform(table, name))


@dataclass
class TablesWriter:
    """Appends chunks of tables to a Parquet folder; rows grouped by account in profile order."""

    path: Path
    compression: str = "zstd"
    _writers: dict[str, pq.ParquetWriter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

    def write(self, tables: SnapshotTables) -> None:
        for name, table in tables.items():
            writer = self._writers.get(name)
            if writer is None:
                schema = SCHEMAS[name].with_metadata({GROUPED_KEY: b"profiles-order"})
                writer = pq.ParquetWriter(self.path / f"{name}.parquet", schema,
                                          compression=self.compression)
                self._writers[name] = writer
            writer.write_table(table.cast(writer.schema))

    def close(self) -> None:
        for name in TABLE_NAMES:
            if name not in self._writers:
                self.write_empty(name)
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def write_empty(self, name: str) -> None:
        schema = SCHEMAS[name].with_metadata({GROUPED_KEY: b"profiles-order"})
        pq.write_table(schema.empty_table(), self.path / f"{name}.parquet")

    def __enter__(self) -> TablesWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_tables(tables: SnapshotTables, path: Path) -> None:
    with TablesWriter(Path(path)) as w:
        w.write(tables)


def snapshot_to_json(snapshot: AccountSnapshot) -> bytes:
    """Compact JSON with the contract's wire names; omits nothing, so it round-trips."""
    return snapshot.model_dump_json(exclude_none=False).encode()


def write_jsonl(snapshots: Iterable[AccountSnapshot], path: Path) -> int:
    """Write snapshots one per line (atomically: a partial file never replaces a good one)."""
    n = 0
    with atomic_open(path, "wb") as fh:
        for snap in snapshots:
            fh.write(snapshot_to_json(snap))
            fh.write(b"\n")
            n += 1
    return n


__all__ = [
    "InputError",
    "ParsedRecord",
    "RecordError",
    "TableSpan",
    "TablesWriter",
    "count_accounts",
    "detect_format",
    "empty_tables",
    "iter_records",
    "iter_snapshots",
    "iter_table_chunks",
    "parse_snapshot",
    "plan_table_chunks",
    "read_table_span",
    "read_tables",
    "snapshot_to_json",
    "write_jsonl",
    "write_tables",
]
