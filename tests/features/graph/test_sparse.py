"""Sparse graph helpers against networkx on small graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from trueclout.features.graph.sparse import (
    core_numbers,
    factorize,
    row_entries,
    symmetric,
    threshold_core,
    truss_filter,
)


def _graph(n: int, edges: list[tuple[int, int]]) -> tuple[sp.csr_array, nx.Graph]:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((a, b) for a, b in edges if a != b)
    rows = [a for a, b in g.edges] + [b for a, b in g.edges]
    cols = [b for a, b in g.edges] + [a for a, b in g.edges]
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return matrix, g


graphs = st.integers(2, 14).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40),
    )
)


@settings(max_examples=60, deadline=None)
@given(graphs)
def test_core_numbers_match_networkx(case: tuple[int, list]) -> None:
    matrix, g = _graph(*case)
    expected = nx.core_number(g)
    assert core_numbers(matrix).tolist() == [expected[v] for v in range(case[0])]


@settings(max_examples=60, deadline=None)
@given(graphs, st.integers(1, 4))
def test_threshold_core_is_the_k_core(case: tuple[int, list], k: int) -> None:
    matrix, g = _graph(*case)
    expected = set(nx.k_core(g, k).nodes)
    assert set(np.flatnonzero(threshold_core(matrix, k))) == expected


@settings(max_examples=60, deadline=None)
@given(graphs, st.integers(3, 5))
def test_truss_filter_is_the_k_truss(case: tuple[int, list], k: int) -> None:
    matrix, g = _graph(*case)
    kept = truss_filter(matrix, k - 2).tocoo()
    got = {(min(a, b), max(a, b)) for a, b in zip(kept.row, kept.col, strict=True)}
    truss = nx.k_truss(g, k)
    expected = {(min(a, b), max(a, b)) for a, b in truss.edges}
    assert got == expected


def test_row_entries_gathers_exactly_those_rows() -> None:
    dense = np.array([[0, 2, 0, 3], [0, 0, 0, 0], [5, 0, 7, 0], [0, 1, 0, 0]], dtype=float)
    matrix = sp.csr_array(dense)
    cols, vals = row_entries(matrix, np.array([2, 0]))
    assert sorted(zip(cols.tolist(), vals.tolist(), strict=True)) == [
        (0, 5.0), (1, 2.0), (2, 7.0), (3, 3.0)
    ]
    cols, vals = row_entries(matrix, np.array([1]))
    assert len(cols) == 0 and len(vals) == 0


def test_factorize_numbers_values_in_sorted_order() -> None:
    codes, values = factorize(pa.array(["b", "a", "c", "a"]))
    assert values.to_pylist() == ["a", "b", "c"]
    assert codes.tolist() == [1, 0, 2, 0]


def test_symmetric_adds_both_directions_and_drops_the_diagonal() -> None:
    matrix = sp.csr_array(np.array([[4.0, 1.0], [2.0, 0.0]]))
    assert symmetric(matrix).toarray().tolist() == [[0.0, 3.0], [3.0, 0.0]]
