"""Lockstep groups: actors that hit the same posts within minutes of each other, again and again.

In the spirit of CopyCatch (Beutel et al., WWW 2013): one shared quick
engagement is chance, the same accounts arriving together on post after post
is coordination.  Two actors *co-occur* on a post when their first
engagements with it fall within ``window_seconds``.  A pair is in lockstep
when it co-occurred on at least ``min_shared_posts`` posts of accounts where
it was *mostly* together: per target account, at least ``min_sync_ratio`` of
that account's posts both engaged.  So ring members who also engage the same
celebrities at ordinary times (camouflage) keep their ring targets, while a
genuine community that engages everything over hours, or loyal fans who now
and then land in the same minutes on their idol's posts, do not qualify.

Groups are the connected pieces of the lockstep-pair graph after two
filters: a truss (a pair is kept only while its actors share at least
``min_group_size - 2`` lockstep partners), so one actor in step with a few
members of two rings cannot chain them together; and cohesion (a member needs
``min_partner_share`` of its group's median partner count), so outsiders at
the edge of a large ring are let go.

A pod can also run its rounds late: the link is dropped in the pod's chat an
hour after the post and every member engages then, loosely, not within
minutes of each other.  A second pass (``late_rounds``) looks for such pods
among the accounts no plain group holds.  Late people land close together by
chance now and then, and real followers retweet a popular account in late
cascades, so this pass does not pair actors by timing; it asks for the two
marks of a pod:

- it serves itself: candidates are groups that engage each other both ways
  (each pair at least ``min_shared_posts`` posts each way, then the same
  truss and cohesion filters).  A pod exists to engage its members' posts; a
  cascade of retweeters serves one account outside the group;
- it runs in rounds: on a *round clock* (seconds up to the knee
  ``window_seconds / ln(round_ratio)``, about 18 minutes, logarithmic after
  it), the group's engagements of its own members' posts typically come
  after the knee, and at least ``min_round_share`` of their timing variation
  lies between posts (one start per post: an intraclass correlation,
  ``kernels.rounds``) with an F-test p-value of at most ``max_round_p_value``.
  People returning to a community's posts in their own time share no start.

Late groups are numbered after the plain ones; their lockstep score is read
on the round clock (together: within a factor ``round_ratio`` of the same
delay).

Co-occurrence is counted exactly: entries are sorted by (post, time) once and
each is paired with the later entries of its post inside the window.  An
entry whose window holds more than ``max_bucket_actors`` other actors is left
out: a viral moment is not evidence of coordination, and it would make the
pair count quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from trueclout.features.graph.build import EngagementEdges, engaged_mask
from trueclout.features.graph.sparse import component_labels, group_codes, lex_order, truss_filter
from trueclout.features.kernels.rounds import between_cell_test

# Bounds on the rows materialised at once, so memory stays flat as graphs grow.
_PAIR_BUDGET = 2_000_000
_GATHER_BUDGET = 4_000_000


class LockstepParams(BaseModel):
    """Knobs of lockstep detection; the defaults are what the evaluation measured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_seconds: float = Field(600.0, gt=0, description="how close in time counts as together")
    min_shared_posts: int = Field(3, ge=1, description="posts a pair must hit together")
    min_sync_ratio: float = Field(
        0.6, ge=0, le=1, description="per target account: share of common posts hit together"
    )
    min_group_size: int = Field(
        4, ge=2, description="smallest group; each pair needs min_group_size - 2 shared partners"
    )
    min_partner_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="a member needs this share of its group's median number of lockstep partners",
    )
    max_bucket_actors: int = Field(
        100, ge=2, description="an engagement with more actors within the window is ignored"
    )
    late_rounds: bool = Field(True, description="also look for pods whose rounds come late")
    round_ratio: float = Field(
        1.75, gt=1, description="after the knee: how many times as long after the post still "
        "counts as together (a late round)"
    )
    min_round_share: float = Field(
        0.15, ge=0, le=1, description="a late group needs this share of its members' timing "
        "variation to lie between posts (one start per post: a round)"
    )
    max_round_p_value: float = Field(
        1e-4, gt=0, le=1, description="and that share must be this unlikely by chance (F-test)"
    )

    @property
    def knee_seconds(self) -> float:
        """Where the round clock turns from seconds to logarithmic: the slopes meet there."""
        return self.window_seconds / float(np.log(self.round_ratio))


