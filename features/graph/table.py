"""The per-account ring table: what the graph stage tells the feature frame and the service.

``detect_rings(tables)`` runs the three detectors over the engagement graph
of all accounts and returns one row per account that appears in it (as actor
or target).  The batch path joins it into the feature frame by
``account_id``; the service looks accounts up in a Parquet file written by
``save_ring_table`` (atomically, so a reader never sees half a file) and
reloads it when it changes.

Columns (``RING_TABLE_SCHEMA``):

=========================== ===================================================
``ring_block_id``           dense block the account belongs to (null: none); 0 is the densest
``ring_block_size``         members of that block (0: none)
``ring_block_density``      the block's *edge density*: share of ordered member pairs (a, b)
                            where a engaged b (0: none)
``ring_block_suspiciousness`` FRAUDAR's suspiciousness per node, f(S)/|S| (0: none)
``ring_block_prompt_share`` share of the engagements inside its block that came within
                            ``prompt_seconds`` of the post (null: no block, or no post times)
``ring_block_share``        share of the engagements the account received that came from
                            members of its block (0: no block; null: received none)
``lockstep_group_id``       lockstep group (null: none)
``lockstep_group_size``     members of that group (0: none)
``lockstep_score``          share of the posts it engaged that it hit within the window of a
                            fellow group member (0: no group)
``lockstep_received_share`` share of the engagements it received that came from lockstep-group
                            members (null: received none)
``mutual_core_number``      core number in the reciprocal-repost graph
``mutual_core_size``        size of the connected piece of its own highest core (0 below the
                            minimum core)
``mutual_repost_share``     share of its reposts that were reciprocated (null: made none)
``ring_judged``             false where the detectors could not have told a ring from a
                            community: the account is in no block or group and most of its
                            engagement with the accounts it engages both ways came late
=========================== ===================================================

An account that engages others both ways, hours after their posts, with no
round to its timing, is what a genuine community looks like and also what a
pod looks like whose members each come at their own hour: the graph cannot
tell them apart, so its silence there is no evidence.  The feature lookup
reads such a row's block and lockstep columns as unknown (NaN), so the
account is judged from its own snapshot, as without a table.  Tables written
before this column read as judged everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trueclout.errors import UserError
from trueclout.features.graph.build import (
    EngagementEdges,
    edges_from_arrays,
    edges_from_tables,
    engaged_mask,
    received_counts,
)
from trueclout.features.graph.fraudar import BlockParams, DenseBlocks, find_dense_blocks
from trueclout.features.graph.lockstep import LockstepGroups, LockstepParams, find_lockstep_groups
from trueclout.features.graph.mutual import MutualCores, MutualParams, find_mutual_cores
from trueclout.features.graph.sparse import reciprocal, trim_heap
from trueclout.files import atomic_path
from trueclout.tables import SnapshotTables

RING_TABLE_VERSION = "2"
_PARAMS_KEY = b"trueclout.ring_params"
_VERSION_KEY = b"trueclout.ring_table_version"

RING_TABLE_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("ring_block_id", pa.int64()),
        pa.field("ring_block_size", pa.int64(), nullable=False),
        pa.field("ring_block_density", pa.float64(), nullable=False),
        pa.field("ring_block_suspiciousness", pa.float64(), nullable=False),
        pa.field("ring_block_prompt_share", pa.float64()),
        pa.field("ring_block_share", pa.float64()),
        pa.field("lockstep_group_id", pa.int64()),
        pa.field("lockstep_group_size", pa.int64(), nullable=False),
        pa.field("lockstep_score", pa.float64(), nullable=False),
        pa.field("lockstep_received_share", pa.float64()),
        pa.field("mutual_core_number", pa.int64(), nullable=False),
        pa.field("mutual_core_size", pa.int64(), nullable=False),
        pa.field("mutual_repost_share", pa.float64()),
        pa.field("ring_judged", pa.bool_(), nullable=False),
    ]
)
# Columns a table of an earlier version may lack (read as their documented default).
_ADDED_COLUMNS = frozenset({"ring_judged"})

StageCallback = Callable[[str, float], None]


class RingParams(BaseModel):
    """All knobs of the graph stage, one section per detector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocks: BlockParams = Field(default_factory=BlockParams)
    lockstep: LockstepParams = Field(default_factory=LockstepParams)
    mutual: MutualParams = Field(default_factory=MutualParams)

    @classmethod
    def from_mapping(cls, values: dict) -> RingParams:
        """Parameters from a dict (a config file, a CLI option); bad values name their field."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise UserError(f"ring detection parameters: {problems}") from exc


def detect_rings(
    tables: SnapshotTables,
    *,
    params: RingParams | None = None,
    on_stage: StageCallback | None = None,
) -> pa.Table:
    """Ring table (``RING_TABLE_SCHEMA``) for every account in the snapshots' engagement graph.

    ``on_stage(stage, seconds)`` is called as each stage ends (edges, dense
    blocks, lockstep, mutual cores, table): for progress bars and benchmarks.
    """
    clock = _Clock(on_stage)
    holder = [edges_from_tables(tables)]
    clock.done("edges")
    return _detect(holder, params or RingParams(), clock)


def detect_rings_from_arrays(
    actor: object,
    target: object,
    post: object | None,
    at: object,
    kind: object | None = None,
    *,
    post_created: object | None = None,
    params: RingParams | None = None,
    on_stage: StageCallback | None = None,
) -> pa.Table:
    """Ring table from parallel edge arrays (see ``graph.build.edges_from_arrays``).

    The entry point for callers that hold edges rather than snapshot tables:
    the benchmark, and batch jobs that gather the graph from partitions.
    """
    clock = _Clock(on_stage)
    holder = [edges_from_arrays(actor, target, post, at, kind, post_created=post_created)]
    clock.done("edges")
    return _detect(holder, params or RingParams(), clock)


def detect_rings_in_edges(
    edges: EngagementEdges,
    *,
    params: RingParams | None = None,
    on_stage: StageCallback | None = None,
) -> pa.Table:
    """Run the three detectors on prepared edges and assemble the ring table."""
    return _detect([edges], params or RingParams(), _Clock(on_stage))


def detect_rings_taking_edges(
    holder: list[EngagementEdges],
    *,
    params: RingParams | None = None,
    on_stage: StageCallback | None = None,
) -> pa.Table:
    """``detect_rings_in_edges`` on the one edge list in ``holder``, which it empties.

    Once the detectors are done the edges are let go (if the caller keeps no
    other reference), so they are not held while the table is assembled.
    """
    return _detect(holder, params or RingParams(), _Clock(on_stage))


def _detect(holder: list[EngagementEdges], params: RingParams, clock: _Clock) -> pa.Table:
    edges = holder[0]
    blocks = find_dense_blocks(edges, params.blocks)
    # Only dense blocks read the pair index: let it go before lockstep's peak.
    edges.__dict__.pop("pairs", None)
    trim_heap()
    clock.done("dense blocks")
    lockstep = find_lockstep_groups(edges, params.lockstep)
    trim_heap()
    clock.done("lockstep")
    mutual = find_mutual_cores(edges, params.mutual)
    trim_heap()
    clock.done("mutual cores")
    received = _Received.of(edges, blocks, lockstep)
    judged = ring_judged(edges, blocks, lockstep, params)
    accounts = edges.accounts
    holder.clear()
    del edges
    table = _assemble(accounts, received, blocks, lockstep, mutual, judged, params)
    clock.done("table")
    return table


def ring_table(
    edges: EngagementEdges,
    blocks: DenseBlocks,
    lockstep: LockstepGroups,
    mutual: MutualCores,
    params: RingParams,
) -> pa.Table:
    """Assemble the detectors' per-account results into ``RING_TABLE_SCHEMA``, sorted by id."""
    return _assemble(edges.accounts, _Received.of(edges, blocks, lockstep), blocks, lockstep,
                     mutual, ring_judged(edges, blocks, lockstep, params), params)


