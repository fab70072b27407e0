"""Writing a synthetic world to a folder: tables, labels, snapshots and a manifest.

Layout (all optional parts are named in ``manifest.json``)::

    profiles.parquet ... reposts_made.parquet   the six contract tables (--format parquet/both)
    snapshots.jsonl                             one AccountSnapshot per line (--format jsonl/both)
    labels.parquet                              one row per account (sim.tables.LABEL_SCHEMA)
    follower_labels.parquet                     one row per sampled follower
    manifest.json                               seed, size, parameters, sha256 of every file

Everything is written chunk by chunk, so memory is bounded by the chunk.
Output is byte-identical for the same seed and options: no wall clock, no
unordered containers, and the manifest's keys are sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from trueclout.contract import AccountSnapshot
from trueclout.errors import UserError
from trueclout.files import write_atomic
from trueclout.io import LABELS_FILE, TablesWriter, write_jsonl
from trueclout.tables import TABLE_NAMES, tables_to_snapshots
from trueclout.training.sim.params import GENERATOR_VERSION, WorldParams
from trueclout.training.sim.world import (
    DEFAULT_CHUNK_ACCOUNTS,
    FOLLOWER_LABEL_SCHEMA,
    LABEL_SCHEMA,
    World,
    check_chunk,
    check_size,
    iter_world,
    world_params,
)

FORMATS = ("parquet", "jsonl", "both")
FOLLOWER_LABELS_FILE = "follower_labels.parquet"
SNAPSHOTS_FILE = "snapshots.jsonl"
MANIFEST_FILE = "manifest.json"


class _LabelWriters:
    """The two label tables, appended chunk by chunk."""

    def __init__(self, out: Path) -> None:
        self.labels = pq.ParquetWriter(out / LABELS_FILE, LABEL_SCHEMA, compression="zstd")
        self.followers = pq.ParquetWriter(out / FOLLOWER_LABELS_FILE, FOLLOWER_LABEL_SCHEMA,
                                          compression="zstd")

    def write(self, world: World) -> None:
        self.labels.write_table(world.labels)
        self.followers.write_table(world.follower_labels)

    def close(self) -> None:
        self.labels.close()
        self.followers.close()


def check_request(n_accounts: int, seed: int, formats: str,
                  chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS, **options: object) -> WorldParams:
    """Refuse a bad request before any work starts (UserError naming the option)."""
    if formats not in FORMATS:
        raise UserError(f"format: must be one of {', '.join(FORMATS)} (got {formats!r})")
    check_size(n_accounts, seed)
    check_chunk(chunk_accounts)
    return world_params(options.pop("params", None), **options)  # type: ignore[arg-type]


def write_world(
    out: Path,
    n_accounts: int,
    seed: int,
    *,
    formats: str = "parquet",
    chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS,
    on_chunk: Callable[[int], None] | None = None,
    **options: object,
) -> dict:
    """Generate and write a world; returns the manifest (also written as manifest.json)."""
    params = check_request(n_accounts, seed, formats, chunk_accounts, **options)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"out: {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for stale in (*[f"{t}.parquet" for t in TABLE_NAMES], SNAPSHOTS_FILE, MANIFEST_FILE):
        (out / stale).unlink(missing_ok=True)  # never leave files of an earlier run behind

    chunks = iter_world(n_accounts, seed, params=params, chunk_accounts=chunk_accounts,
                        on_chunk=on_chunk)
    labels = _LabelWriters(out)
    tables = TablesWriter(out) if formats in ("parquet", "both") else None
    counts = dict.fromkeys(TABLE_NAMES, 0)

    def consume() -> Iterator[World]:
        for world in chunks:
            labels.write(world)
            if tables is not None:
                tables.write(world.tables)
            for name, table in world.tables.items():
                counts[name] += table.num_rows
            yield world

    try:
        if formats in ("jsonl", "both"):
            write_jsonl(_snapshots(consume()), out / SNAPSHOTS_FILE)
        else:
            for _ in consume():
                pass
    finally:
        labels.close()
        if tables is not None:
            tables.close()

    written = [LABELS_FILE, FOLLOWER_LABELS_FILE]
    if tables is not None:
        written += [f"{t}.parquet" for t in TABLE_NAMES]
    if formats in ("jsonl", "both"):
        written.append(SNAPSHOTS_FILE)
    manifest = {
        "generator": "trueclout.training.sim.world",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "accounts": n_accounts,
        "chunk_accounts": chunk_accounts,
        "format": formats,
        "parameters": params.model_dump(mode="json"),
        "rows": counts,
        "files": _digests(out, written),
    }
    write_atomic(out / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _snapshots(worlds: Iterator[World]) -> Iterator[AccountSnapshot]:
    for world in worlds:
        yield from tables_to_snapshots(world.tables)


def _digests(out: Path, names: list[str]) -> dict[str, dict[str, int | str]]:
    files = {}
    for name in sorted(names):
        path = out / name
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
        files[path.name] = {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}
    return files