@dataclass(frozen=True)
class LockstepGroups:
    """Group id of each account (-1: none), its group's size, and its lockstep score.

    The score is the share of the posts an actor engaged that it engaged within
    ``window_seconds`` of another member of its group.
    """

    label: np.ndarray
    size: np.ndarray
    score: np.ndarray

    @property
    def count(self) -> int:
        return int(self.label.max(initial=-1)) + 1


@dataclass(frozen=True)
class _Entries:
    """First engagement of each (actor, known post), sorted by (post, time).

    ``at`` is the wall time (the round clock in the late-round pass);
    ``clock`` the round clock (``round_clock``) when it was asked for.
    """

    actor: np.ndarray
    post: np.ndarray
    at: np.ndarray
    target: np.ndarray
    clock: np.ndarray | None = None


def round_clock(lag: np.ndarray, knee: float) -> np.ndarray:
    """Seconds since the post up to ``knee``, then ``knee * (1 + ln(lag / knee))``, as int64.

    Equal steps on this clock are equal seconds early on and equal ratios
    later, so one window finds a round at ten seconds and one at three hours.
    Unknown lags read as 0 (before the knee: never in a late round).
    """
    lag = np.maximum(np.nan_to_num(lag, nan=0.0), 0.0)
    late = lag > knee
    clock = lag.copy()
    clock[late] = knee * (1.0 + np.log(lag[late] / knee))
    return np.rint(clock).astype(np.int64)


def first_engagements(edges: EngagementEdges, knee: float | None = None) -> _Entries:
    """Each actor's earliest engagement with each known post, sorted by (post, time).

    With ``knee``, each entry also carries its round clock.  Within one post
    the lag is the time less a constant, so the first by time is the first
    on the clock too.
    """
    known = edges.post >= 0
    actor, post, at = edges.actor[known], edges.post[known], edges.at[known]
    target = edges.target[known]
    clock = None if knee is None else round_clock(edges.lag[known], knee)
    if len(actor) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Entries(empty, empty, empty, empty, None if knee is None else empty)
    del known
    order = lex_order(post, at)  # a stable sort: the same order as by (post, at - at.min())
    # One column at a time, so only one extra edge-long array is alive at once.
    actor = actor[order]
    post = post[order]
    at = at[order]
    target = target[order]
    clock = None if clock is None else clock[order]
    del order
    # A stable re-sort by (post, actor) keeps each actor's visits to a post in time order.
    by_actor = lex_order(post, actor)
    a, p = actor[by_actor], post[by_actor]
    same = a[1:] == a[:-1]
    del a
    same &= p[1:] == p[:-1]
    del p
    first = np.ones(len(actor), dtype=bool)
    first[by_actor[1:][same]] = False
    del by_actor, same
    if first.all():
        return _Entries(actor, post, at, target, clock)
    return _Entries(actor[first], post[first], at[first], target[first],
                    None if clock is None else clock[first])


def _window_keys(entries: _Entries, window: float) -> np.ndarray:
    """One sorted int64 per entry such that ``key + window`` never reaches the next post."""
    if len(entries.at) == 0:
        return np.zeros(0, dtype=np.int64)
    t = entries.at - entries.at.min()
    span = int(t.max()) + int(np.ceil(window)) + 1
    if int(entries.post.max()) >= (2**62) // span:
        raise ValueError("too many posts over too long a time span for lockstep keys")
    return entries.post.astype(np.int64) * span + t  # posts may come as int32


