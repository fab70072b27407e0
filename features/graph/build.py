"""Engagement edges of all accounts, and the sparse matrices the ring detectors read.

A retweet ring shows only when every account is seen at once, so the graph
stage starts from one flat list of engagements: *actor* account -> *target*
account's post, with a time and a kind.  Two sources feed it: ``engagements``
(the engaged account's view) and ``reposts_made`` (the reposter's view); the
same repost seen from both sides is kept once.

Node numbering follows the sorted account ids, so results never depend on the
order of input rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from trueclout.errors import UserError
from trueclout.features.graph.sparse import factorize, group_codes, run_starts, sort_order
from trueclout.tables import SnapshotTables

KINDS: tuple[str, ...] = ("repost", "like", "reply", "quote")
REPOST = KINDS.index("repost")
# Kinds that put the target's post in front of the actor's audience.
AMPLIFYING: tuple[int, ...] = (KINDS.index("repost"), KINDS.index("quote"))

_MICROS = 1_000_000


@dataclass(frozen=True)
class EngagementEdges:
    """One row per engagement; ``accounts[i]`` names node ``i``.

    ``post`` is a key unique per (target, post id), -1 where the post is
    unknown; ``lag`` is seconds after the post was published (NaN when
    unknown), the basis of "prompt" engagement.
    """

    accounts: pa.Array
    actor: np.ndarray
    target: np.ndarray
    post: np.ndarray
    at: np.ndarray
    lag: np.ndarray
    kind: np.ndarray

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def n_edges(self) -> int:
        return len(self.actor)

    @cached_property
    def pairs(self) -> PairIndex:
        """Edges grouped by (actor, target) pair, computed once and shared by the detectors."""
        return PairIndex.of(self.actor, self.target, self.n_accounts)


@dataclass(frozen=True)
class PairIndex:
    """Edges sorted by (actor, target): ``order`` of edge rows, and each distinct pair's run.

    One sort serves every actor x target matrix: a sum per pair is one
    ``np.add.reduceat`` over the sorted weights, and the CSR structure is read
    off the runs, with no COO conversion per matrix.
    """

    order: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    indptr: np.ndarray
    n: int

    @classmethod
    def of(cls, actor: np.ndarray, target: np.ndarray, n: int) -> PairIndex:
        key = actor * np.int64(max(n, 1)) + target
        order = sort_order(key)
        starts = run_starts(key[order])
        del key
        # Held for the whole graph stage: int32 where the counts allow (half the memory).
        index = np.int32 if max(len(actor), n) < 2**31 - 1 else np.int64
        order = order.astype(index)
        starts = starts.astype(index)
        first = order[starts]
        rows, cols = actor[first].astype(index), target[first].astype(index)
        del first
        indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))].astype(np.int64)
        return cls(order, starts, rows, cols, indptr, n)

    def sums(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Per distinct pair: the summed weights (or the number) of its edges."""
        if len(self.starts) == 0:
            return np.zeros(0)
        if weights is None:
            return np.diff(np.r_[self.starts, len(self.order)]).astype(np.float64)
        weights = np.asarray(weights)
        # Gather first, then widen: a bool or int mask is not copied to float64 edge by edge.
        return np.add.reduceat(weights[self.order].astype(np.float64, copy=False), self.starts)

    def matrix(self, values: np.ndarray) -> sp.csr_array:
        """Actor x target CSR matrix with ``values`` per distinct pair (zeros dropped)."""
        # Copies: eliminate_zeros works in place and must not touch the shared structure.
        matrix = sp.csr_array((values, self.cols.copy(), self.indptr.copy()),
                              shape=(self.n, self.n))
        matrix.eliminate_zeros()
        return matrix