def ring_judged(edges: EngagementEdges, blocks: DenseBlocks, lockstep: LockstepGroups,
                params: RingParams) -> np.ndarray:
    """Per account: could the detectors have told a ring here (the ``ring_judged`` column)?

    Yes where they found one (a block or a lockstep group), and where the
    account's two-way engagement was not mostly slow: that is where a pod
    hiding its timing and a genuine community look alike.
    """
    found = (blocks.label >= 0) | (lockstep.label >= 0)
    return found | ~_slow_two_way(edges, params.blocks.prompt_seconds)


def _slow_two_way(edges: EngagementEdges, prompt_seconds: float) -> np.ndarray:
    """Per account: it engages others both ways, and most of that engagement came late.

    Counted over the pairs that engaged each other (either direction, both
    sides' engagements): late is after ``prompt_seconds`` from the post; an
    unknown time counts as prompt, as dense blocks count it.
    """
    n = edges.n_accounts
    keep = engaged_mask(edges.target, n)[edges.actor]  # outside actors engage one way only
    actor, target = edges.actor[keep], edges.target[keep]
    late = (edges.lag[keep] > prompt_seconds).astype(np.float64)  # NaN > x is False
    del keep
    count = sp.csr_array((np.ones(len(actor)), (actor, target)), shape=(n, n))
    late_count = sp.csr_array((late, (actor, target)), shape=(n, n))
    del actor, target, late
    count.sum_duplicates()
    late_count.sum_duplicates()
    both = reciprocal(count)
    total = count.multiply(both)
    slow = late_count.multiply(both)
    per_total = total.sum(axis=1) + total.sum(axis=0)
    per_slow = slow.sum(axis=1) + slow.sum(axis=0)
    return (per_total > 0) & (per_slow > 0.5 * per_total)


