"""Thinning also removes whole parts of some snapshots, so models learn a gap is not evidence."""

from __future__ import annotations

from collections import Counter

import pytest

from trueclout.tables import SnapshotTables
from trueclout.training.data.labelled import Thinning
from trueclout.training.sim.world import simulate_world


@pytest.fixture(scope="module")
def tables() -> SnapshotTables:
    return simulate_world(120, seed=3).tables


def per_account(tables: SnapshotTables, name: str) -> Counter[str]:
    return Counter(tables[name].column("account_id").to_pylist())


def test_some_thinned_accounts_lose_each_part_entirely(tables: SnapshotTables) -> None:
    thinned = Thinning(share=0.8, seed=1, drop_part=0.4).apply(tables)
    thinned.validate_schema()
    for part in ("followers", "follower_history", "posts", "reposts_made"):
        before, after = per_account(tables, part), per_account(thinned, part)
        emptied = [a for a in before if after[a] == 0]
        assert emptied, part
        assert len(emptied) < len(before), part
    # Engagements go with their posts.
    posts = per_account(thinned, "posts")
    assert all(posts[a] > 0 for a in per_account(thinned, "engagements"))


def test_no_part_is_dropped_when_asked_not_to(tables: SnapshotTables) -> None:
    # Every thinned account keeps at least its newest follower unless the sample is dropped.
    kept = Thinning(share=1.0, seed=1, drop_part=0.0, min_followers=1).apply(tables)
    assert set(per_account(kept, "followers")) == set(per_account(tables, "followers"))
    dropped = Thinning(share=1.0, seed=1, drop_part=0.5, min_followers=1).apply(tables)
    assert set(per_account(dropped, "followers")) < set(per_account(tables, "followers"))


def test_the_choice_depends_only_on_the_account_and_the_seed(tables: SnapshotTables) -> None:
    thinning = Thinning(share=0.5, seed=9, drop_part=0.5)
    first = tables.profiles.column("account_id").to_pylist()[:30]
    whole = thinning.apply(tables).select_accounts(first)
    part = thinning.apply(tables.select_accounts(first))
    for name in ("followers", "follower_history", "posts", "reposts_made"):
        assert part[name].equals(whole[name]), name


def test_ring_rows_are_hidden_per_account_whatever_the_chunking() -> None:
    import pyarrow as pa

    ids = [f"acct-{i}" for i in range(2_000)]
    graph = pa.table({"account_id": ids, "graph_ring_block_size": [5.0] * len(ids)})
    thinning = Thinning(share=0.0, seed=4, hide_rings=0.3)
    kept = set(thinning.ring_rows(graph, ids).column("account_id").to_pylist())
    assert 0.25 < 1 - len(kept) / len(ids) < 0.35
    # The same accounts lose their rows when asked chunk by chunk.
    by_chunk = set()
    for start in range(0, len(ids), 300):
        chunk = ids[start:start + 300]
        by_chunk |= set(thinning.ring_rows(graph, chunk).column("account_id").to_pylist()) & set(
            chunk)
    assert by_chunk == kept
    assert Thinning(hide_rings=0.0).ring_rows(graph, ids) is graph
    assert Thinning(hide_rings=1.0).ring_rows(graph, ids).num_rows == 0
