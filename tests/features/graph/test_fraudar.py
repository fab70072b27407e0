"""Dense blocks: constructed graphs with known rings, hard negatives, and the peeling guarantee."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from trueclout.features.graph.build import EngagementEdges, edges_from_arrays
from trueclout.features.graph.fraudar import BlockParams, find_dense_blocks, peel_densest

HOUR = 3600


class GraphBuilder:
    """Engagement rows for constructed cases: account names, one post id per (author, n)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows: list[tuple[str, str, str, int, str, int]] = []

    def engage(self, actor: str, author: str, post: int, published: int, lag: float,
               kind: str = "repost") -> None:
        self.rows.append((actor, author, f"{author}/p{post}", published + int(lag), kind,
                          published))

    def ring(self, members: list[str], posts: int = 3, density: float = 1.0,
             start: int = 0) -> None:
        """Each member's posts engaged by the others within two minutes."""
        for m_i, author in enumerate(members):
            for p in range(posts):
                published = start + (m_i * posts + p) * 7 * HOUR
                for actor in members:
                    if actor != author and self.rng.random() < density:
                        self.engage(actor, author, p, published, self.rng.uniform(20, 120))

    def background(self, accounts: list[str], n_edges: int, posts: int = 5) -> None:
        """Random engagements at human delays (hours)."""
        for _ in range(n_edges):
            actor, author = self.rng.choice(accounts, 2, replace=False)
            p = int(self.rng.integers(posts))
            published = int(self.rng.integers(0, 30 * 24)) * HOUR
            lag = self.rng.lognormal(np.log(3 * HOUR), 1)
            self.engage(str(actor), str(author), p, published, lag)

    def edges(self) -> EngagementEdges:
        actor, target, post, at, kind, created = (list(c) for c in zip(*self.rows, strict=True))
        return edges_from_arrays(actor, target, post, at, kind, post_created=created)


def blocks_as_sets(edges: EngagementEdges, params: BlockParams | None = None) -> list[set[str]]:
    blocks = find_dense_blocks(edges, params)
    names = np.array(edges.accounts.to_pylist())
    return [set(names[blocks.label == b]) for b in range(blocks.count)]


