"""Mutual-amplification cores: reciprocal reposts, their cores, and the reciprocated share."""

from __future__ import annotations

import itertools

import numpy as np

from trueclout.features.graph.build import EngagementEdges, edges_from_arrays
from trueclout.features.graph.mutual import MutualParams, find_mutual_cores


def build(pairs: list[tuple[str, str, str]]) -> EngagementEdges:
    """Edges from (actor, target, kind) triples, one post per row."""
    actor, target, kind = (list(c) for c in zip(*pairs, strict=True))
    posts = [f"{t}/p{i}" for i, t in enumerate(target)]
    return edges_from_arrays(actor, target, posts, list(range(len(actor))), kind)


def by_name(edges: EngagementEdges, values: np.ndarray) -> dict[str, float]:
    return dict(zip(edges.accounts.to_pylist(), values.tolist(), strict=True))


def test_accounts_reposting_each_other_form_a_mutual_core() -> None:
    ring = [f"r{i}" for i in range(5)]
    rows = [(a, b, "repost") for a, b in itertools.permutations(ring, 2)]
    rows += [("r0", "x", "repost"), ("x", "r0", "repost")]  # one reciprocal friend outside
    rows += [("fan", "r1", "repost")]
    edges = build(rows)
    cores = find_mutual_cores(edges)
    number, size = by_name(edges, cores.core_number), by_name(edges, cores.core_size)
    assert all(number[m] == 4 and size[m] == 5 for m in ring)
    assert number["x"] == 1 and size["x"] == 0  # a pair is no core at min_core=2
    assert number["fan"] == 0 and size["fan"] == 0


def test_core_size_is_the_piece_of_the_accounts_own_core() -> None:
    square = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    rows = [(x, y, "repost") for x, y in square] + [(y, x, "repost") for x, y in square]
    rows += [("a", "e", "repost"), ("e", "a", "repost")]  # a tail off the 2-core
    edges = build(rows)
    cores = find_mutual_cores(edges, MutualParams(min_core=1))
    size = by_name(edges, cores.core_size)
    assert [size[v] for v in "abcd"] == [4, 4, 4, 4]
    assert size["e"] == 5  # its own (1-)core holds the square too


def test_likes_are_not_reposts() -> None:
    edges = build([("a", "b", "like"), ("b", "a", "like"),
                   ("a", "b", "quote"), ("b", "a", "reply")])
    cores = find_mutual_cores(edges)
    assert cores.core_number.tolist() == [0, 0]
    assert cores.partners.tolist() == [0, 0]


def test_repost_share_counts_reciprocated_reposts_and_is_nan_without_reposts() -> None:
    rows = [("a", "b", "repost"), ("a", "b", "repost"), ("a", "c", "repost"),
            ("b", "a", "quote"), ("c", "a", "like")]
    edges = build(rows)
    share = by_name(edges, find_mutual_cores(edges).repost_share)
    assert share["a"] == 2 / 3  # two of its three reposts went to b, who reposts it back
    assert share["b"] == 1.0
    assert np.isnan(share["c"])  # c made no reposts: no data, not zero


def test_empty_graph() -> None:
    edges = edges_from_arrays([], [], None, np.zeros(0, dtype=np.int64))
    cores = find_mutual_cores(edges)
    assert len(cores.core_number) == len(cores.repost_share) == 0
