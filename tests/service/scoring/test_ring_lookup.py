"""The ring table at scoring time: looked up in memory, reloaded when the file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from trueclout.features.graph.table import RING_TABLE_SCHEMA, save_ring_table
from trueclout.service.scoring.ring_lookup import RingTableLookup


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ring_table(rows: dict[str, int]) -> pa.Table:
    """A valid ring table: ``rows`` maps account id to its block size (0: none)."""
    ids = sorted(rows)
    n = len(ids)
    size = [rows[a] for a in ids]
    columns = {
        "account_id": ids,
        "ring_block_id": [0 if s else None for s in size],
        "ring_block_size": size,
        "ring_block_density": [0.9 if s else 0.0 for s in size],
        "ring_block_suspiciousness": [1.0] * n,
        "ring_block_prompt_share": [None] * n,
        "ring_block_share": [0.5] * n,
        "lockstep_group_id": [None] * n,
        "lockstep_group_size": [0] * n,
        "lockstep_score": [0.0] * n,
        "lockstep_received_share": [None] * n,
        "mutual_core_number": [0] * n,
        "mutual_core_size": [0] * n,
        "mutual_repost_share": [None] * n,
        "ring_judged": [True] * n,
    }
    return pa.table({f.name: pa.array(columns[f.name], f.type) for f in RING_TABLE_SCHEMA},
                    schema=RING_TABLE_SCHEMA)


def sizes(table: pa.Table | None) -> dict[str, int]:
    assert table is not None
    return dict(zip(table.column("account_id").to_pylist(),
                    table.column("ring_block_size").to_pylist(), strict=True))


def test_rows_of_the_accounts_asked_for_in_their_order(tmp_path: Path) -> None:
    path = save_ring_table(ring_table({"a": 5, "b": 0, "c": 7}), tmp_path / "rings.parquet")
    lookup = RingTableLookup(path)
    assert lookup.loaded and lookup.accounts == 3
    found = lookup.rows_for(["c", "zz", "a"])
    assert found is not None and found.column("account_id").to_pylist() == ["c", "a"]
    assert lookup.rows_for(["nobody"]).num_rows == 0  # type: ignore[union-attr]


def test_no_file_means_no_table(tmp_path: Path) -> None:
    lookup = RingTableLookup(tmp_path / "missing.parquet")
    assert not lookup.loaded and lookup.rows_for(["a"]) is None
    assert RingTableLookup(None).rows_for(["a"]) is None


def test_a_replaced_file_is_picked_up_after_the_check_interval(tmp_path: Path) -> None:
    clock = Clock()
    path = save_ring_table(ring_table({"a": 5}), tmp_path / "rings.parquet")
    lookup = RingTableLookup(path, check_seconds=10, clock=clock)
    save_ring_table(ring_table({"a": 9, "b": 3}), path)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse file-system clocks
    clock.now = 5
    assert sizes(lookup.rows_for(["a", "b"])) == {"a": 5}  # not checked again yet
    clock.now = 11
    assert sizes(lookup.rows_for(["a", "b"])) == {"a": 9, "b": 3}


def test_a_removed_file_makes_graph_features_unknown_again(tmp_path: Path) -> None:
    clock = Clock()
    path = save_ring_table(ring_table({"a": 5}), tmp_path / "rings.parquet")
    lookup = RingTableLookup(path, check_seconds=1, clock=clock)
    path.unlink()
    clock.now = 2
    assert lookup.rows_for(["a"]) is None


def test_an_unreadable_file_keeps_the_table_in_service(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    path = save_ring_table(ring_table({"a": 5}), tmp_path / "rings.parquet")
    lookup = RingTableLookup(path, check_seconds=1, clock=clock)
    path.write_bytes(b"not parquet")
    clock.now = 2
    assert sizes(lookup.rows_for(["a"])) == {"a": 5}
    assert "not loaded" in caplog.text