def people(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def test_planted_clique_in_sparse_background_is_one_block() -> None:
    g = GraphBuilder(1)
    crowd = people("user", 300)
    g.background(crowd, 1500)
    ring = people("ring", 8)
    g.ring(ring)
    assert blocks_as_sets(g.edges()) == [set(ring)]


def test_two_rings_are_returned_as_two_blocks_densest_first() -> None:
    g = GraphBuilder(2)
    crowd = people("user", 200)
    g.background(crowd, 800)
    big, small = people("big", 10), people("small", 6)
    g.ring(big)
    g.ring(small, start=3 * HOUR)
    # Ordinary engagement between the rings must not weld them into one block.
    for a, b in zip(big[:3], small[:3], strict=True):
        g.engage(a, b, 0, 0, 4 * HOUR)
        g.engage(b, a, 0, 0, 5 * HOUR)
    assert blocks_as_sets(g.edges()) == [set(big), set(small)]


def test_camouflaged_ring_is_still_found_without_the_popular_accounts() -> None:
    g = GraphBuilder(3)
    crowd = people("fan", 400)
    stars = people("star", 5)
    for star in stars:
        for fan in crowd[:300]:
            g.engage(fan, star, int(g.rng.integers(4)), 0, g.rng.lognormal(np.log(2 * HOUR), 1))
    ring = people("ring", 7)
    g.ring(ring)
    # Camouflage: every member engages every star's posts, three times as often as its ring.
    for member in ring:
        for star in stars:
            for p in range(4):
                g.engage(member, star, p, 0, g.rng.uniform(30, 600))
    assert blocks_as_sets(g.edges()) == [set(ring)]


def test_popular_account_with_thousands_of_quick_fans_is_not_a_block() -> None:
    g = GraphBuilder(4)
    fans = people("fan", 3000)
    for fan in fans:
        for p in range(3):
            g.engage(fan, "celebrity", p, p * 24 * HOUR, g.rng.uniform(5, 300))
    # The celebrity reposts a few fans back: still a star, not a block.
    for fan in fans[:20]:
        g.engage("celebrity", fan, 0, 0, 60)
    assert blocks_as_sets(g.edges()) == []


def test_community_engaging_over_hours_is_not_a_block() -> None:
    g = GraphBuilder(5)
    community = people("friend", 12)
    for m_i, author in enumerate(community):
        for p in range(4):
            published = (m_i * 4 + p) * 24 * HOUR
            for actor in community:
                if actor != author:
                    g.engage(actor, author, p, published, g.rng.uniform(2 * HOUR, 6 * HOUR))
    assert blocks_as_sets(g.edges()) == []


def test_the_same_community_engaging_within_minutes_is_a_block() -> None:
    g = GraphBuilder(5)
    community = people("friend", 12)
    g.ring(community, posts=4)
    assert blocks_as_sets(g.edges()) == [set(community)]


def test_small_rings_below_the_minimum_size_are_not_reported() -> None:
    g = GraphBuilder(6)
    g.ring(people("pair", 3))
    assert blocks_as_sets(g.edges(), BlockParams(min_block_size=4)) == []
    assert blocks_as_sets(g.edges(), BlockParams(min_block_size=3)) == [set(people("pair", 3))]


def test_block_measures_describe_the_block() -> None:
    g = GraphBuilder(7)
    ring = people("ring", 6)
    g.ring(ring, density=1.0)
    blocks = find_dense_blocks(g.edges())
    assert blocks.count == 1
    assert blocks.size.tolist() == [6]
    assert blocks.edge_density[0] == 1.0
    assert blocks.prompt_share[0] == 1.0
    assert blocks.suspiciousness[0] > 0


def test_empty_graph_has_no_blocks() -> None:
    edges = edges_from_arrays([], [], [], np.zeros(0, dtype=np.int64))
    blocks = find_dense_blocks(edges)
    assert blocks.count == 0 and len(blocks.label) == 0


def _density(matrix: sp.csr_array, members: np.ndarray) -> float:
    idx = np.flatnonzero(members)
    if len(idx) == 0:
        return 0.0
    return float(matrix[idx][:, idx].sum() / 2 / len(idx))


def test_peeling_keeps_the_clique_and_drops_its_tail() -> None:
    n = 9
    dense = np.zeros((n, n))
    dense[:5, :5] = 1 - np.eye(5)
    for a in range(4, n - 1):  # a path hanging off the clique
        dense[a, a + 1] = dense[a + 1, a] = 1
    inside, density = peel_densest(sp.csr_array(dense), 0.0)
    assert np.flatnonzero(inside).tolist() == [0, 1, 2, 3, 4]
    assert density == 2.0


weighted_graphs = st.integers(2, 9).flatmap(
    lambda n: st.lists(st.floats(0.0, 3.0), min_size=n * (n - 1) // 2,
                       max_size=n * (n - 1) // 2).map(lambda w, n=n: (n, w))
)


@settings(max_examples=80, deadline=None)
@given(weighted_graphs, st.sampled_from([0.0, 0.05, 0.3]))
def test_peeling_is_within_two_of_the_densest_subgraph(case: tuple[int, list], eps: float) -> None:
    """Batched peeling keeps the greedy guarantee: density >= optimum / (2 (1 + eps))."""
    n, weights = case
    dense = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    dense[iu] = weights
    dense += dense.T
    matrix = sp.csr_array(dense)
    inside, density = peel_densest(matrix, eps)
    assert np.isclose(density, _density(matrix, inside))
    best = max(
        _density(matrix, np.isin(np.arange(n), subset))
        for k in range(1, n + 1)
        for subset in itertools.combinations(range(n), k)
    )
    assert density >= best / (2 * (1 + eps)) - 1e-9
