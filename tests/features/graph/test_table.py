"""The per-account ring table: contents on a constructed world, invariances, and its file."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.features.graph.test_build import graph_tables
from trueclout.errors import UserError
from trueclout.features.graph.build import edge_table
from trueclout.features.graph.table import (
    RING_TABLE_SCHEMA,
    RingParams,
    detect_rings,
    detect_rings_from_arrays,
    load_ring_table,
    ring_table_params,
    save_ring_table,
)
from trueclout.tables import SnapshotTables, empty_tables

RING = [f"ring{i}" for i in range(6)]
HOUR = 3600


def engaging_each_other(members: list[str], posts_each: int, spacing_hours: int,
                        delay: Callable[[], int], kind: str
                        ) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Every member engages every other member's posts ``delay()`` seconds after them.

    Returns (engagements, reposts, posts) as ``graph_tables`` takes them; reposts
    only when ``kind`` is "repost".
    """
    engagements, reposts, posts = [], [], []
    for m_i, author in enumerate(members):
        for p in range(posts_each):
            post = f"{author}/p{p}"
            published = (m_i * posts_each + p) * spacing_hours * HOUR
            posts.append((author, post, published))
            for actor in members:
                if actor != author:
                    at = published + delay()
                    engagements.append((author, actor, post, kind, at))
                    if kind == "repost":
                        reposts.append((actor, author, post, at))
    return engagements, reposts, posts


def world(seed: int = 0) -> SnapshotTables:
    """Six accounts reposting each other's posts within two minutes, fans, and a celebrity.

    ring0 also gets 6 slow likes from fans, so 15 of its 21 engagements come from its ring.
    """
    rng = random.Random(seed)
    engagements, reposts, posts = engaging_each_other(RING, 3, 5, lambda: rng.randint(10, 120),
                                                      "repost")
    for f in range(6):
        engagements.append(("ring0", f"fan{f}", "ring0/p0", "like", 30 * HOUR + f * HOUR))
    for f in range(40):
        engagements.append(("celebrity", f"fan{f}", "celebrity/p0", "like", 2 * HOUR + f * 60))
    engagements.append(("fan1", "fan2", "fan1/p0", "like", 50 * HOUR))
    return graph_tables(engagements, reposts, posts)


def rows_by_id(table: pa.Table) -> dict[str, dict]:
    return {r["account_id"]: r for r in table.to_pylist()}


def test_a_ring_is_described_by_every_detector() -> None:
    table = detect_rings(world())
    assert table.schema.equals(RING_TABLE_SCHEMA, check_metadata=False)
    rows = rows_by_id(table)
    ring_rows = [rows[m] for m in RING]
    assert len({r["ring_block_id"] for r in ring_rows}) == 1
    assert all(r["ring_block_id"] is not None for r in ring_rows)
    assert all(r["ring_block_size"] == 6 and r["ring_block_density"] == 1.0 for r in ring_rows)
    assert all(r["ring_block_prompt_share"] == 1.0 for r in ring_rows)
    assert all(r["lockstep_group_size"] == 6 for r in ring_rows)
    assert all(r["mutual_core_size"] == 6 and r["mutual_core_number"] == 5 for r in ring_rows)
    assert all(r["mutual_repost_share"] == 1.0 for r in ring_rows)
    assert rows["ring0"]["ring_block_share"] == 15 / 21
    assert rows["ring1"]["ring_block_share"] == 1.0
    assert rows["ring0"]["lockstep_received_share"] == 15 / 21


def test_genuine_accounts_are_not_flagged_and_missing_data_stays_null() -> None:
    rows = rows_by_id(detect_rings(world()))
    celebrity, fan = rows["celebrity"], rows["fan3"]
    for r in (celebrity, fan):
        assert r["ring_block_id"] is None and r["ring_block_size"] == 0
        assert r["lockstep_group_id"] is None and r["lockstep_group_size"] == 0
        assert r["mutual_core_size"] == 0
    assert celebrity["ring_block_share"] == 0.0  # received plenty, none from a block
    assert fan["ring_block_share"] is None  # received nothing: unknown, not zero
    assert celebrity["mutual_repost_share"] is None  # made no reposts


