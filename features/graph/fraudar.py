"""Dense blocks of accounts that amplify each other: greedy peeling in the spirit of FRAUDAR.

Hooi et al. (KDD 2016) score a node set ``S`` by ``f(S) / |S|``, the edge
weight inside ``S`` per node, and find a dense ``S`` by repeatedly peeling the
node that contributes least.  Two ideas make it hard to fool:

* **column weighting**: an engagement of a target with ``d`` distinct engagers
  weighs ``1 / log(d + c)``, so engaging popular accounts (camouflage) adds
  little, and a celebrity with thousands of independent fans is never dense;
* **greedy peeling** keeps the densest prefix, so the block's boundary is where
  outsiders stop adding density.

Here the graph is account <-> account: ring members are both actors and
targets, and a ring amplifies *both ways, promptly*.  So a pair's link counts
only when each side engaged the other within ``prompt_seconds`` of a post at
least once (or at an unknown time); its weight is ``w_ab + w_ba``, where
``w_ab`` grows with how many of b's posts a engaged and how fast
(``closeness``), damped by ``log1p`` and column-weighted.  One-way links (fans,
camouflage on popular accounts, purchased engagement) and slow two-way links
(a genuine community, engaging over hours) carry no weight.

Peeling is batched so it runs as numpy rounds rather than a heap: each round
drops every node whose degree is at most ``max(density, (1 + eps) * min
degree)``.  Dropping nodes at or below the density never lowers it, and the
``(1 + eps)`` rule is the approximate greedy order.  Before peeling, a weighted
core cascade discards every node too light to belong to any block, and each
connected component is peeled on its own.  A peeled block is split where its
links are far weaker than its typical link, members peeled too early are
re-attached, and each piece is judged (size, edge density, share of prompt
engagement).  Several blocks come from removing each block found and peeling
the rest again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from trueclout.features.graph.build import EngagementEdges
from trueclout.features.graph.sparse import (
    component_labels,
    subtract_rows,
    symmetric,
    threshold_core,
)


class BlockParams(BaseModel):
    """Knobs of dense-block detection; the defaults are what the evaluation measured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_seconds: float = Field(900.0, gt=0, description="time scale of a prompt engagement")
    slow_weight: float = Field(
        0.05, ge=0, le=1, description="weight of an engagement long after the post, vs 1 at once"
    )
    unknown_lag_weight: float = Field(
        0.5, ge=0, le=1, description="weight of an engagement whose post time is unknown"
    )
    column_offset: float = Field(5.0, gt=0, description="c in FRAUDAR's 1 / log(degree + c)")
    min_core_weight: float = Field(
        0.8, gt=0, description="weighted degree a node needs to be a block candidate"
    )
    peel_epsilon: float = Field(0.05, ge=0, le=1, description="batched-peeling slack")
    min_block_size: int = Field(4, ge=2, description="smallest block reported")
    min_edge_density: float = Field(
        0.3, ge=0, le=1, description="share of ordered member pairs with an engagement"
    )
    min_prompt_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of a block's inner engagements within prompt_seconds of the post",
    )
    weak_link_fraction: float = Field(
        0.2, ge=0, le=1, description="links under this share of a block's median link split it"
    )
    attach_fraction: float = Field(
        0.5,
        ge=0,
        le=1,
        description="an outsider whose links into a block reach this share of a member's joins it",
    )
    max_blocks: int = Field(100_000, ge=1, description="most blocks reported (densest first)")


@dataclass(frozen=True)
class DenseBlocks:
    """Block id of each account (-1: none) and, per block, its measures; ids densest first.

    ``prompt_share`` is NaN for a block whose inner engagements have no known post time.
    """

    label: np.ndarray
    suspiciousness: np.ndarray
    edge_density: np.ndarray
    prompt_share: np.ndarray
    size: np.ndarray

    @property
    def count(self) -> int:
        return len(self.size)


