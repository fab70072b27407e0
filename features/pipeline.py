"""Snapshot tables -> one feature row per account: the one code path for one and for many.

The online path turns one snapshot into one-account tables and calls
``compute_features``; the batch path calls it per chunk of a Parquet folder.
Every family is a numpy kernel over rows segmented by account, so both paths
give identical rows by construction and cost scales with rows, not accounts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.audience import AudienceScorer, compute_audience
from trueclout.features.columns import SnapshotColumns
from trueclout.features.engagement import compute_engagement
from trueclout.features.frame import FamilyResult, FeatureFrame
from trueclout.features.growth import compute_growth
from trueclout.features.lookup import lookup_graph
from trueclout.features.profile import compute_profile
from trueclout.features.registry import (
    FEATURE_NAMES,
    FEATURES_BY_FAMILY,
    GRAPH_COLUMNS,
    GRAPH_FEATURES,
    feature_index,
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
    n = cols.n
    values = np.full((n, len(FEATURE_NAMES)), np.nan)
    sufficiency: dict[str, np.ndarray] = {}
    context: dict[str, np.ndarray] = {}
    results = {
        "audience": compute_audience(cols, audience_scorer),
        "growth": compute_growth(cols),
        "engagement": compute_engagement(cols),
        "profile": compute_profile(cols),
    }
    for family, result in results.items():
        _check_family(family, result)
        for name, arr in result.features.items():
            values[:, feature_index(name)] = arr
        sufficiency[family] = np.asarray(result.sufficiency, dtype=np.float64)
        context |= {k: np.asarray(v, dtype=np.float64) for k, v in result.context.items()}
    looked_up = lookup_graph(graph, cols.accounts, GRAPH_COLUMNS)
    for name, column in zip(GRAPH_FEATURES, GRAPH_COLUMNS, strict=True):
        values[:, feature_index(name)] = looked_up[column]
    return FeatureFrame(
        account_ids=np.asarray(cols.accounts.to_numpy(zero_copy_only=False), dtype=object),
        values=values,
        names=FEATURE_NAMES,
        sufficiency=sufficiency,
        context=context,
    )


def _check_family(family: str, result: FamilyResult) -> None:
    expected = set(FEATURES_BY_FAMILY[family]) - set(GRAPH_FEATURES)
    produced = set(result.features)
    if produced != expected:
        raise RuntimeError(f"{family} kernel out of step with the registry: "
                           f"missing {sorted(expected - produced)}, "
                           f"unregistered {sorted(produced - expected)}")