def _as_arrow(values: object, field: str) -> pa.Array:
    try:
        arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise UserError(f"{field}: cannot be read as an array ({exc})") from exc
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _seconds(values: object, field: str) -> np.ndarray:
    """Unix seconds as int64 from datetimes (any unit, aware or naive UTC) or numbers."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        if np.isnat(values).any():
            raise UserError(f"{field}: {int(np.isnat(values).sum())} missing timestamps")
        return values.astype("datetime64[s]").astype(np.int64)
    arr = _as_arrow(values, field)
    if arr.null_count:
        raise UserError(f"{field}: {arr.null_count} missing timestamps")
    if pa.types.is_timestamp(arr.type):
        micros = arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(pa.int64())
        return np.floor_divide(micros.to_numpy(zero_copy_only=False), _MICROS)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        secs = arr.to_numpy(zero_copy_only=False)
        if not np.isfinite(secs).all():
            raise UserError(f"{field}: timestamps must be finite")
        return np.floor(secs).astype(np.int64)
    raise UserError(f"{field}: expected timestamps or unix seconds, got {arr.type}")


def _kind_codes(kind: object, n: int) -> np.ndarray:
    if kind is None:
        return np.full(n, REPOST, dtype=np.int8)
    arr = _as_arrow(kind, "kind")
    if pa.types.is_integer(arr.type):
        codes = arr.to_numpy(zero_copy_only=False)
        if arr.null_count or codes.min(initial=0) < 0 or codes.max(initial=0) >= len(KINDS):
            raise UserError(f"kind: integer codes must lie in 0..{len(KINDS) - 1} ({KINDS})")
        return codes.astype(np.int8)
    idx = pc.index_in(arr, value_set=pa.array(KINDS))
    if idx.null_count:
        bad = pc.filter(arr, pc.is_null(idx)).unique().to_pylist()[:5]
        raise UserError(f"kind: unknown values {bad}; expected one of {list(KINDS)}")
    return idx.to_numpy(zero_copy_only=False).astype(np.int8)


def edges_from_arrays(
    actor: object,
    target: object,
    post: object | None,
    at: object,
    kind: object | None = None,
    *,
    post_created: object | None = None,
) -> EngagementEdges:
    """Edges from parallel arrays (numpy, Arrow or lists): the entry point for benchmarks and Dask.

    ``actor`` and ``target`` are account ids (strings or integers, one id
    space); ``post`` names the target's post (null where unknown); ``at`` is
    when the engagement happened; ``kind`` defaults to ``repost``;
    ``post_created``, when given, is when each edge's post was published
    (else the post's first observed engagement stands in for it).
    Self-engagements are dropped: nobody amplifies themselves.
    """
    actors = _as_arrow(actor, "actor_id")
    targets = _as_arrow(target, "target_account_id")
    n = len(actors)
    lengths = {"target_account_id": len(targets), "at": len(at)}  # type: ignore[arg-type]
    if post is not None:
        lengths["post_id"] = len(post)  # type: ignore[arg-type]
    if kind is not None:
        lengths["kind"] = len(kind)  # type: ignore[arg-type]
    if post_created is not None:
        lengths["post_created"] = len(post_created)  # type: ignore[arg-type]
    for name, length in lengths.items():
        if length != n:
            raise UserError(f"{name}: has {length} rows, actor_id has {n}")
    for name, arr in (("actor_id", actors), ("target_account_id", targets)):
        if arr.null_count:
            raise UserError(f"{name}: {arr.null_count} missing account ids")
    if actors.type != targets.type:
        try:
            targets = targets.cast(actors.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise UserError(
                f"target_account_id: type {targets.type} does not match actor_id {actors.type}"
            ) from exc
    seconds = _seconds(at, "at")
    kinds = _kind_codes(kind, n)
    created = None if post_created is None else _created_seconds(post_created)

    codes, accounts = factorize(pa.concat_arrays([actors, targets]))
    actor_idx, target_idx = codes[:n], codes[n:]
    keep = actor_idx != target_idx
    post_key = _post_keys(post, target_idx, n)
    actor_idx, target_idx, post_key = actor_idx[keep], target_idx[keep], post_key[keep]
    seconds, kinds = seconds[keep], kinds[keep]
    if created is not None:
        created = created[keep]
    post_key = _compact(post_key)
    lag = _lags(post_key, seconds, created)
    return EngagementEdges(accounts, actor_idx, target_idx, post_key, seconds, lag, kinds)


def _created_seconds(post_created: object) -> np.ndarray:
    """Publication times in seconds, NaN where unknown (nulls allowed here)."""
    arr = _as_arrow(post_created, "post_created")
    if pa.types.is_floating(arr.type):
        arr = pc.if_else(pc.is_nan(arr), None, arr)
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    out = np.full(len(arr), np.nan)
    if valid.any():
        filled = arr.filter(pa.array(valid))
        out[valid] = _seconds(filled, "post_created")
    return out


def _post_keys(post: object | None, target_idx: np.ndarray, n: int) -> np.ndarray:
    """An int64 per edge, equal for the same post of the same target, -1 where unknown."""
    if post is None:
        return np.full(n, -1, dtype=np.int64)
    posts = _as_arrow(post, "post_id")
    known = ~np.asarray(posts.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    key = np.full(n, -1, dtype=np.int64)
    if known.any():
        codes, values = factorize(posts.filter(pa.array(known)))
        key[known] = target_idx[known] * max(len(values), 1) + codes
    return key


def _compact(key: np.ndarray) -> np.ndarray:
    """Renumber non-negative keys 0..k-1 in key order; -1 stays -1."""
    known = key >= 0
    if known.all():
        return group_codes(key)[0]
    out = np.full(len(key), -1, dtype=np.int64)
    if known.any():
        out[known], _ = group_codes(key[known])
    return out


def _lags(post: np.ndarray, at: np.ndarray, created: np.ndarray | None) -> np.ndarray:
    """Seconds from the post's publication (or first observed engagement) to each edge."""
    known = post >= 0
    if not known.any():
        return np.full(len(post), np.nan)
    if known.all():  # the same arithmetic without the masked copies
        first = np.full(int(post.max()) + 1, np.inf)
        np.minimum.at(first, post, at.astype(np.float64))
        if created is not None:
            has = ~np.isnan(created)
            np.minimum.at(first, post[has], created[has])
        lag = at - first[post]
        return np.maximum(lag, 0.0, out=lag)
    lag = np.full(len(post), np.nan)
    n_posts = int(post[known].max()) + 1
    first = np.full(n_posts, np.inf)
    np.minimum.at(first, post[known], at[known].astype(np.float64))
    if created is not None:
        has = known & ~np.isnan(created)
        np.minimum.at(first, post[has], created[has])
    lag[known] = np.maximum(at[known] - first[post[known]], 0.0)
    return lag


EDGE_COLUMNS: tuple[str, ...] = ("actor", "target", "post_id", "kind", "at", "post_created")


def edge_table(tables: SnapshotTables) -> pa.Table:
    """The raw edge list of a snapshot set (``EDGE_COLUMNS``), each engagement once.

    The same repost appears in the engaged account's and the reposter's
    snapshot; exact duplicates are dropped.  ``post_created`` comes from the
    engaged account's ``posts`` where that snapshot is present.
    """
    tables.validate_schema()
    eng = tables.engagements
    made = tables.reposts_made
    edges = pa.table(
        {
            "actor": pa.concat_arrays([_column(eng, "actor_id"), _column(made, "account_id")]),
            "target": pa.concat_arrays(
                [_column(eng, "account_id"), _column(made, "target_account_id")]
            ),
            "post_id": pa.concat_arrays([_column(eng, "post_id"), _column(made, "post_id")]),
            "kind": pa.concat_arrays(
                [_column(eng, "kind"), pa.nulls(made.num_rows, pa.string()).fill_null("repost")]
            ),
            "at": pa.concat_arrays([_column(eng, "at"), _column(made, "at")]),
        }
    )
    edges = edges.group_by(["actor", "target", "post_id", "kind", "at"], use_threads=False)
    edges = edges.aggregate([])
    published = (
        tables.posts.select(["account_id", "post_id", "created_at"])
        .group_by(["account_id", "post_id"], use_threads=False)
        .aggregate([("created_at", "min")])
        .rename_columns(["target", "post_id", "post_created"])
    )
    edges = edges.join(published, keys=["target", "post_id"], join_type="left outer",
                       use_threads=False)
    return edges.select(list(EDGE_COLUMNS))


def edges_from_table(table: pa.Table) -> EngagementEdges:
    """Edges from a table with ``EDGE_COLUMNS`` (``kind`` and ``post_created`` optional)."""
    missing = [c for c in ("actor", "target", "post_id", "at") if c not in table.column_names]
    if missing:
        raise UserError(f"edge table lacks columns {missing}")
    optional = {c: table.column(c) if c in table.column_names else None
                for c in ("kind", "post_created")}
    return edges_from_arrays(
        table.column("actor"),
        table.column("target"),
        table.column("post_id"),
        table.column("at"),
        optional["kind"],
        post_created=optional["post_created"],
    )


def edges_from_tables(tables: SnapshotTables) -> EngagementEdges:
    """All engagements and reposts of a snapshot set as one edge list."""
    return edges_from_table(edge_table(tables))


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def pair_matrix(
    edges: EngagementEdges, weights: np.ndarray | None = None, mask: np.ndarray | None = None
) -> sp.csr_array:
    """Actor x target matrix: summed ``weights`` (or counts) of the edges where ``mask`` holds."""
    if mask is not None:
        if weights is None:
            weights = np.asarray(mask, dtype=np.float64)  # 1.0 where it holds, else 0.0
        else:
            weights = np.where(mask, np.asarray(weights, np.float64), 0.0)
    return edges.pairs.matrix(edges.pairs.sums(weights))


def engaged_mask(target: np.ndarray, n: int) -> np.ndarray:
    """Accounts that some edge engages.  Only these can engage and be engaged back:
    outside actors never are, so their edges can go before any two-way count."""
    engaged = np.zeros(n, dtype=bool)
    engaged[target] = True
    return engaged


def received_counts(edges: EngagementEdges, mask: np.ndarray | None = None) -> np.ndarray:
    """Engagements each account received (where ``mask`` holds)."""
    target = edges.target if mask is None else edges.target[mask]
    return np.bincount(target, minlength=edges.n_accounts).astype(np.float64)