def _neighbours(key: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """For each entry: first and one-past-last entry of the same post within ``window``."""
    lo = np.searchsorted(key, key - int(window), side="left")
    hi = np.searchsorted(key, key + int(window), side="right")
    return lo, hi


def _pair_counts(actor: np.ndarray, key: np.ndarray, window: float, n: int) -> sp.csr_array:
    """Upper-triangular counts of posts each actor pair hit within ``window`` of each other.

    Pairs are generated from each entry to the later entries of its post in
    the window (one sort, no grid), in chunks so memory stays bounded.
    """
    hi = np.searchsorted(key, key + int(window), side="right")  # as _neighbours, lo unused
    later = hi - np.arange(len(key)) - 1
    del hi
    counts = sp.csr_array((n, n), dtype=np.int64)
    for start, stop in _chunks(later, _PAIR_BUDGET):
        rows = np.arange(start, stop)
        first = np.repeat(rows, later[rows])
        second = first + 1 + _ranks(later[rows])
        a, b = actor[first], actor[second]
        chunk = sp.csr_array(
            (np.ones(len(a), dtype=np.int64), (np.minimum(a, b), np.maximum(a, b))), shape=(n, n)
        )
        chunk.sum_duplicates()
        counts = counts + chunk
    return counts


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _accompanied(key: np.ndarray, window: float) -> np.ndarray:
    """Entries with another entry of the same post within ``window`` (keys sorted)."""
    close = np.diff(key) <= window
    out = np.zeros(len(key), dtype=bool)
    out[1:] |= close
    out[:-1] |= close
    return out


def _cooccurrence(
    entries: _Entries, params: LockstepParams
) -> tuple[np.ndarray, sp.csr_array]:
    """Actors worth pairing and, per pair, the posts they hit within the window of each other."""
    window = params.window_seconds
    key = _window_keys(entries, window)
    lonely = ~_accompanied(key, window)
    actor, key = entries.actor[~lonely], key[~lonely]
    lo, hi = _neighbours(key, window)
    # A crowd bigger than the cap is a viral moment, not evidence of coordination.
    calm = (hi - lo - 1) <= params.max_bucket_actors
    actor, key = actor[calm], key[calm]
    # An actor needs min_shared_posts posts on which someone was within the window of it.
    while len(key):
        accompanied = _accompanied(key, window)
        support = np.bincount(actor[accompanied], minlength=int(actor.max()) + 1)
        keep = accompanied & (support[actor] >= params.min_shared_posts)
        if keep.all():
            break
        actor, key = actor[keep], key[keep]
    actors = np.unique(actor)
    row = np.full(int(actors.max(initial=-1)) + 1, -1, dtype=np.int64)
    row[actors] = np.arange(len(actors))
    counts = _pair_counts(row[actor], key, window, len(actors))
    return actors, counts.tocsr()


def _chunks(sizes: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges whose summed sizes stay near ``budget`` (at least one)."""
    ends = np.cumsum(sizes)
    bounds, start = [], 0
    while start < len(sizes):
        before = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, before + budget, side="right")))
        bounds.append((start, stop))
        start = stop
    return bounds


def _synced_on_targets(
    entries: _Entries, actors: np.ndarray, i: np.ndarray, j: np.ndarray, params: LockstepParams
) -> np.ndarray:
    """For each candidate pair: posts hit together on the accounts where they were mostly together.

    Per (pair, target account): of the target's posts both actors engaged, how
    many they engaged within the window of each other.  Only targets where
    that share reaches ``min_sync_ratio`` count, so a pair that also engages
    the same celebrities at ordinary times (camouflage) keeps its ring
    targets, while fans who now and then land in the same minutes on their
    favourite account's posts, or a community that engages over hours, do not.
    """
    row_of = np.full(int(entries.actor.max()) + 1, -1, dtype=np.int64)
    row_of[actors] = np.arange(len(actors))
    rows = row_of[entries.actor]
    inside = rows >= 0
    rows = rows[inside]
    posts = entries.post[inside]
    n_posts = int(entries.post.max()) + 1
    post_target = np.zeros(n_posts, dtype=np.int64)
    post_target[entries.post] = entries.target
    # Times shifted to start at 1: a stored zero would vanish from the sparse matrix.
    when = entries.at[inside] - entries.at.min() + 1
    times = sp.csr_array((when, (rows, posts)), shape=(len(actors), n_posts))
    times.sum_duplicates()
    synced = np.zeros(len(i), dtype=np.int64)
    n_targets = int(entries.target.max()) + 1
    row_sizes = np.diff(times.indptr)
    for start, stop in _chunks(row_sizes[i] + row_sizes[j], _GATHER_BUDGET):
        ti, tj = times[i[start:stop]], times[j[start:stop]]
        mine = ti.multiply(tj.astype(bool)).tocsr()
        theirs = tj.multiply(ti.astype(bool)).tocsr()
        mine.sort_indices()
        theirs.sort_indices()
        pair = start + np.repeat(np.arange(stop - start), np.diff(mine.indptr))
        together = np.abs(mine.data - theirs.data) <= params.window_seconds
        cell, n_cells = group_codes(pair * n_targets + post_target[mine.indices])
        hits = np.bincount(cell, weights=together, minlength=n_cells)
        shared = np.bincount(cell, minlength=n_cells)
        cell_pair = np.zeros(n_cells, dtype=np.int64)
        cell_pair[cell] = pair
        mostly = hits >= params.min_sync_ratio * shared
        synced += np.bincount(cell_pair[mostly], weights=hits[mostly],
                              minlength=len(i)).astype(np.int64)
    return synced


def _lockstep_score(entries: _Entries, label: np.ndarray, window: float) -> np.ndarray:
    """Per account: share of its engaged posts hit within the window by a fellow group member."""
    n = len(label)
    grouped = label[entries.actor] >= 0
    actor, post, at = entries.actor[grouped], entries.post[grouped], entries.at[grouped]
    group = label[actor]
    order = np.lexsort((at, post, group))
    actor, post, at, group = actor[order], post[order], at[order], group[order]
    near = (group[1:] == group[:-1]) & (post[1:] == post[:-1]) & (at[1:] - at[:-1] <= window)
    hit = np.zeros(len(actor), dtype=bool)
    hit[1:] |= near
    hit[:-1] |= near
    hits = np.bincount(actor, weights=hit, minlength=n)
    total = np.bincount(entries.actor, minlength=n)
    score = np.zeros(n)
    np.divide(hits, total, out=score, where=(total > 0) & (label >= 0))
    return score


def find_lockstep_groups(
    edges: EngagementEdges, params: LockstepParams | None = None
) -> LockstepGroups:
    """Every group of actors that engaged the same posts together, repeatedly."""
    params = params or LockstepParams()
    n = edges.n_accounts
    entries = first_engagements(edges, params.knee_seconds if params.late_rounds else None)
    label = _groups_in_step(entries, params, n)
    score = _lockstep_score(entries, label, params.window_seconds)
    if params.late_rounds:
        on_clock = _mutual_candidates(entries, label)
        del entries
        late = _round_groups(on_clock, label, params)
        in_late = late >= 0
        label = np.where(in_late, late + label.max(initial=-1) + 1, label)
        # Late members' score is measured on the round clock.
        score = np.where(in_late, _lockstep_score(on_clock, late, params.window_seconds), score)
    sizes = np.bincount(label[label >= 0], minlength=int(label.max(initial=-1)) + 1)
    size = np.where(label >= 0, sizes[np.maximum(label, 0)] if len(sizes) else 0, 0)
    return LockstepGroups(label=label, size=size.astype(np.int64), score=score)


def _groups_in_step(entries: _Entries, params: LockstepParams, n: int) -> np.ndarray:
    """Group id per account (-1: none) of the actors in ``entries`` that move in step."""
    label = np.full(n, -1, dtype=np.int64)
    if len(entries.actor) == 0:
        return label
    actors, count = _cooccurrence(entries, params)
    count.data[count.data < params.min_shared_posts] = 0
    count.eliminate_zeros()
    pairs = count.tocoo()
    if pairs.nnz:
        synced = _synced_on_targets(entries, actors, pairs.row, pairs.col, params)
        locked = synced >= params.min_shared_posts
        i, j = pairs.row[locked], pairs.col[locked]
        m = len(actors)
        graph = sp.csr_array((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(m, m))
        graph = truss_filter(graph, params.min_group_size - 2)
        local = _cohesive_groups(graph, params.min_partner_share)
        label = _renumber(local, actors, n, params.min_group_size)
    return label


def _mutual_candidates(entries: _Entries, plain: np.ndarray) -> _Entries:
    """Entries that could belong to a pod engaging itself, with the round clock as time.

    Only accounts that are engaged as well as engaging can engage each other
    both ways (outside actors never are), and plain groups are already found.
    All of a kept actor's entries stay, so its lockstep score reads them all.
    """
    if entries.clock is None:
        raise ValueError("late rounds need first_engagements(..., knee) with the round clock")
    keep = engaged_mask(entries.target, len(plain))[entries.actor] & (plain[entries.actor] < 0)
    return _Entries(entries.actor[keep], entries.post[keep], entries.clock[keep],
                    entries.target[keep])


def _round_groups(on_clock: _Entries, plain: np.ndarray, params: LockstepParams) -> np.ndarray:
    """Group id per account (-1: none) of the pods that engage each other in late rounds.

    Candidates are groups that engage each other both ways (each pair, at
    least ``min_shared_posts`` posts each way; truss and cohesion as for
    plain groups) among accounts no ``plain`` group holds.  A candidate is
    kept when its engagements of its own members' posts typically come after
    the knee and run in rounds: the between-post share of their round clocks
    (``kernels.rounds``) reaches ``min_round_share`` with a p-value of at most
    ``max_round_p_value``.
    """
    n = len(plain)
    free = (plain[on_clock.actor] < 0) & (plain[on_clock.target] < 0)
    actor, target = on_clock.actor[free], on_clock.target[free]
    engaged = sp.csr_array((np.ones(len(actor)), (actor, target)), shape=(n, n))
    engaged.sum_duplicates()  # distinct posts of the target each actor engaged
    both_ways = engaged.minimum(engaged.T).tocsr()
    both_ways.data[both_ways.data < params.min_shared_posts] = 0
    both_ways.eliminate_zeros()
    nodes = np.flatnonzero(np.diff(both_ways.indptr) > 0)
    label = np.full(n, -1, dtype=np.int64)
    if len(nodes) < params.min_group_size:
        return label
    graph = both_ways[nodes][:, nodes]
    graph.data[:] = 1.0
    graph = truss_filter(graph, params.min_group_size - 2)
    label = _renumber(_cohesive_groups(graph, params.min_partner_share), nodes, n,
                      params.min_group_size)
    n_groups = int(label.max(initial=-1)) + 1
    if n_groups == 0:
        return label
    inner = (label[on_clock.actor] >= 0) & (label[on_clock.actor] == label[on_clock.target])
    group, post = label[on_clock.actor[inner]], on_clock.post[inner]
    clock = on_clock.at[inner].astype(np.float64)
    cell, n_cells = group_codes(group * (int(on_clock.post.max()) + 1) + post)
    group_of_cell = np.zeros(n_cells, dtype=np.int64)
    group_of_cell[cell] = group
    share, p_value = between_cell_test(clock, cell, group_of_cell, n_groups, min_cell=3,
                                       min_cells=3)
    in_rounds = (np.nan_to_num(share) >= params.min_round_share) & (
        np.nan_to_num(p_value, nan=1.0) <= params.max_round_p_value)
    late = _medians(group, clock, n_groups) > params.knee_seconds
    return _keep_groups(label, late & in_rounds)


def _keep_groups(label: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``label`` with only the groups where ``kept``, renumbered in their order."""
    new_id = np.where(kept, np.cumsum(kept) - 1, -1)
    return np.where(label >= 0, new_id[np.maximum(label, 0)], -1)


def _cohesive_groups(graph: sp.csr_array, min_share: float) -> np.ndarray:
    """Connected groups of the lockstep graph, without members at their edge.

    An outsider who chances into step with a few members of a large group
    has a handful of partners where members have dozens: members with fewer
    than ``min_share`` of their group's median partner count are let go, and
    the groups recomputed, until none is.
    """
    alive = np.diff(graph.indptr) > 0
    while True:
        labels, count = component_labels(graph, alive)
        if count == 0:
            return labels
        inside = np.flatnonzero(alive)
        sub = graph[inside][:, inside]
        partners = np.diff(sub.indptr).astype(np.float64)
        median = _medians(labels[inside], partners, count)
        weak = partners < min_share * median[labels[inside]]
        if not weak.any():
            return labels
        alive[inside[weak]] = False


def _medians(group: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Median of ``values`` per group id 0..count-1 (lower median for even sizes)."""
    order = np.lexsort((values, group))
    sizes = np.bincount(group, minlength=count)
    starts = np.cumsum(sizes) - sizes
    return values[order][starts + (sizes - 1) // 2]


def _renumber(local: np.ndarray, actors: np.ndarray, n: int, min_size: int) -> np.ndarray:
    """Account-level group ids, largest group first, small groups dropped."""
    label = np.full(n, -1, dtype=np.int64)
    inside = local >= 0
    if not inside.any():
        return label
    sizes = np.bincount(local[inside])
    first_member = np.full(len(sizes), np.iinfo(np.int64).max)
    np.minimum.at(first_member, local[inside], actors[inside])
    kept = np.flatnonzero(sizes >= min_size)
    kept = kept[np.lexsort((first_member[kept], -sizes[kept]))]
    new_id = np.full(len(sizes), -1, dtype=np.int64)
    new_id[kept] = np.arange(len(kept))
    label[actors[inside]] = new_id[local[inside]]
    return label
