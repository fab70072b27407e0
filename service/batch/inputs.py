"""What batch scoring reads: a Parquet table folder, checked up front, or JSON staged into one.

Every runner works on a table folder, so the graph stage, the in-process
chunks and the Dask partitions all read the same thing.  JSON and JSON Lines
are parsed once into a temporary table folder; each bad record is reported
with its line number and skipped, or fails the run.  JSON Lines is decoded in
blocks of lines (``batch.decode``: Arrow's JSON reader on its threads,
column-wise checks, the models for any line in doubt); a JSON document goes
record by record through the conversion the online path uses
(``snapshots_to_tables``).  Decoding the blocks in a pool of worker processes
was measured and did not pay on two cores: the pool's start-up and the
transfer of the tables cost what the second core saved.

The account ids of the whole input are read once (one column): they give
the count for the progress bar, refuse an account that appears twice, and
align the ring table with the input's order.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trueclout.errors import UserError
from trueclout.io import TablesWriter, detect_format, iter_records
from trueclout.service.batch.decode import Decoded, decode_data, slice_accounts
from trueclout.tables import (
    SCHEMAS,
    TABLE_NAMES,
    SnapshotTables,
    concat_tables,
    same_type,
    snapshots_to_tables,
)

Report = Callable[[str], None]
MAX_REPORTED_LINES = 200
# JSON Lines is decoded this many bytes (whole lines) at a time: enough lines that
# per-block costs vanish, few enough that a block's Python objects stay small.
BLOCK_BYTES = 16 * 2**20
# The staged folder lives for one run: lz4 writes it faster than zstd and is read back
# at twice the speed (10,000 benchmark accounts: 0.97 / 0.69 s against 1.14 / 1.46 s,
# 99 MiB against 70), which the graph stage and every chunk pay.
STAGING_COMPRESSION = "lz4"


class OnError(StrEnum):
    """What a bad JSON record does to the run."""

    skip = "skip"
    fail = "fail"


@dataclass
class BatchInput:
    """A checked table folder and the ids of its accounts, in profile order."""

    source: Path
    folder: Path
    account_ids: pa.Array
    invalid: int = 0
    staged: bool = False

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def cleanup(self) -> None:
        """Remove the staged copy of JSON input (a given folder is never touched)."""
        if self.staged:
            shutil.rmtree(self.folder, ignore_errors=True)


def open_batch_input(source: Path, *, stage_in: Path, on_error: OnError = OnError.skip,
                     report: Report = lambda _line: None,
                     chunk_accounts: int = 2_000) -> BatchInput:
    """Check ``source`` and return it as a table folder (JSON is staged under ``stage_in``)."""
    source = Path(source)
    fmt = detect_format(source)
    if fmt == "tables":
        check_table_folder(source)
        return BatchInput(source, source, _account_ids(source))
    folder = Path(tempfile.mkdtemp(prefix=".trueclout-batch-", dir=stage_in))
    try:
        if fmt == "jsonl":
            invalid = _stage_json_lines(source, folder, on_error, report, chunk_accounts)
        else:
            invalid = _stage_json(source, folder, on_error, report, chunk_accounts)
        return BatchInput(source, folder, _account_ids(folder), invalid=invalid, staged=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def check_table_folder(folder: Path) -> None:
    """Refuse a folder whose files are not Parquet or lack a contract column, naming it."""
    for name in TABLE_NAMES:
        file = folder / f"{name}.parquet"
        if not file.exists():
            if name == "profiles":
                raise UserError(f"{folder}: a table folder needs profiles.parquet")
            continue
        try:
            schema = pq.read_schema(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UserError(f"{file}: not a readable Parquet file ({exc})") from None
        expected = SCHEMAS[name]
        missing = [f.name for f in expected if not f.nullable and f.name not in schema.names]
        if missing:
            raise UserError(f"{file}: table {name!r} lacks required column(s) {missing}")
        for f in expected:
            if f.name in schema.names and not _castable(schema.field(f.name).type, f.type):
                raise UserError(f"{file}: column {f.name!r} is {schema.field(f.name).type}, "
                                f"expected {f.type}")


def _castable(got: pa.DataType, expected: pa.DataType) -> bool:
    if same_type(got, expected):
        return True
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(got)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(got)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(got) or pa.types.is_integer(got)
    if pa.types.is_string(expected):
        return pa.types.is_string(got) or pa.types.is_large_string(got)
    return got == expected


def _account_ids(folder: Path) -> pa.Array:
    ids = pq.read_table(folder / "profiles.parquet", columns=["account_id"]).column("account_id")
    ids = ids.cast(pa.string()).combine_chunks()
    if ids.null_count:
        raise UserError(f"{folder / 'profiles.parquet'}: account_id is empty on "
                        f"{ids.null_count} row(s)")
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        first = repeated[0]
        raise UserError(f"{folder}: account_id {first['values'].as_py()!r} appears "
                        f"{first['counts'].as_py()} times; one snapshot per account")
    return ids


def _stage_json(source: Path, folder: Path, on_error: OnError, report: Report,
                chunk_accounts: int) -> int:
    """Parse every record once; write the valid ones as tables; return the bad count."""
    invalid = 0
    batch: list = []
    valid = 0
    with TablesWriter(folder, compression=STAGING_COMPRESSION) as writer:
        for record in iter_records(source):
            if record.error is not None:
                invalid += 1
                if invalid <= MAX_REPORTED_LINES:
                    for line in record.error.lines():
                        report(f"{source}:{line}")
                continue
            assert record.snapshot is not None
            valid += 1
            batch.append(record.snapshot)
            if len(batch) >= chunk_accounts:
                writer.write(snapshots_to_tables(batch))
                batch = []
        if batch:
            writer.write(snapshots_to_tables(batch))
    return _staged(source, invalid, valid, on_error, report)


def _staged(source: Path, invalid: int, valid: int, on_error: OnError, report: Report) -> int:
    """The end of staging: the count of bad records, or the run refused."""
    if invalid > MAX_REPORTED_LINES:
        report(f"{source}: ... and {invalid - MAX_REPORTED_LINES} more invalid record(s)")
    if invalid and on_error == OnError.fail:
        raise UserError(f"{source}: {invalid} invalid record(s) (listed above); nothing was "
                        "scored (use --on-error skip to score the valid ones)")
    if not valid:
        raise UserError(f"{source}: no valid snapshot to score")
    return invalid


def _stage_json_lines(source: Path, folder: Path, on_error: OnError, report: Report,
                      chunk_accounts: int) -> int:
    """Decode blocks of lines (``batch.decode``); write the valid snapshots by chunks of
    ``chunk_accounts``, as the record-by-record path did; return the bad count."""
    invalid = valid = 0
    with TablesWriter(folder, compression=STAGING_COMPRESSION) as writer:
        chunks = _Chunker(writer, chunk_accounts)
        before = 0  # lines of the blocks already read
        for block in _decoded_blocks(source):
            for error in block.errors:
                invalid += 1
                if invalid <= MAX_REPORTED_LINES:
                    for line in replace(error, line=error.line + before).lines():
                        report(f"{source}:{line}")
            if block.tables is not None:
                chunks.add(block.tables, block.counts)
            valid += block.valid
            before += block.lines
        chunks.flush()
    return _staged(source, invalid, valid, on_error, report)


def _decoded_blocks(source: Path) -> Iterator[Decoded]:
    """Blocks of about ``BLOCK_BYTES`` (whole lines) decoded in file order; their line
    numbers count from each block's first line."""
    with source.open("rb") as fh:
        while True:
            data = fh.read(BLOCK_BYTES)
            if not data:
                return
            if not data.endswith(b"\n"):
                data += fh.readline()  # up to the end of the line (or of the file)
            yield decode_data(data)


class _Chunker:
    """Writes the staged tables in chunks of exactly ``size`` accounts (the last smaller)."""

    def __init__(self, writer: TablesWriter, size: int) -> None:
        self.writer, self.size = writer, size
        self.parts: list[tuple[SnapshotTables, dict[str, np.ndarray]]] = []
        self.accounts = 0

    def add(self, tables: SnapshotTables, counts: dict[str, np.ndarray]) -> None:
        self.parts.append((tables, counts))
        self.accounts += len(counts["profiles"])
        while self.accounts >= self.size:
            self._write(self.size)

    def flush(self) -> None:
        if self.accounts:
            self._write(self.accounts)

    def _write(self, n: int) -> None:
        if len(self.parts) == 1:
            tables, counts = self.parts[0]
        else:
            tables = concat_tables((t for t, _ in self.parts), combine=False)  # written next
            counts = {name: np.concatenate([c[name] for _, c in self.parts])
                      for name in TABLE_NAMES}
        self.writer.write(slice_accounts(tables, counts, 0, n)[0])
        self.accounts -= n
        self.parts = [slice_accounts(tables, counts, n, n + self.accounts)] \
            if self.accounts else []