def test_one_row_per_account_in_the_graph_sorted_by_id() -> None:
    table = detect_rings(world())
    ids = table.column("account_id").to_pylist()
    assert ids == sorted(ids)
    assert set(ids) == set(RING) | {"celebrity"} | {f"fan{f}" for f in range(40)}


def test_row_order_does_not_change_the_table() -> None:
    tables = world()
    shuffled = SnapshotTables(**{
        name: t.take(pa.array(np.random.default_rng(3).permutation(t.num_rows)))
        for name, t in tables.items()
    })
    a, b = detect_rings(tables), detect_rings(shuffled)
    assert a.column_names == b.column_names
    for name in a.column_names:
        left, right = a.column(name).to_pylist(), b.column(name).to_pylist()
        if pa.types.is_floating(a.schema.field(name).type):
            assert all((x is None and y is None) or math.isclose(x, y, abs_tol=1e-12)
                       for x, y in zip(left, right, strict=True)), name
        else:
            assert left == right, name


def test_tables_and_raw_arrays_give_the_same_table() -> None:
    tables = world()
    raw = edge_table(tables)
    from_arrays = detect_rings_from_arrays(
        raw.column("actor"), raw.column("target"), raw.column("post_id"), raw.column("at"),
        raw.column("kind"), post_created=raw.column("post_created"))
    assert from_arrays.equals(detect_rings(tables))


def test_empty_snapshot_set_gives_an_empty_table() -> None:
    table = detect_rings(empty_tables())
    assert table.num_rows == 0
    assert table.schema.equals(RING_TABLE_SCHEMA, check_metadata=False)


def test_a_single_account_with_no_engagement_gives_no_rows() -> None:
    table = detect_rings(graph_tables([], [], [("solo", "solo/p0", 0)]))
    assert table.num_rows == 0


def test_stage_callback_sees_every_stage() -> None:
    seen: list[str] = []
    detect_rings(world(), on_stage=lambda stage, seconds: seen.append(stage))
    assert seen == ["edges", "dense blocks", "lockstep", "mutual cores", "table"]


def test_parameters_change_the_result_and_travel_with_the_table() -> None:
    strict = RingParams.from_mapping({"blocks": {"min_block_size": 7},
                                      "lockstep": {"min_group_size": 7}})
    table = detect_rings(world(), params=strict)
    assert pc.sum(table.column("ring_block_id").is_valid()).as_py() == 0
    assert pc.max(table.column("lockstep_group_size")).as_py() == 0
    assert ring_table_params(table) == strict


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(UserError, match=r"blocks\.min_block_size"):
        RingParams.from_mapping({"blocks": {"min_block_size": 1}})
    with pytest.raises(UserError, match=r"lockstep\.window"):
        RingParams.from_mapping({"lockstep": {"window": 60}})


def test_save_and_load_round_trip_atomically(tmp_path) -> None:
    table = detect_rings(world())
    path = save_ring_table(table, tmp_path / "rings" / "current.parquet")
    assert [p.name for p in path.parent.iterdir()] == ["current.parquet"]
    loaded = load_ring_table(path)
    assert loaded.equals(table)
    assert ring_table_params(loaded) == RingParams()


def test_load_refuses_what_is_not_a_ring_table(tmp_path) -> None:
    with pytest.raises(UserError, match="no ring table"):
        load_ring_table(tmp_path / "absent.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match="not a readable Parquet"):
        load_ring_table(tmp_path / "junk.parquet")
    table = detect_rings(world())
    pq.write_table(table.drop_columns(["lockstep_score"]), tmp_path / "old.parquet")
    with pytest.raises(UserError, match="missing column 'lockstep_score'"):
        load_ring_table(tmp_path / "old.parquet")
    wrong = table.set_column(table.schema.get_field_index("ring_block_size"), "ring_block_size",
                             table.column("ring_block_size").cast(pa.float64()))
    pq.write_table(wrong, tmp_path / "wrong.parquet")
    with pytest.raises(UserError, match="'ring_block_size' is double, expected int64"):
        load_ring_table(tmp_path / "wrong.parquet")


edge_lists = st.lists(
    st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 3),
              st.integers(0, 4 * HOUR), st.sampled_from(["repost", "like", "quote"])),
    min_size=1, max_size=120,
)


