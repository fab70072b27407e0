"""Memory-lean ingestion of the engagement graph, one chunk of accounts at a time.

``graph.build.edges_from_tables`` needs every engagement of the snapshot set
in memory at once, as strings, then groups and joins them with Arrow (11.5
GiB at peak was measured for a 100,000-account world).  Here each chunk of
accounts is reduced on its own to an ``EdgePart``: integer codes into the
chunk's own pool of distinct id strings, an int8 kind and int64
microseconds per edge (21 bytes per edge, plus the chunk's distinct ids and
posts: about 40 bytes per edge in all on the simulated worlds;
docs/SCALE.md has the peaks).  Exact duplicates within a chunk are dropped
there.  Parts are picklable and small, so a Dask worker can build one from
its partition and send it to the client.  ``merge_edge_parts`` then numbers
the ids of all parts in sorted order (one hash pass over the pooled distinct
ids and one sort), drops the repost seen from both sides (exact duplicates,
as ``edge_table`` does; only reposts can repeat across chunks, whose rows
hold whole accounts), attaches each post's publication time and builds the
``EngagementEdges`` that ``edges_from_arrays`` would build from those integer
arrays, without its copies (node and post numbers as int32 where they fit).
Because the integer codes follow the sorted id strings, the nodes are
numbered exactly as the string path numbers them, so ``detect_rings_in_edges``
gives the same ring table as ``detect_rings`` on the same data (up to float
rounding, as any change of row order does).

Memory: the merge copies the parts into int32/int64 arrays and drops each
part as it goes (``consume=True``), so the parts and the merged edges are not
all held at once; the batch stage's peak is in docs/SCALE.md and
``benchmarks/batch.py --graph-only``.

Reading only the columns named in ``GRAPH_COLUMNS`` is the caller's job (see
``trueclout.io.iter_table_chunks(columns=..., dictionary=...)``): this module
does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.errors import UserError
from trueclout.features.graph.build import (
    _MICROS,
    KINDS,
    REPOST,
    EngagementEdges,
    _compact,
    _lags,
)
from trueclout.features.graph.sparse import trim_heap
from trueclout.tables import SnapshotTables

# The columns the graph stage reads from each table; the others can stay unread.
GRAPH_COLUMNS: dict[str, tuple[str, ...]] = {
    "profiles": ("account_id",),
    "follower_history": (),
    "followers": (),
    "posts": ("account_id", "post_id", "created_at"),
    "engagements": ("account_id", "actor_id", "post_id", "kind", "at"),
    "reposts_made": ("account_id", "target_account_id", "post_id", "at"),
}
# String columns worth reading dictionary-encoded (Parquet stores them so).
GRAPH_DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "posts": ("account_id",),
    "engagements": ("account_id", "actor_id", "kind"),
    "reposts_made": ("account_id",),
}


@dataclass(frozen=True)
class EdgePart:
    """The edges and posts of one chunk, as codes into the chunk's own distinct ids.

    ``actor``, ``target`` and ``post_owner`` index ``accounts``; ``post`` and
    ``post_id`` index ``posts`` (-1: the edge names no post).  ``at`` and
    ``created`` are microseconds since the epoch (``created`` null-free; posts
    without a time are not kept).
    """

    accounts: pa.Array
    posts: pa.Array
    actor: np.ndarray
    target: np.ndarray
    post: np.ndarray
    kind: np.ndarray
    at: np.ndarray
    post_owner: np.ndarray
    post_id: np.ndarray
    created: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.actor)

    @property
    def nbytes(self) -> int:
        """Memory held by the part (arrays and id pools)."""
        arrays = (self.actor, self.target, self.post, self.kind, self.at, self.post_owner,
                  self.post_id, self.created)
        return sum(a.nbytes for a in arrays) + self.accounts.nbytes + self.posts.nbytes


class _Pool:
    """Distinct strings of one chunk: each column appended gets codes into the pool."""

    def __init__(self) -> None:
        self._pieces: list[pa.Array] = []
        self._size = 0

    def codes(self, column: pa.ChunkedArray | pa.Array, field: str,
              nullable: bool = False) -> np.ndarray:
        """int32 codes of ``column`` (-1 for nulls where ``nullable``)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if column.null_count and not nullable:
            raise UserError(f"{field}: {column.null_count} missing ids")
        encoded = pc.dictionary_encode(column, null_encoding="mask")
        indices = encoded.indices
        codes = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        codes[codes >= 0] += self._size
        self._pieces.append(encoded.dictionary.cast(pa.string()))
        self._size += len(encoded.dictionary)
        return codes.astype(np.int32)

    def array(self) -> pa.Array:
        if not self._pieces:
            return pa.array([], pa.string())
        return pa.concat_arrays(self._pieces)


