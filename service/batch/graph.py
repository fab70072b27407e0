"""The global graph stage of a batch run, and the ring rows each chunk is scored with.

Rings are only visible across accounts, so the stage runs once over the
whole input before any chunk is scored (or a precomputed ring table is
loaded).  In-process it streams the input a chunk at a time, reading only
the columns the graph needs, and keeps compact integer parts
(``features.graph.ingest``); on Dask the same parts are built on the
workers, gathered, merged and detected on the client.

``RingRows`` then aligns the ring table with the input's account order
once, so each chunk's rows are a slice: no lookup over the whole ring table
(which also holds every outside actor) per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.graph.ingest import (
    GRAPH_COLUMNS,
    GRAPH_DICTIONARY_COLUMNS,
    EdgePart,
    edge_part,
    merge_edge_parts,
)
from trueclout.io import iter_table_chunks

if TYPE_CHECKING:
    from trueclout.tables import SnapshotTables

StageHook = Callable[[str, float], None]
# The graph stage reads these tables; the others are read as ids only (cheap).
GRAPH_TABLES = ("profiles", "posts", "engagements", "reposts_made")
IDS_ONLY = {"followers": ("account_id",), "follower_history": ("account_id",)}


def read_graph_chunks(folder: Path, chunk_accounts: int) -> Iterable:
    """The input's chunks with only the graph's columns read (others empty or null)."""
    return iter_table_chunks(folder, chunk_accounts=chunk_accounts, columns=GRAPH_COLUMNS,
                             dictionary=GRAPH_DICTIONARY_COLUMNS)


def read_graph_tables(data: Path) -> SnapshotTables:
    """Every account's graph tables as one ``SnapshotTables`` (followers and history empty),
    from a table folder or a JSON (Lines) file: what ``detect_rings`` needs in one piece."""
    from trueclout.tables import SCHEMAS, SnapshotTables, concat_tables

    chunks = [
        SnapshotTables(**{name: chunk[name] if name in GRAPH_TABLES
                          else SCHEMAS[name].empty_table() for name in SCHEMAS})
        for chunk in iter_table_chunks(data, columns=IDS_ONLY)
    ]
    return concat_tables(chunks)


def detect_rings_in_parts(parts: list[EdgePart], *,
                          on_stage: StageHook | None = None) -> pa.Table:
    """Ring table from gathered edge parts (in-process or from Dask workers).

    Empties ``parts`` once they are merged, so detection does not hold both.
    """
    import time

    from trueclout.features.graph.table import detect_rings_taking_edges

    started = time.perf_counter()
    # Drops each part once it is copied out; the holder lets detection drop the edges
    # before it assembles the table.
    holder = [merge_edge_parts(parts, consume=True)]
    pa.default_memory_pool().release_unused()
    if on_stage is not None:
        on_stage("merge edges", time.perf_counter() - started)
    return detect_rings_taking_edges(holder, on_stage=on_stage)


def detect_rings_streaming(folder: Path, *, chunk_accounts: int,
                           on_chunk: Callable[[int], None] | None = None,
                           on_start: Callable[[], None] | None = None,
                           on_stage: StageHook | None = None) -> tuple[pa.Table, EdgeStats]:
    """Ring table over every account of a table folder, read chunk by chunk.

    ``on_chunk(accounts)`` after each chunk is read, ``on_start()`` when
    detection starts, ``on_stage(stage, seconds)`` after each of its stages.
    """
    parts = []
    for chunk in read_graph_chunks(folder, chunk_accounts):
        parts.append(edge_part(chunk))
        if on_chunk is not None:
            on_chunk(chunk.num_accounts)
    stats = EdgeStats.of(parts)
    pa.default_memory_pool().release_unused()  # the readers' buffers, before the merge
    if on_start is not None:
        on_start()
    return detect_rings_in_parts(parts, on_stage=on_stage), stats


@dataclass(frozen=True)
class EdgeStats:
    """How big the gathered graph was: edge rows (before de-duplication) and bytes held."""

    edges: int
    part_bytes: int

    @classmethod
    def of(cls, parts: Iterable[EdgePart]) -> EdgeStats:
        parts = list(parts)
        return cls(sum(p.n_edges for p in parts), sum(p.nbytes for p in parts))

    @property
    def bytes_per_edge(self) -> float:
        return self.part_bytes / self.edges if self.edges else 0.0


@dataclass(frozen=True)
class RingRows:
    """The ring table's rows in the input's account order (null rows: not in the graph)."""

    aligned: pa.Table | None

    @classmethod
    def of(cls, ring: pa.Table | None, account_ids: pa.Array) -> RingRows:
        if ring is None:
            return cls(None)
        position = pc.index_in(account_ids, value_set=ring.column("account_id").combine_chunks())
        return cls(ring.take(position).combine_chunks())

    def rows(self, start: int, stop: int) -> pa.Table | None:
        """Rows of the accounts at input positions ``[start, stop)`` that have one."""
        if self.aligned is None:
            return None
        part = self.aligned.slice(start, stop - start)
        present = np.asarray(part.column("account_id").is_valid().to_numpy(
            zero_copy_only=False), dtype=bool)
        return part.filter(pa.array(present))

    @property
    def n_found(self) -> int:
        if self.aligned is None:
            return 0
        return len(self.aligned) - self.aligned.column("account_id").null_count
