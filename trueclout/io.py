"""Reading and writing snapshot sets: JSON, JSON Lines and Parquet table folders.

Everything here streams: JSON Lines is read a line at a time and Parquet a
chunk of accounts at a time, so memory stays flat however large the input.
A table folder holds one ``<table>.parquet`` per table of ``tables.SCHEMAS``
(and optionally ``labels.parquet``), rows grouped by account in the order of
``profiles.parquet``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from trueclout.contract import AccountSnapshot, describe_errors
from trueclout.errors import UserError
from trueclout.tables import (
    SCHEMAS,
    TABLE_NAMES,
    SnapshotTables,
    concat_tables,
    conform,
    empty_tables,
    snapshots_to_tables,
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
        else:
            snap = AccountSnapshot.model_validate_json(raw)
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
    """Every record of a JSON or JSON Lines file, validated, with its line number."""
    fmt = detect_format(path)
    if fmt == "tables":
        raise InputError(f"{path}: is a table folder; read it with iter_table_chunks")
    if fmt == "jsonl":
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield parse_snapshot(raw, line=n)
        return
    try:
        doc = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        yield ParsedRecord(line=1, error=RecordError(1, [{"field": "(document)",
                                                          "reason": f"invalid JSON: {exc}",
                                                          "type": "json_invalid"}]))
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
    path: Path, *, chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS, on_error: str = "raise"
) -> Iterator[SnapshotTables]:
    """Tables for at most ``chunk_accounts`` accounts at a time, from any supported input."""
    path = Path(path)
    if detect_format(path) != "tables":
        for batch in _batched(iter_snapshots(path, on_error=on_error), chunk_accounts):
            yield snapshots_to_tables(batch)
        return
    yield from _ParquetChunks(path, chunk_accounts)


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


class _ParquetChunks:
    """Streams a table folder by chunks of accounts with memory bounded by the chunk.

    Files written by ``TablesWriter`` are grouped by account in profile order,
    so each child table is read forward once.  Folders from elsewhere are
    filtered per chunk instead (correct, slower).
    """

    def __init__(self, path: Path, chunk_accounts: int) -> None:
        self.path = path
        self.chunk_accounts = chunk_accounts

    def __iter__(self) -> Iterator[SnapshotTables]:
        profiles_file = pq.ParquetFile(self.path / "profiles.parquet", pre_buffer=False)
        grouped = self._all_grouped()
        readers = {
            name: _ForwardReader(self.path / f"{name}.parquet", name)
            for name in TABLE_NAMES[1:]
        }
        for batch in profiles_file.iter_batches(batch_size=self.chunk_accounts):
            profiles = conform(pa.Table.from_batches([batch]), "profiles")
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


class _ForwardReader:
    """Reads one child table forward, handing out the rows of consecutive account chunks."""

    def __init__(self, file: Path, name: str) -> None:
        self.file = file
        self.name = name
        self.exists = file.exists()
        # pre_buffer=False: with pre-buffering, pyarrow keeps every column chunk it
        # has read for the life of the reader, so memory grew with the file.
        self._batches = (
            pq.ParquetFile(file, pre_buffer=False).iter_batches(batch_size=65_536)
            if self.exists else None
        )
        self._pending: pa.Table | None = None

    def take(self, ids: pa.ChunkedArray, grouped: bool) -> pa.Table:
        if not self.exists:
            return SCHEMAS[self.name].empty_table()
        if not grouped:
            table = pq.read_table(self.file, filters=pc.field("account_id").isin(ids.to_pylist()))
            return conform(table, self.name)
        wanted = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        taken: list[pa.Table] = []
        while True:
            if self._pending is None or self._pending.num_rows == 0:
                batch = next(self._batches, None)
                if batch is None:
                    break
                self._pending = conform(pa.Table.from_batches([batch]), self.name)
            inside = pc.is_in(self._pending.column("account_id"), value_set=wanted)
            # Grouped in profile order: this chunk's rows are a prefix of what is left.
            first_outside = _first_false(inside)
            taken.append(self._pending.slice(0, first_outside))
            self._pending = self._pending.slice(first_outside)
            if self._pending.num_rows > 0:
                break
        if not taken:
            return SCHEMAS[self.name].empty_table()
        return pa.concat_tables(taken).combine_chunks()


def _first_false(mask: pa.ChunkedArray) -> int:
    values = mask.to_numpy(zero_copy_only=False)
    idx = (~values).nonzero()[0]
    return int(idx[0]) if len(idx) else len(values)


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
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    n = 0
    with tmp.open("wb") as fh:
        for snap in snapshots:
            fh.write(snapshot_to_json(snap))
            fh.write(b"\n")
            n += 1
    os.replace(tmp, path)
    return n


def read_labels(path: Path) -> pa.Table:
    """The labels table beside a snapshot set: a folder's labels.parquet, or a CSV/Parquet file."""
    path = Path(path)
    if path.is_dir():
        path = path / LABELS_FILE
    if not path.exists():
        raise InputError(f"{path}: no labels table")
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    return pq.read_table(path)


__all__ = [
    "InputError",
    "ParsedRecord",
    "RecordError",
    "TablesWriter",
    "count_accounts",
    "detect_format",
    "empty_tables",
    "iter_records",
    "iter_snapshots",
    "iter_table_chunks",
    "parse_snapshot",
    "read_labels",
    "read_tables",
    "snapshot_to_json",
    "write_jsonl",
    "write_tables",
]
