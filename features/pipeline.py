"""Snapshot tables -> one feature row per account: the one code path for one and for many.

The online path turns one snapshot into one-account tables and calls
``compute_features``; the batch path calls it per chunk of a Parquet folder.
Every family is a numpy kernel over rows segmented by account, so both paths
give identical rows by construction and cost scales with rows, not accounts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.families.audience import AudienceScorer, compute_audience
from trueclout.features.families.engagement import compute_engagement
from trueclout.features.families.growth import compute_growth
from trueclout.features.families.profile import compute_profile
from trueclout.features.families.rings import lookup_graph
from trueclout.features.frame import FamilyResult, FeatureFrame
from trueclout.features.kernels.columns import SnapshotColumns
from trueclout.features.registry import (
    FEATURE_NAMES,
    FEATURES_BY_FAMILY,
    GRAPH_COLUMNS,
    GRAPH_FEATURES,
)
from trueclout.tables import SnapshotTables


def compute_features(
    tables: SnapshotTables,
    *,
    audience_scorer: AudienceScorer | None = None,
    graph: pa.Table | None = None,
) -> FeatureFrame:
    """Features of every account in ``tables.profiles`` (rows in that order).

    ``audience_scorer`` fills the follower-model columns (NaN without it);
    ``graph`` is the per-account table of global ring features (NaN without
    it, or for accounts it lacks).  Raises ``ValueError`` naming the table and
    column when the tables do not follow the contract.
    """
    tables.validate_schema()
    accounts = tables.profiles.column("account_id")
    if len(accounts) > 1 and pc.count_distinct(accounts).as_py() != len(accounts):
        raise ValueError("table 'profiles': account_id repeats; one row per account expected")
    cols = SnapshotColumns(tables)
    sufficiency: dict[str, np.ndarray] = {}
    context: dict[str, np.ndarray] = {}
    results = {
        "audience": compute_audience(cols, audience_scorer),
        "growth": compute_growth(cols),
        "engagement": compute_engagement(cols),
        "profile": compute_profile(cols),
    }
    columns: dict[str, np.ndarray] = {}
    for family, result in results.items():
        _check_family(family, result)
        columns |= result.features
        sufficiency[family] = np.array(result.sufficiency, dtype=np.float64)
        # Copies: cached columns are read-only, and the frame is the caller's to change.
        context |= {k: np.array(v, dtype=np.float64) for k, v in result.context.items()}
    looked_up = lookup_graph(graph, cols.accounts, GRAPH_COLUMNS)
    columns |= dict(zip(GRAPH_FEATURES, (looked_up[c] for c in GRAPH_COLUMNS), strict=True))
    # One copy into registry order (columns are float64 per account).
    values = np.empty((cols.n, len(FEATURE_NAMES)))
    for j, name in enumerate(FEATURE_NAMES):
        values[:, j] = columns[name]
    return FeatureFrame(
        account_ids=np.asarray(cols.accounts.to_numpy(zero_copy_only=False), dtype=object),
        values=values,
        names=FEATURE_NAMES,
        sufficiency=sufficiency,
        context=context,
    )


def with_graph(frame: FeatureFrame, graph: pa.Table | None) -> FeatureFrame:
    """``frame`` (computed without a ring table) with its graph columns read from ``graph``.

    The same rows ``compute_features(..., graph=graph)`` gives: the graph
    features are only looked up, so a batch run can compute the rest while
    the rings are still being detected.
    """
    looked_up = lookup_graph(graph, pa.array(frame.account_ids, pa.string()), GRAPH_COLUMNS)
    values = frame.values.copy()
    for name, column in zip(GRAPH_FEATURES, GRAPH_COLUMNS, strict=True):
        values[:, frame.names.index(name)] = looked_up[column]
    return replace(frame, values=values)


def _check_family(family: str, result: FamilyResult) -> None:
    expected = set(FEATURES_BY_FAMILY[family]) - set(GRAPH_FEATURES)
    produced = set(result.features)
    if produced != expected:
        raise RuntimeError(f"{family} kernel out of step with the registry: "
                           f"missing {sorted(expected - produced)}, "
                           f"unregistered {sorted(produced - expected)}")
