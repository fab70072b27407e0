"""Mutual-amplification cores: accounts that repost each other, and keep doing so as a group.

A reciprocal pair (A reposts B and B reposts A) is ordinary between friends;
a ring is many accounts that all reciprocate with each other.  The k-core of
the reciprocal-repost graph separates the two: a pair or a chain has core
number 1, a fully reciprocating ring of ``k`` members has core number
``k - 1``.  Each account gets the size of the connected piece of its own
highest core (0 below ``min_core``) and the share of its reposts that were
reciprocated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from trueclout.features.graph.build import AMPLIFYING, EngagementEdges
from trueclout.features.graph.sparse import component_labels, core_numbers, reciprocal


class MutualParams(BaseModel):
    """Knobs of mutual-core detection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_core: int = Field(2, ge=1, description="core number from which a core is reported")


@dataclass(frozen=True)
class MutualCores:
    """Per account: core number and core size in the reciprocal-repost graph, and reciprocity.

    ``repost_share`` is NaN for an account that made no reposts: no data is not evidence.
    """

    core_number: np.ndarray
    core_size: np.ndarray
    partners: np.ndarray
    repost_share: np.ndarray


def reciprocal_graph(edges: EngagementEdges) -> sp.csr_array:
    """Symmetric 0/1 matrix of account pairs that each reposted (or quoted) the other."""
    return reciprocal(_repost_matrix(edges))


def _repost_matrix(edges: EngagementEdges) -> sp.csr_array:
    """Actor x target counts of reposts and quotes (what ``pair_matrix`` with that mask gives).

    Built from the amplifying edges alone, so neither the shared pair index nor
    an edge-long weight array is needed.
    """
    amplifying = np.isin(edges.kind, AMPLIFYING)
    n = edges.n_accounts
    actor, target = edges.actor[amplifying], edges.target[amplifying]
    del amplifying
    matrix = sp.csr_array((np.ones(len(actor)), (actor, target)), shape=(n, n))
    matrix.sum_duplicates()  # counts per pair, column indices sorted within each row
    return matrix


def _core_sizes(mutual: sp.csr_array, core: np.ndarray, min_core: int) -> np.ndarray:
    """Size of the connected piece of each node's own highest core (0 below ``min_core``)."""
    size = np.zeros(len(core), dtype=np.int64)
    for level in np.unique(core[core >= min_core]):
        labels, count = component_labels(mutual, core >= level)
        at_level = core == level
        piece_sizes = np.bincount(labels[labels >= 0], minlength=count)
        size[at_level] = piece_sizes[labels[at_level]]
    return size


def find_mutual_cores(edges: EngagementEdges, params: MutualParams | None = None) -> MutualCores:
    """Core structure of reciprocal reposts, and each account's reciprocated share of reposts."""
    params = params or MutualParams()
    n = edges.n_accounts
    # One repost matrix serves both the reciprocal graph and the shares.
    reposts = _repost_matrix(edges)
    mutual = reciprocal(reposts)
    core = core_numbers(mutual)
    made = np.asarray(reposts.sum(axis=1)).ravel()
    # Reposts along pairs whose other direction also carries reposts.
    returned = np.asarray(reposts.multiply(mutual).sum(axis=1)).ravel()
    share = np.full(n, np.nan)
    np.divide(returned, made, out=share, where=made > 0)
    return MutualCores(
        core_number=core,
        core_size=_core_sizes(mutual, core, params.min_core),
        partners=np.diff(mutual.indptr).astype(np.int64),
        repost_share=share,
    )