def _micros(column: pa.ChunkedArray | pa.Array, field: str) -> np.ndarray:
    if column.null_count:
        raise UserError(f"{field}: {column.null_count} missing timestamps")
    if not pa.types.is_timestamp(column.type):
        raise UserError(f"{field}: expected timestamps, got {column.type}")
    micros = pc.cast(pc.cast(column, pa.timestamp("us", tz=column.type.tz)), pa.int64())
    return np.asarray(micros.to_numpy(zero_copy_only=False) if isinstance(micros, pa.Array)
                      else micros.to_numpy(), dtype=np.int64)


def _kind_codes(column: pa.ChunkedArray) -> np.ndarray:
    index = pc.index_in(column.cast(pa.string()) if pa.types.is_dictionary(column.type)
                        else column, value_set=pa.array(KINDS))
    if index.null_count:
        bad = pc.filter(column, pc.is_null(index)).unique().to_pylist()[:5]
        raise UserError(f"engagements.kind: unknown values {bad}; expected one of {list(KINDS)}")
    return index.to_numpy(zero_copy_only=False).astype(np.int8)


def edge_part(tables: SnapshotTables) -> EdgePart:
    """The graph of one chunk of accounts: its engagements, its reposts and its posts."""
    eng, made, posts = tables.engagements, tables.reposts_made, tables.posts
    accounts, post_pool = _Pool(), _Pool()
    actor = np.concatenate([accounts.codes(eng.column("actor_id"), "engagements.actor_id"),
                            accounts.codes(made.column("account_id"), "reposts_made.account_id")])
    target = np.concatenate([
        accounts.codes(eng.column("account_id"), "engagements.account_id"),
        accounts.codes(made.column("target_account_id"), "reposts_made.target_account_id")])
    post = np.concatenate([
        post_pool.codes(eng.column("post_id"), "engagements.post_id", nullable=True),
        post_pool.codes(made.column("post_id"), "reposts_made.post_id", nullable=True)])
    kind = np.concatenate([_kind_codes(eng.column("kind")),
                           np.full(made.num_rows, REPOST, dtype=np.int8)])
    at = np.concatenate([_micros(eng.column("at"), "engagements.at"),
                         _micros(made.column("at"), "reposts_made.at")])
    # Exact duplicates inside the chunk go now (cheap); across chunks only a repost can
    # repeat (the same repost in the reposter's and the engaged account's snapshots).
    keep = _first_of_duplicates(actor, target, post, kind, at)
    timed = posts.filter(pc.is_valid(posts.column("created_at"))) if posts.num_rows else posts
    post_owner = accounts.codes(timed.column("account_id"), "posts.account_id")
    post_id = post_pool.codes(timed.column("post_id"), "posts.post_id")
    return EdgePart(
        accounts=accounts.array(), posts=post_pool.array(),
        actor=actor[keep], target=target[keep], post=post[keep], kind=kind[keep], at=at[keep],
        post_owner=post_owner, post_id=post_id,
        created=_micros(timed.column("created_at"), "posts.created_at"),
    )


def edge_part_from_columns(
    actor: pa.Array, target: pa.Array, post: pa.Array, kind: np.ndarray, at: np.ndarray,
    *, post_owner: pa.Array, post_id: pa.Array, created: np.ndarray,
    deduplicate: bool = True,
) -> EdgePart:
    """The part of edges already in edge form: string ids, ``KINDS`` codes, UTC microseconds.

    What an edge store (the service's database) hands over, rather than
    snapshot tables.  ``post`` may hold nulls (a repost without a post id).
    ``deduplicate=False`` skips dropping exact duplicates inside the part (a
    sort of its edges) for callers whose edges are unique but for reposts seen
    from both sides, which ``merge_edge_parts`` drops anyway.
    """
    accounts, post_pool = _Pool(), _Pool()
    actor_codes = accounts.codes(actor, "edges.actor_id")
    target_codes = accounts.codes(target, "edges.target_id")
    post_codes = post_pool.codes(post, "edges.post_id", nullable=True)
    owner_codes = accounts.codes(post_owner, "posts.account_id")
    post_id_codes = post_pool.codes(post_id, "posts.post_id")
    kind = np.asarray(kind, dtype=np.int8)
    at = np.asarray(at, dtype=np.int64)
    if len(kind) and (kind.min() < 0 or kind.max() >= len(KINDS)):
        raise UserError(f"edges.kind: codes must lie in 0..{len(KINDS) - 1} ({KINDS})")
    keep = (_first_of_duplicates(actor_codes, target_codes, post_codes, kind, at)
            if deduplicate else slice(None))
    return EdgePart(
        accounts=accounts.array(), posts=post_pool.array(),
        actor=actor_codes[keep], target=target_codes[keep], post=post_codes[keep],
        kind=kind[keep], at=at[keep], post_owner=owner_codes, post_id=post_id_codes,
        created=np.asarray(created, dtype=np.int64),
    )


