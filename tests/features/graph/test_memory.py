"""The memory-lean graph stage computes exactly what the plain one does."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.graph.test_table import world
from trueclout.features.graph.build import AMPLIFYING, EngagementEdges, pair_matrix
from trueclout.features.graph.ingest import edge_part, merge_edge_parts
from trueclout.features.graph.mutual import _repost_matrix
from trueclout.features.graph.sparse import group_codes, sort_order
from trueclout.features.graph.table import detect_rings_in_edges, detect_rings_taking_edges
from trueclout.tables import SnapshotTables

FIELDS = ("actor", "target", "post", "at", "lag", "kind")


def _parts(tables: SnapshotTables, size: int) -> list:
    ids = tables.profiles.column("account_id").to_pylist()
    return [edge_part(tables.select_accounts(ids[i:i + size])) for i in range(0, len(ids), size)]


def _assert_same_edges(a: EngagementEdges, b: EngagementEdges) -> None:
    assert a.accounts.equals(b.accounts)
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


@pytest.mark.parametrize("size", [1, 3, 100])
def test_a_consuming_merge_empties_the_parts_and_gives_the_same_edges(size: int) -> None:
    tables = world(1)
    expected = merge_edge_parts(_parts(tables, size))
    parts = _parts(tables, size)
    got = merge_edge_parts(parts, consume=True)
    assert parts == []
    _assert_same_edges(expected, got)


def test_detection_that_takes_the_edges_lets_them_go_and_matches() -> None:
    edges = merge_edge_parts(_parts(world(2), 2))
    expected = detect_rings_in_edges(edges)
    holder = [edges]
    got = detect_rings_taking_edges(holder)
    assert holder == []
    assert got.equals(expected, check_metadata=True)


def test_the_mutual_repost_matrix_is_the_masked_pair_matrix() -> None:
    edges = merge_edge_parts(_parts(world(0), 4))
    expected = pair_matrix(edges, mask=np.isin(edges.kind, AMPLIFYING))
    got = _repost_matrix(edges)
    assert (got != expected).nnz == 0
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)


@pytest.mark.parametrize("n", [0, 1, 2, 1000, (1 << 20) + 7])
def test_sort_order_and_group_codes_match_numpy(n: int) -> None:
    keys = np.random.default_rng(n).integers(0, max(1, n // 3), n)
    assert np.array_equal(sort_order(keys), np.argsort(keys, kind="stable"))
    codes, count = group_codes(keys)
    uniques, inverse = np.unique(keys, return_inverse=True)
    assert count == len(uniques)
    assert np.array_equal(codes, inverse)
