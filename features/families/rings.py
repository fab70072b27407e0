"""Global graph features, looked up by account_id from a table computed in batch.

Ring detection needs every account at once, so another stage computes one
row per account (dense blocks, lockstep groups, mutual-repost cores) and the
feature pipeline only looks rows up.  An account without a row, or a call
without the table, gets NaN: unknown, never "clean".  So does a row the
detectors could not judge (``ring_judged`` false: slow two-way engagement
without rounds, where a pod and a community look alike): its block and
lockstep columns, the detectors' verdicts, read as unknown.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.kernels.columns import to_float

GRAPH_KEY = "account_id"
JUDGED = "ring_judged"
# The detectors' verdicts: unknown where they could not judge (mutual cores count
# reciprocated reposts, a fact whatever the timing, and stay).
VERDICT_COLUMNS = frozenset({"ring_block_size", "ring_block_density", "ring_block_share",
                             "lockstep_group_size", "lockstep_score"})
# A feature known wherever the table has a row, judged or not: with a verdict
# feature unknown, it tells "not judged" from "not looked up".
ROW_PRESENT_FEATURE = "graph_mutual_core_size"


def lookup_graph(graph: pa.Table | None, accounts: pa.Array,
                 columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``{column: per-account float array}`` for ``accounts`` (NaN where absent)."""
    n = len(accounts)
    if graph is None:
        return {c: np.full(n, np.nan) for c in columns}
    missing = [c for c in (GRAPH_KEY, *columns) if c not in graph.column_names]
    if missing:
        raise ValueError(f"graph table lacks columns {missing}; expected {GRAPH_KEY!r} and "
                         f"{list(columns)}")
    keys = graph.column(GRAPH_KEY)
    if not pa.types.is_string(keys.type):
        raise ValueError(f"graph column {GRAPH_KEY!r} must be strings, got {keys.type}")
    if n == 0:
        return {c: np.zeros(0) for c in columns}
    rows = pc.index_in(accounts, value_set=keys.combine_chunks()).fill_null(-1)
    rows = np.asarray(rows.to_numpy(zero_copy_only=False), dtype=np.int64)
    found = rows >= 0
    out: dict[str, np.ndarray] = {}
    for c in columns:
        col = graph.column(c)
        try:
            values = to_float(col.cast(pa.float64()) if not pa.types.is_floating(col.type)
                              else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"graph column {c!r} is not numeric ({col.type})") from exc
        arr = np.full(n, np.nan)
        arr[found] = values[rows[found]]
        out[c] = arr
    if JUDGED in graph.column_names:
        judged = to_float(graph.column(JUDGED).cast(pa.float64()))
        unjudged = np.zeros(n, dtype=bool)
        unjudged[found] = judged[rows[found]] == 0
        for c in VERDICT_COLUMNS.intersection(out):
            out[c][unjudged] = np.nan
    return out
