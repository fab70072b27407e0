"""Sparse-graph building blocks shared by the ring detectors (blocks, lockstep, mutual cores).

Every routine here works on whole index arrays at once: a peeling round is
one gather over the removed nodes' rows and one ``np.subtract.at``, never a
Python step per node or edge, so the cost of a peel is proportional to the
edges it touches.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def factorize(values: pa.Array | pa.ChunkedArray | np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Codes into the *sorted* distinct values, so the numbering never depends on row order."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64), arr
    if pa.types.is_integer(arr.type) and arr.null_count == 0:
        dense = _factorize_dense_ints(arr.to_numpy())
        if dense is not None:
            codes, uniques = dense
            return codes, pa.array(uniques, arr.type)
    encoded = pc.dictionary_encode(arr)
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return rank[codes], dictionary.take(pa.array(order))


def _factorize_dense_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes of non-negative integers by one pass over a presence table (no hashing, no sort).

    Only when the largest id is within a few times the number of values, so
    the table stays small; None otherwise.
    """
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 4 * len(values) + 1_000:
        return None
    present = np.zeros(high + 1, dtype=bool)
    present[values] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return rank[values], np.flatnonzero(present)


_ROW_BLOCK = 1 << 20


def trim_heap() -> None:
    """Return freed C-heap pages to the system (glibc ``malloc_trim``; a no-op elsewhere).

    Many small arrays freed together (per-chunk parts, a detector's pieces)
    otherwise stay in the process's resident set.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def sort_order(keys: np.ndarray) -> np.ndarray:
    """Stable ``argsort`` of non-negative integer keys.

    When the keys leave room, row numbers are packed into their low bits and
    the values sorted (numpy's vectorised sort is about ten times faster than
    ``argsort`` on ten million keys); ties keep row order either way.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bits = max(1, (n - 1).bit_length())
    low, high = int(keys.min()), int(keys.max())
    if low < 0 or high >= 1 << (64 - bits):
        return np.argsort(keys, kind="stable")
    # In place: one n-long buffer besides the keys, not four.
    packed = keys.astype(np.uint64)
    packed <<= np.uint64(bits)
    for start in range(0, n, _ROW_BLOCK):  # row numbers a block at a time: no n-long arange
        stop = min(n, start + _ROW_BLOCK)
        packed[start:stop] |= np.arange(start, stop, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64((1 << bits) - 1)
    return packed.view(np.int64)  # row numbers < 2**63: the same values as int64


def lex_order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """Stable order by (major, minor) for non-negative integer columns: two packed sorts."""
    by_minor = sort_order(minor)
    return by_minor[sort_order(major[by_minor])]


def run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Index where each run of equal values begins, in an already sorted array."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def group_codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Code of each key (0..k-1, in key order) and k, like ``np.unique(return_inverse=True)``."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = sort_order(keys)
    ordered = keys[order]
    new = np.empty(n, dtype=bool)  # where a run of equal keys begins
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    # The sorted keys are done with: reuse their buffer when it is int64.
    rank = np.cumsum(new, dtype=np.int64, out=ordered if ordered.dtype == np.int64 else None)
    del new, ordered
    rank -= 1
    count = int(rank[-1]) + 1
    codes = np.empty(n, dtype=np.int64)
    codes[order] = rank
    return codes, count


def row_entries(matrix: sp.csr_array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of every stored entry in ``rows`` (one gather, no loop)."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=matrix.indices.dtype), np.zeros(0, dtype=matrix.data.dtype)
    # Position of each wanted entry: its row's start plus its rank inside the row.
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    positions = offsets + np.arange(total)
    return matrix.indices[positions], matrix.data[positions]


def subtract_rows(degree: np.ndarray, matrix: sp.csr_array, rows: np.ndarray) -> None:
    """``degree -= matrix[rows].sum(axis=0)`` in place, touching only those rows' entries."""
    cols, vals = row_entries(matrix, rows)
    if len(cols):
        np.subtract.at(degree, cols, vals)


def threshold_core(
    matrix: sp.csr_array, threshold: float, alive: np.ndarray | None = None
) -> np.ndarray:
    """Mask of the largest subgraph where every node's (weighted) degree is >= ``threshold``.

    The classic k-core cascade, vectorised by rounds: all nodes under the
    threshold go at once, their edges are subtracted, and the cascade repeats.
    ``matrix`` must be symmetric.
    """
    n = matrix.shape[0]
    alive = np.ones(n, dtype=bool) if alive is None else alive.copy()
    degree = np.asarray(matrix @ alive.astype(matrix.dtype), dtype=np.float64)
    # Rounding noise from repeated subtraction must not drop a node exactly at the threshold.
    limit = threshold - 1e-9 * max(1.0, abs(threshold))
    while True:
        drop = np.flatnonzero(alive & (degree < limit))
        if len(drop) == 0:
            return alive
        alive[drop] = False
        subtract_rows(degree, matrix, drop)


def core_numbers(adjacency: sp.csr_array) -> np.ndarray:
    """Core number of every node of an unweighted symmetric graph (batched peeling)."""
    n = adjacency.shape[0]
    core = np.zeros(n, dtype=np.int64)
    if n == 0:
        return core
    binary = adjacency.copy()
    binary.data = np.ones_like(binary.data, dtype=np.float64)
    degree = np.asarray(binary.sum(axis=1)).ravel()
    alive = np.ones(n, dtype=bool)
    level = 0.0
    while alive.any():
        level = max(level, float(degree[alive].min()))
        while True:
            drop = np.flatnonzero(alive & (degree <= level + 0.5))
            if len(drop) == 0:
                break
            core[drop] = int(round(level))
            alive[drop] = False
            subtract_rows(degree, binary, drop)
    return core


def component_labels(adjacency: sp.csr_array, members: np.ndarray) -> tuple[np.ndarray, int]:
    """Component label of each node of the subgraph induced by ``members`` (-1 outside)."""
    n = adjacency.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(members)
    if len(idx) == 0:
        return labels, 0
    sub = adjacency[idx][:, idx]
    count, sub_labels = connected_components(sub, directed=False)
    labels[idx] = sub_labels
    return labels, int(count)


def reciprocal(matrix: sp.csr_array) -> sp.csr_array:
    """1 on each pair stored both ways (a->b and b->a), 0 elsewhere: who engaged whom back.

    Every stored entry counts as a link, whatever its value.
    """
    binary = sp.csr_array((np.ones_like(matrix.data), matrix.indices, matrix.indptr),
                          shape=matrix.shape)
    both = binary.multiply(binary.T).tocsr()
    both.eliminate_zeros()
    return both


def symmetric(matrix: sp.csr_array) -> sp.csr_array:
    """``M + Mᵀ`` with the diagonal dropped, sorted indices: the undirected view of a digraph."""
    both = (matrix + matrix.T).tocsr()
    if both.diagonal().any():
        coo = both.tocoo()
        off_diagonal = coo.row != coo.col
        both = sp.csr_array(
            (coo.data[off_diagonal], (coo.row[off_diagonal], coo.col[off_diagonal])),
            shape=matrix.shape,
        )
    both.eliminate_zeros()
    return both


def truss_filter(adjacency: sp.csr_array, support: int) -> sp.csr_array:
    """Edges of an unweighted symmetric graph that lie in >= ``support`` triangles, iterated.

    The k-truss: an edge survives only if its two ends share at least
    ``support`` neighbours among surviving edges.  Unlike a k-core it does not
    let one node chain two unrelated dense groups together.
    """
    graph = adjacency.copy().tocsr()
    graph.data = np.ones_like(graph.data, dtype=np.float64)
    if support <= 0:
        return graph
    while graph.nnz:
        common = (graph @ graph).multiply(graph).tocsr()
        weak = graph.nnz - int((common.data >= support).sum())
        if weak == 0:
            return graph
        common.data = (common.data >= support).astype(np.float64)
        common.eliminate_zeros()
        graph = common
    return graph