@dataclass(frozen=True)
class _Received:
    """Per account: engagements received in all, from its own block, from lockstep members."""

    total: np.ndarray
    from_block: np.ndarray
    from_lockstep: np.ndarray

    @classmethod
    def of(cls, edges: EngagementEdges, blocks: DenseBlocks, lockstep: LockstepGroups
           ) -> _Received:
        received = received_counts(edges)
        # One gather per side, reused: each is an int64 per edge.
        target_block = blocks.label[edges.target]
        same_block = blocks.label[edges.actor] == target_block
        same_block &= target_block >= 0
        del target_block
        block_received = received_counts(edges, same_block)
        del same_block
        from_lockstep = lockstep.label[edges.actor] >= 0
        return cls(received, block_received, received_counts(edges, from_lockstep))


def _assemble(
    accounts: pa.Array,
    received: _Received,
    blocks: DenseBlocks,
    lockstep: LockstepGroups,
    mutual: MutualCores,
    judged: np.ndarray,
    params: RingParams,
) -> pa.Table:
    in_block = blocks.label >= 0
    block = np.maximum(blocks.label, 0)

    def per_block(values: np.ndarray) -> np.ndarray:
        if blocks.count == 0:
            return np.zeros(len(accounts), dtype=values.dtype)
        return np.where(in_block, values[block], 0)

    prompt_share = per_block(blocks.prompt_share)
    columns = {
        "account_id": accounts.cast(pa.string()),
        "ring_block_id": pa.array(blocks.label, pa.int64(), mask=~in_block),
        "ring_block_size": per_block(blocks.size),
        "ring_block_density": per_block(blocks.edge_density),
        "ring_block_suspiciousness": per_block(blocks.suspiciousness),
        "ring_block_prompt_share": pa.array(
            prompt_share, pa.float64(), mask=~in_block | np.isnan(prompt_share),
        ),
        "ring_block_share": _share(received.from_block, received.total),
        "lockstep_group_id": pa.array(lockstep.label, pa.int64(), mask=lockstep.label < 0),
        "lockstep_group_size": lockstep.size,
        "lockstep_score": lockstep.score,
        "lockstep_received_share": _share(received.from_lockstep, received.total),
        "mutual_core_number": mutual.core_number,
        "mutual_core_size": mutual.core_size,
        "mutual_repost_share": pa.array(mutual.repost_share, pa.float64(),
                                        mask=np.isnan(mutual.repost_share)),
        "ring_judged": pa.array(judged, pa.bool_()),
    }
    table = pa.table(
        {name: pa.array(col, RING_TABLE_SCHEMA.field(name).type) if isinstance(col, np.ndarray)
         else col for name, col in columns.items()},
        schema=RING_TABLE_SCHEMA,
    )
    del columns
    if not _is_sorted(table.column("account_id")):  # nodes usually come in id order already
        table = table.sort_by("account_id")
    return table.replace_schema_metadata(
        {_PARAMS_KEY: params.model_dump_json().encode(), _VERSION_KEY: RING_TABLE_VERSION.encode()}
    )


def _is_sorted(values: pa.ChunkedArray) -> bool:
    """Whether ``values`` (no nulls) never decrease, in Arrow's sort order."""
    values = values.combine_chunks()
    if len(values) < 2:
        return True
    return not pc.any(pc.less(values.slice(1), values.slice(0, len(values) - 1))).as_py()


def _share(part: np.ndarray, whole: np.ndarray) -> pa.Array:
    """part / whole, null where whole is 0 (no data is not evidence)."""
    out = np.zeros(len(whole))
    np.divide(part, whole, out=out, where=whole > 0)
    return pa.array(out, pa.float64(), mask=whole <= 0)


def ring_table_params(table: pa.Table) -> RingParams | None:
    """The parameters a ring table was computed with (None if it does not say)."""
    raw = (table.schema.metadata or {}).get(_PARAMS_KEY)
    return RingParams.model_validate_json(raw) if raw else None


def save_ring_table(table: pa.Table, path: Path | str) -> Path:
    """Write the ring table as Parquet atomically: readers see the old file or the new one."""
    check_ring_table(table, source="ring table")
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def load_ring_table(path: Path | str) -> pa.Table:
    """Read a ring table written by ``save_ring_table``; refuses a file of another shape."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no ring table")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet ring table ({exc})") from exc
    check_ring_table(table, source=str(path))
    return table


def check_ring_table(table: pa.Table, *, source: str) -> None:
    """Raise ``UserError`` naming the first column that is missing or of the wrong type."""
    for field in RING_TABLE_SCHEMA:
        if field.name not in table.column_names:
            if field.name in _ADDED_COLUMNS:
                continue
            raise UserError(f"{source}: missing column {field.name!r}")
        got = table.schema.field(field.name).type
        if got != field.type:
            raise UserError(f"{source}: column {field.name!r} is {got}, expected {field.type}")


class _Clock:
    """Reports each stage's wall time to an optional callback (benchmarks, progress bars)."""

    def __init__(self, on_stage: StageCallback | None) -> None:
        self.on_stage = on_stage
        self.last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        if self.on_stage is not None:
            self.on_stage(stage, now - self.last)
        self.last = now