def _global_codes(pools: list[pa.Array]) -> tuple[list[np.ndarray], pa.Array]:
    """Per pool, the rank of each entry among all distinct values (sorted); and those values.

    Ranks are int32 (a pool of more than 2**31 distinct ids would not fit in memory anyway).
    """
    if not pools or sum(len(p) for p in pools) == 0:
        return [np.zeros(len(p), dtype=np.int32) for p in pools], pa.array([], pa.string())
    encoded = pc.dictionary_encode(pa.chunked_array(pools, pa.string()))
    # One hash table over all chunks: every chunk carries the same, complete dictionary.
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    # dictionary_encode drops empty chunks: an empty pool (a part without posts) gets none.
    chunks = iter(encoded.chunks)
    per_pool = [rank[next(chunks).indices.to_numpy(zero_copy_only=False)] if len(p)
                else np.zeros(0, dtype=np.int32) for p in pools]
    del encoded, rank
    return per_pool, dictionary.take(pa.array(order))


def _remap(codes: np.ndarray, ranks: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = ranks[codes[i]]``, -1 where ``codes[i]`` is -1."""
    known = codes >= 0
    if known.all():
        np.take(ranks, codes, out=out)
        return
    out[:] = -1
    out[known] = ranks[codes[known]]


def merge_edge_parts(parts: Iterable[EdgePart], *, consume: bool = False) -> EngagementEdges:
    """All parts as one edge list, numbered like ``edges_from_tables`` numbers it.

    With ``consume`` (``parts`` must then be a list), each part is dropped from
    the list as soon as its edges are copied out, so the parts and the merged
    arrays are not all held at once.
    """
    if not consume or not isinstance(parts, list):
        parts = list(parts)
    account_ranks, account_ids = _global_codes([p.accounts for p in parts])
    post_ranks, post_ids = _global_codes([p.posts for p in parts])
    n_post_ids = len(post_ids)
    del post_ids
    sizes = [p.n_edges for p in parts]
    post_sizes = [len(p.post_owner) for p in parts]
    total, total_posts = sum(sizes), sum(post_sizes)
    # Account and post ranks fit in int32; times stay int64 microseconds.
    actor = np.empty(total, dtype=np.int32)
    target = np.empty(total, dtype=np.int32)
    post = np.empty(total, dtype=np.int32)
    kind = np.empty(total, dtype=np.int8)
    at = np.empty(total, dtype=np.int64)
    owner = np.empty(total_posts, dtype=np.int32)
    post_id = np.empty(total_posts, dtype=np.int32)
    created = np.empty(total_posts, dtype=np.int64)
    start = start_posts = 0
    for i in range(len(parts)):
        p, accounts_of, posts_of = parts[i], account_ranks[i], post_ranks[i]
        stop, stop_posts = start + sizes[i], start_posts + post_sizes[i]
        _remap(p.actor, accounts_of, actor[start:stop])
        _remap(p.target, accounts_of, target[start:stop])
        _remap(p.post, posts_of, post[start:stop])
        kind[start:stop] = p.kind
        at[start:stop] = p.at
        _remap(p.post_owner, accounts_of, owner[start_posts:stop_posts])
        _remap(p.post_id, posts_of, post_id[start_posts:stop_posts])
        created[start_posts:stop_posts] = p.created
        start, start_posts = stop, stop_posts
        account_ranks[i] = post_ranks[i] = None  # type: ignore[call-overload]
        if consume:
            parts[i] = None  # type: ignore[call-overload]
            if i % 8 == 7:
                trim_heap()  # the freed parts' pages go back as the merged arrays fill up
        del p
    if consume:
        parts.clear()
    del account_ranks, post_ranks
    pa.default_memory_pool().release_unused()
    trim_heap()  # the parts' small arrays lived on the C heap: hand those pages back
    if len(kind) and (kind.min() < 0 or kind.max() >= len(KINDS)):
        raise UserError(f"kind: integer codes must lie in 0..{len(KINDS) - 1} ({KINDS})")

    keep = _without_repeated_reposts(actor, target, post, kind, at)
    if len(keep) < total:  # one column at a time: one extra copy alive, not five
        actor = actor[keep]
        target = target[keep]
        post = post[keep]
        kind = kind[keep]
        at = at[keep]
    del keep
    published = _publication_times(target, post, owner, post_id, created)
    del owner, post_id, created
    return _edges_from_ranks(actor, target, post, kind, at, published, account_ids, n_post_ids)


def _edges_from_ranks(actor: np.ndarray, target: np.ndarray, post: np.ndarray,
                      kind: np.ndarray, at: np.ndarray, published: np.ndarray,
                      account_ids: pa.Array, n_post_ids: int) -> EngagementEdges:
    """What ``edges_from_arrays`` makes of merged rank arrays, without its copies.

    ``actor``/``target`` are ranks into ``account_ids`` (sorted), ``post`` ranks
    of post ids (-1: none), ``at`` and ``published`` microseconds (-1: unknown
    publication).  Nodes are the accounts that occur, in id order; self
    engagements go; posts are renumbered by (target, post id); lags are as
    ``graph.build`` computes them.  The arrays passed in are consumed.  Node and
    post numbers come back as int32 where they fit (``edges_from_arrays`` gives int64).
    """
    present = np.zeros(len(account_ids), dtype=bool)
    present[actor] = True
    present[target] = True
    # Node, and later post, numbers as int32 where they fit: the edges are held for the
    # whole graph stage (the detectors widen them where they do arithmetic).
    node_of = np.cumsum(present, dtype=np.int64) - 1
    if len(node_of) < 2**31 - 1:
        node_of = node_of.astype(np.int32)
    names = account_ids.take(pa.array(np.flatnonzero(present)))
    del present
    loops = actor == target
    if loops.any():
        keep = ~loops
        actor = actor[keep]
        target = target[keep]
        post = post[keep]
        kind = kind[keep]
        at = at[keep]
        published = published[keep]
        del keep
    del loops
    seconds = np.floor_divide(at, _MICROS, out=at)
    del at
    # Post keys: one per (target, post id), numbered in that order; -1 where unknown.
    key = np.full(len(post), -1, dtype=np.int64)
    known = post >= 0
    key[known] = node_of[target[known]].astype(np.int64) * np.int64(max(n_post_ids, 1))
    key[known] += post[known]
    del post, known
    post_key = _compact(key)
    del key
    if len(post_key) < 2**31 - 1:
        post_key = post_key.astype(np.int32)
    created = np.full(len(published), np.nan)
    valid = published >= 0
    created[valid] = np.floor_divide(published[valid], _MICROS)
    del published, valid
    lag = _lags(post_key, seconds, created)
    del created
    actor_idx = node_of[actor]
    del actor
    target_idx = node_of[target]
    del target, node_of
    return EngagementEdges(names, actor_idx, target_idx, post_key, seconds, lag, kind)


def _first_of_duplicates(actor: np.ndarray, target: np.ndarray, post: np.ndarray,
                         kind: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rows to keep so that each (actor, target, post, kind, time) appears once, in key order."""
    if len(actor) == 0:
        return np.zeros(0, dtype=np.int64)
    # Three packed keys instead of five: codes are small non-negative integers.
    pair = actor.astype(np.int64) * np.int64(int(target.max()) + 1) + target
    what = (post.astype(np.int64) + 1) * np.int64(len(KINDS)) + kind
    order = np.lexsort((at, what, pair))
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for key in (pair, what, at):
        ordered = key[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    return order[new]


def _without_repeated_reposts(actor: np.ndarray, target: np.ndarray, post: np.ndarray,
                              kind: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rows to keep, in row order, once each part is free of duplicates of its own.

    Only reposts can repeat across parts, so only they are sorted.
    """
    reposts = np.flatnonzero(kind == REPOST)
    kept = reposts[_first_of_duplicates(actor[reposts], target[reposts], post[reposts],
                                        kind[reposts], at[reposts])]
    keep = np.ones(len(actor), dtype=bool)
    keep[reposts] = False
    keep[kept] = True
    return np.flatnonzero(keep)


def _publication_times(target: np.ndarray, post: np.ndarray, owner: np.ndarray,
                       post_id: np.ndarray, created: np.ndarray) -> np.ndarray:
    """Earliest ``created`` of each edge's post (by owner and id); -1 where unknown."""
    out = np.full(len(target), -1, dtype=np.int64)
    if len(owner) == 0 or len(target) == 0:
        return out
    width = np.int64(max(int(post_id.max(initial=0)), int(post.max(initial=0))) + 1)
    key = owner.astype(np.int64) * width + post_id
    order = np.lexsort((created, key))
    key, created = key[order], created[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, created = key[first], created[first]  # the earliest time per post
    known = post >= 0
    wanted = target[known].astype(np.int64) * width + post[known]
    at = np.searchsorted(key, wanted)
    hit = at < len(key)
    hit[hit] = key[at[hit]] == wanted[hit]
    found = np.full(len(wanted), -1, dtype=np.int64)
    found[hit] = created[at[hit]]
    out[known] = found
    return out


def collect_edges(chunks: Iterable[SnapshotTables]) -> EngagementEdges:
    """Edges of every chunk, holding only compact parts between chunks."""
    return merge_edge_parts(edge_part(chunk) for chunk in chunks)


__all__ = [
    "GRAPH_COLUMNS",
    "GRAPH_DICTIONARY_COLUMNS",
    "EdgePart",
    "collect_edges",
    "edge_part",
    "edge_part_from_columns",
    "merge_edge_parts",
]
