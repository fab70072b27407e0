"""Edges from tables and from arrays: one edge per engagement, sorted node ids, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from trueclout.errors import UserError
from trueclout.features.graph.build import KINDS, edges_from_arrays, edges_from_tables
from trueclout.tables import SCHEMAS, SnapshotTables, empty_tables

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def graph_tables(
    engagements: list[tuple[str, str, str, str, int]],
    reposts: list[tuple[str, str, str | None, int]] = (),
    posts: list[tuple[str, str, int]] = (),
) -> SnapshotTables:
    """Tables holding only the graph's rows; times are seconds after T0.

    ``engagements``: (engaged account, actor, post, kind, at); ``reposts``:
    (reposting account, target account, post, at); ``posts``: (author, post, created).
    """

    def ts(seconds: list[int]) -> list[datetime]:
        return [T0 + timedelta(seconds=s) for s in seconds]

    def table(name: str, columns: dict[str, list]) -> pa.Table:
        return pa.table(columns, schema=SCHEMAS[name].remove_metadata()).select(
            SCHEMAS[name].names) if columns else SCHEMAS[name].empty_table()

    eng = list(zip(*engagements, strict=True)) if engagements else [[]] * 5
    rep = list(zip(*reposts, strict=True)) if reposts else [[]] * 4
    pst = list(zip(*posts, strict=True)) if posts else [[]] * 3
    base = empty_tables()
    return SnapshotTables(
        profiles=base.profiles,
        follower_history=base.follower_history,
        followers=base.followers,
        posts=table("posts", {
            "account_id": list(pst[0]), "post_id": list(pst[1]), "created_at": ts(pst[2]),
            "kind": ["original"] * len(pst[0]), "reposts_count": [None] * len(pst[0]),
            "likes_count": [None] * len(pst[0]), "replies_count": [None] * len(pst[0])}),
        engagements=table("engagements", {
            "account_id": list(eng[0]), "actor_id": list(eng[1]), "post_id": list(eng[2]),
            "kind": list(eng[3]), "at": ts(eng[4])}),
        reposts_made=table("reposts_made", {
            "account_id": list(rep[0]), "target_account_id": list(rep[1]),
            "post_id": list(rep[2]), "at": ts(rep[3])}),
    )


def as_rows(edges, origin: float = T0.timestamp()) -> set[tuple]:
    """(actor, target, kind, seconds after origin) of every edge."""
    names = edges.accounts.to_pylist()
    return {(names[a], names[t], KINDS[k], int(at)) for a, t, k, at in
            zip(edges.actor, edges.target, edges.kind, edges.at - origin, strict=True)}


def test_a_repost_seen_from_both_sides_is_one_edge() -> None:
    tables = graph_tables(
        engagements=[("bob", "ann", "b1", "repost", 60), ("bob", "cat", "b1", "like", 90)],
        reposts=[("ann", "bob", "b1", 60), ("ann", "dan", None, 500)],
    )
    edges = edges_from_tables(tables)
    assert edges.accounts.to_pylist() == ["ann", "bob", "cat", "dan"]
    assert as_rows(edges) == {("ann", "bob", "repost", 60), ("cat", "bob", "like", 90),
                              ("ann", "dan", "repost", 500)}


def test_lag_is_measured_from_publication_when_the_post_is_known() -> None:
    tables = graph_tables(
        engagements=[("bob", "ann", "b1", "like", 400), ("bob", "cat", "b1", "like", 700),
                     ("eve", "ann", "e1", "like", 100)],
        reposts=[("ann", "dan", None, 50)],
        posts=[("bob", "b1", 100)],
    )
    edges = edges_from_tables(tables)
    names = edges.accounts.to_pylist()
    lag = {(names[a], names[t]): v for a, t, v in zip(edges.actor, edges.target, edges.lag,
                                                       strict=True)}
    assert lag[("ann", "bob")] == 300 and lag[("cat", "bob")] == 600
    assert lag[("ann", "eve")] == 0  # post unknown: its first engagement stands in
    assert np.isnan(lag[("ann", "dan")])  # no post at all: unknown


def test_self_engagement_is_dropped() -> None:
    edges = edges_from_arrays(["a", "a"], ["a", "b"], ["p", "q"], [0, 1])
    assert as_rows(edges, origin=0) == {("a", "b", "repost", 1)}


def test_node_numbering_does_not_depend_on_row_order() -> None:
    rows = [("c", "a", "p1", 5), ("a", "b", "p2", 7), ("d", "c", "p3", 9)]
    forward = edges_from_arrays(*zip(*rows, strict=True))
    backward = edges_from_arrays(*zip(*rows[::-1], strict=True))
    assert forward.accounts.to_pylist() == backward.accounts.to_pylist() == ["a", "b", "c", "d"]
    assert as_rows(forward) == as_rows(backward)


def test_integer_ids_and_datetime64_times_are_accepted() -> None:
    at = np.array(["2026-05-01T00:00:10", "2026-05-01T00:01:00"], dtype="datetime64[ms]")
    edges = edges_from_arrays(np.array([3, 1]), np.array([1, 2]), np.array([10, 11]), at,
                              np.array([1, 0]))
    assert edges.accounts.to_pylist() == [1, 2, 3]
    assert [KINDS[k] for k in edges.kind] == ["like", "repost"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": ["b"]}, "target_account_id: has 1 rows"),
        ({"kind": ["repost", "boost"]}, "kind: unknown values ['boost']"),
        ({"kind": [0, 9]}, "kind: integer codes"),
        ({"actor": ["a", None]}, "actor_id: 1 missing"),
        ({"at": [0.0, float("nan")]}, "at: timestamps must be finite"),
        ({"at": ["yesterday", "today"]}, "at: expected timestamps"),
    ],
)
def test_bad_arrays_name_the_field(kwargs: dict, message: str) -> None:
    args = {"actor": ["a", "b"], "target": ["b", "c"], "post": ["p", "q"], "at": [0, 1],
            "kind": None, **kwargs}
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        edges_from_arrays(args["actor"], args["target"], args["post"], args["at"], args["kind"])


def test_empty_tables_give_an_empty_graph() -> None:
    edges = edges_from_tables(empty_tables())
    assert edges.n_accounts == 0 and edges.n_edges == 0
