"""The batch graph stage: lean chunked ingestion gives the ring table ``detect_rings`` gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trueclout.features.graph.ingest import collect_edges, edge_part
from trueclout.features.graph.table import detect_rings, detect_rings_in_edges
from trueclout.io import write_tables
from trueclout.service.batch.graph import RingRows, detect_rings_streaming


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    from trueclout.training.sim.world import simulate_world

    return simulate_world(600, seed=3, followers_sample=5, engagement_scale=0.2,
                          history_days=30)


def _assert_same_ring_table(expected: pa.Table, got: pa.Table) -> None:
    assert got.column_names == expected.column_names
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        a, b = expected.column(name), got.column(name)
        if pa.types.is_floating(a.type):
            assert a.is_null().equals(b.is_null()), name
            assert np.allclose(a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False),
                               rtol=1e-9, atol=1e-12, equal_nan=True), name
        else:
            assert a.equals(b), name


@pytest.mark.parametrize("chunk", [600, 157])
def test_lean_ingestion_equals_the_whole_table_path(world, chunk: int) -> None:  # type: ignore[no-untyped-def]
    expected = detect_rings(world.tables)
    assert (expected.column("ring_block_size").to_numpy() > 0).any()  # rings are there to find
    ids = world.tables.profiles.column("account_id").to_pylist()
    chunks = [world.tables.select_accounts(ids[i:i + chunk]) for i in range(0, len(ids), chunk)]
    _assert_same_ring_table(expected, detect_rings_in_edges(collect_edges(chunks)))


def test_streaming_from_a_folder_reads_only_what_the_graph_needs(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_tables(world.tables, tmp_path / "tables")
    ring, stats = detect_rings_streaming(tmp_path / "tables", chunk_accounts=200)
    _assert_same_ring_table(detect_rings(world.tables), ring)
    edges = world.tables.engagements.num_rows + world.tables.reposts_made.num_rows
    assert stats.edges == edges
    # Integer codes and per-chunk id pools: far below the ~100+ bytes per edge of string rows.
    assert stats.bytes_per_edge < 60


def test_a_repost_seen_from_both_sides_counts_once(world) -> None:  # type: ignore[no-untyped-def]
    made = world.tables.reposts_made
    assert made.num_rows > 0
    part = edge_part(world.tables)
    edges = collect_edges([world.tables])
    assert edges.n_edges < part.n_edges  # duplicates (and self-engagements) dropped


def test_ring_rows_follow_the_input_order() -> None:
    ring = pa.table({"account_id": ["b", "c", "x"], "ring_block_size": [3, 0, 5]})
    rows = RingRows.of(ring, pa.array(["c", "a", "b"]))
    assert rows.n_found == 2
    assert rows.rows(0, 2).column("account_id").to_pylist() == ["c"]
    assert rows.rows(1, 3).to_pylist() == [{"account_id": "b", "ring_block_size": 3}]
    assert RingRows.of(None, pa.array(["a"])).rows(0, 1) is None