def closeness(lag: np.ndarray, params: BlockParams) -> np.ndarray:
    """1 for an engagement at publication, decaying to ``slow_weight`` over ``prompt_seconds``."""
    slow = params.slow_weight
    # In place, in the same order of operations: one edge-long buffer instead of five.
    weight = np.negative(lag, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        weight /= params.prompt_seconds
        np.exp(weight, out=weight)
        weight *= 1.0 - slow
        weight += slow
    weight[np.isnan(lag)] = params.unknown_lag_weight
    return weight


@dataclass(frozen=True)
class PairCounts:
    """Per distinct (actor, target) pair of ``edges.pairs``: engagements, prompt ones, timed ones.

    An engagement of unknown timing (no post time) is neither prompt nor timed.
    """

    count: np.ndarray
    prompt: np.ndarray
    timed: np.ndarray

    @classmethod
    def of(cls, edges: EngagementEdges, params: BlockParams) -> PairCounts:
        timed = ~np.isnan(edges.lag)
        prompt = timed & (edges.lag <= params.prompt_seconds)  # NaN compares False
        pairs = edges.pairs
        return cls(pairs.sums(), pairs.sums(prompt), pairs.sums(timed))

    @property
    def quick(self) -> np.ndarray:
        """Pairs with a prompt engagement, or one of unknown timing (structure alone then)."""
        return self.prompt + self.count - self.timed > 0.5


def amplification_weights(edges: EngagementEdges, params: BlockParams) -> np.ndarray:
    """Per distinct pair: log1p(summed closeness) / log(target's distinct engagers + c)."""
    pairs = edges.pairs
    engagers = np.bincount(pairs.cols, minlength=edges.n_accounts)
    column_weight = 1.0 / np.log(engagers + params.column_offset)
    return np.log1p(pairs.sums(closeness(edges.lag, params))) * column_weight[pairs.cols]


def amplification_matrix(edges: EngagementEdges, params: BlockParams) -> sp.csr_array:
    """Actor x target amplification weights (see ``amplification_weights``)."""
    return edges.pairs.matrix(amplification_weights(edges, params))


def link_weights(edges: EngagementEdges, params: BlockParams, counts: PairCounts
                 ) -> sp.csr_array:
    """The undirected weighted graph that is peeled: ``w_ab + w_ba`` on quick two-way links.

    Only pairs with a prompt engagement go into the matrices, so the work is
    proportional to the prompt part of the graph, not to all of it.
    """
    pairs = edges.pairs
    quick = counts.quick
    one_way = pairs.matrix(quick.astype(np.float64))
    two_way = one_way.multiply(one_way.T).tocsr()
    weights = pairs.matrix(np.where(quick, amplification_weights(edges, params), 0.0))
    links = symmetric(weights).multiply(two_way).tocsr()
    links.eliminate_zeros()
    return links


def peel_densest(sym: sp.csr_array, epsilon: float) -> tuple[np.ndarray, float]:
    """Mask of the densest prefix met while peeling, and its density ``f(S) / |S|``.

    ``sym`` is symmetric with zero diagonal; ``f(S)`` counts each undirected
    edge once.
    """
    n = sym.shape[0]
    degree = np.asarray(sym.sum(axis=1), dtype=np.float64).ravel()
    removed_round = np.full(n, np.iinfo(np.int64).max)
    live = np.arange(n)
    total = degree.sum() / 2.0
    best_density, best_round = (total / n if n else 0.0), -1
    round_no = 0
    while len(live):
        live_degree = degree[live]
        cut = max(total / len(live), (1.0 + epsilon) * live_degree.min())
        dropped = live_degree <= cut * (1.0 + 1e-12)
        drop = live[dropped]
        removed_round[drop] = round_no
        subtract_rows(degree, sym, drop)
        live = live[~dropped]
        total = degree[live].sum() / 2.0
        if len(live) and total / len(live) > best_density * (1.0 + 1e-12):
            best_density, best_round = total / len(live), round_no
        round_no += 1
    return removed_round > best_round, float(best_density)


@dataclass(frozen=True)
class _Part:
    """A connected piece of the candidate graph: its nodes and its matrices over them.

    ``sym`` is the weighted undirected graph that is peeled; ``stats`` are
    directed actor x target matrices (engagement count, prompt count, count
    with a known lag) that judge a peeled block.
    """

    nodes: np.ndarray
    sym: sp.csr_array
    stats: tuple[sp.csr_array, ...]

    def take(self, idx: np.ndarray) -> _Part:
        return _Part(self.nodes[idx], _square(self.sym, idx),
                     tuple(_square(m, idx) for m in self.stats))


def _square(matrix: sp.csr_array, idx: np.ndarray) -> sp.csr_array:
    return matrix[idx][:, idx]


def _groups(labels: np.ndarray, count: int, min_size: int) -> list[np.ndarray]:
    """Node indices of each label with at least ``min_size`` nodes."""
    if count == 0:
        return []
    sizes = np.bincount(labels[labels >= 0], minlength=count)
    members = np.flatnonzero(labels >= 0)
    order = members[np.argsort(labels[members], kind="stable")]
    split = np.split(order, np.cumsum(sizes)[:-1])
    return [g for g in split if len(g) >= min_size]


def _pieces(part: _Part, keep: np.ndarray, params: BlockParams) -> list[_Part]:
    """The connected pieces of ``part[keep]`` that survive the core cascade, large enough."""
    idx = np.flatnonzero(keep)
    if len(idx) < params.min_block_size:
        return []
    rest = part.take(idx)
    core = threshold_core(rest.sym, params.min_core_weight)
    labels, count = component_labels(rest.sym, core)
    return [rest.take(g) for g in _groups(labels, count, params.min_block_size)]


def _candidate_parts(
    sym: sp.csr_array, edges: EngagementEdges, counts: PairCounts, params: BlockParams
) -> list[_Part]:
    """Components of the whole graph's weighted core, each as a small diagonal block."""
    core = threshold_core(sym, params.min_core_weight)
    labels, count = component_labels(sym, core)
    groups = _groups(labels, count, params.min_block_size)
    if not groups:
        return []
    stats = block_statistics(edges, counts, np.concatenate(groups))
    # Permute once so every component is a contiguous diagonal block: slicing is then cheap.
    perm = np.concatenate(groups)
    sym_p = _square(sym, perm)
    stats_p = tuple(_square(m, perm) for m in stats)
    parts = []
    start = 0
    for g in groups:
        window = slice(start, start + len(g))
        parts.append(_Part(perm[window], sym_p[window, window],
                           tuple(m[window, window] for m in stats_p)))
        start += len(g)
    return parts


def _judge(block: _Part, params: BlockParams) -> tuple[float, float, float] | None:
    """(suspiciousness, edge density, prompt share) of a block, or None if it is no ring block."""
    size = len(block.nodes)
    if size < params.min_block_size:
        return None
    count, prompt, timed = block.stats
    edge_density = count.nnz / (size * (size - 1))
    timed_total = timed.sum()
    prompt_share = prompt.sum() / timed_total if timed_total > 0 else float("nan")
    if edge_density < params.min_edge_density:
        return None
    if prompt_share < params.min_prompt_share:  # NaN (no timing known) passes
        return None
    # fsum: exact, so the figure does not depend on the order the accounts came in.
    return math.fsum(block.sym.data) / 2.0 / size, edge_density, prompt_share


def _strong_pieces(block: _Part, params: BlockParams) -> list[np.ndarray]:
    """Pieces of a peeled block held together by links as strong as its typical link.

    Equally dense rings come out of one peel together when a few weaker links
    join them; dropping links under ``weak_link_fraction`` of the block's
    median link separates them, so each is judged on its own.
    """
    if block.sym.nnz == 0:
        return []
    strong = block.sym.copy()
    strong.data[strong.data < params.weak_link_fraction * np.median(block.sym.data)] = 0
    strong.eliminate_zeros()
    labels, count = component_labels(strong, np.ones(strong.shape[0], dtype=bool))
    return _groups(labels, count, params.min_block_size)


def _attach(part: _Part, members: np.ndarray, free: np.ndarray, fraction: float) -> np.ndarray:
    """Members plus the free nodes tied to them as strongly as ``fraction`` of a typical member.

    Peeling order is global: a ring member with one weak link can be peeled
    while a denser community elsewhere is still present, and the densest
    prefix then lacks it.  One pass of re-attachment puts it back.
    """
    inner = np.asarray(part.sym[members][:, members].sum(axis=1)).ravel()
    outside = np.flatnonzero(free)
    if len(outside) == 0 or fraction <= 0:
        return members
    link = np.asarray(part.sym[outside][:, members].sum(axis=1)).ravel()
    joining = outside[link >= fraction * np.median(inner)]
    return np.sort(np.r_[members, joining])


def block_statistics(
    edges: EngagementEdges, counts: PairCounts, nodes: np.ndarray
) -> tuple[sp.csr_array, ...]:
    """Directed matrices of the pairs among ``nodes``: engagements, prompt ones, timed ones."""
    pairs = edges.pairs
    among = np.zeros(edges.n_accounts, dtype=bool)
    among[nodes] = True
    keep = among[pairs.rows] & among[pairs.cols]
    return tuple(pairs.matrix(np.where(keep, v, 0.0))
                 for v in (counts.count, counts.prompt, counts.timed))


def find_dense_blocks(edges: EngagementEdges, params: BlockParams | None = None) -> DenseBlocks:
    """Every dense, prompt block of mutually amplifying accounts, densest first."""
    params = params or BlockParams()
    counts = PairCounts.of(edges, params)
    sym = link_weights(edges, params, counts)
    found: list[tuple[float, float, float, np.ndarray]] = []
    pending = _candidate_parts(sym, edges, counts, params)
    while pending:
        part = pending.pop()
        inside, _ = peel_densest(part.sym, params.peel_epsilon)
        densest = np.flatnonzero(inside)
        claimed = inside.copy()
        for piece in _strong_pieces(part.take(densest), params):
            members = _attach(part, densest[piece], ~claimed, params.attach_fraction)
            claimed[members] = True
            block = part.take(members)
            verdict = _judge(block, params)
            if verdict is not None:
                found.append((*verdict, block.nodes))
        pending.extend(_pieces(part, ~claimed, params))
    # Densest first; ties broken by the smallest member id so the numbering is deterministic.
    found.sort(key=lambda b: (-b[0], int(b[3].min())))
    found = found[: params.max_blocks]
    label = np.full(edges.n_accounts, -1, dtype=np.int64)
    for block_id, block in enumerate(found):
        label[block[3]] = block_id
    return DenseBlocks(
        label=label,
        suspiciousness=np.array([b[0] for b in found], dtype=np.float64),
        edge_density=np.array([b[1] for b in found], dtype=np.float64),
        prompt_share=np.array([b[2] for b in found], dtype=np.float64),
        size=np.array([len(b[3]) for b in found], dtype=np.int64),
    )