def _table(rows: list[tuple]) -> pa.Table:
    actor, target, post, at, kind = (list(c) for c in zip(*rows, strict=True))
    posts = [f"{t}/{p}" for t, p in zip(target, post, strict=True)]
    return detect_rings_from_arrays([f"a{x}" for x in actor], [f"a{x}" for x in target],
                                    posts, at, kind, params=RingParams.from_mapping(
                                        {"blocks": {"min_block_size": 3},
                                         "lockstep": {"min_group_size": 3}}))


@settings(max_examples=40, deadline=None)
@given(edge_lists, st.randoms(use_true_random=False))
def test_table_invariants_hold_and_row_order_does_not_matter(rows: list, rnd) -> None:
    table = _table(rows)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    again = _table(shuffled)
    for name in table.column_names:
        left, right = table.column(name).to_pylist(), again.column(name).to_pylist()
        if pa.types.is_floating(table.schema.field(name).type):
            assert all((x is None and y is None) or math.isclose(x, y, abs_tol=1e-9)
                       for x, y in zip(left, right, strict=True)), name
        else:
            assert left == right, name
    data = table.to_pylist()
    for share in ("ring_block_share", "lockstep_score", "lockstep_received_share",
                  "mutual_repost_share", "ring_block_density"):
        assert all(r[share] is None or 0.0 <= r[share] <= 1.0 for r in data), share
    blocks: dict[int, list[dict]] = {}
    for r in data:
        if r["ring_block_id"] is not None:
            blocks.setdefault(r["ring_block_id"], []).append(r)
    for members in blocks.values():
        assert all(r["ring_block_size"] == len(members) >= 3 for r in members)
    assert sorted(blocks) == list(range(len(blocks)))  # ids are 0..k-1, densest first


def slow_friends(seed: int = 0) -> SnapshotTables:
    """Six friends who engage each other's posts hours later, each on their own time."""
    rng = random.Random(seed)
    friends = [f"friend{i}" for i in range(6)]
    engagements, _, posts = engaging_each_other(
        friends, 4, 30, lambda: int(rng.lognormvariate(math.log(3 * HOUR), 1.0)), "like")
    engagements.append(("friend0", "fan0", "friend0/p0", "like", 20 * HOUR))
    return graph_tables(engagements, [], posts)


def test_slow_two_way_engagement_without_rounds_is_not_judged() -> None:
    """Friends coming back hours later, each on their own time: a community, or a pod that
    hides its rounds; the graph cannot tell, and says so."""
    rows = rows_by_id(detect_rings(slow_friends()))
    for i in range(6):
        row = rows[f"friend{i}"]
        assert row["ring_block_size"] == 0 and row["lockstep_group_size"] == 0
        assert row["ring_judged"] is False
    assert rows["fan0"]["ring_judged"] is True  # one-way: nothing a pod could hide behind


def test_found_rings_and_one_way_or_prompt_engagement_are_judged() -> None:
    rows = rows_by_id(detect_rings(world()))
    assert all(rows[m]["ring_judged"] for m in RING)  # found: in a block
    assert rows["celebrity"]["ring_judged"] and rows["fan1"]["ring_judged"]


def test_a_table_from_before_the_judged_column_still_loads(tmp_path) -> None:
    table = detect_rings(world())
    pq.write_table(table.drop_columns(["ring_judged"]), tmp_path / "v1.parquet")
    assert load_ring_table(tmp_path / "v1.parquet").num_rows == table.num_rows
