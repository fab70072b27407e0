"""The edge store and its refresher, on SQLite and PostgreSQL.

The store must give the ring table `trueclout rings` gives on the same
snapshots; re-scoring a snapshot must not duplicate its edges; a refresh
runs only when the store changed and only under the lease.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from tests.service.rings.conftest import STORED_AT, store
from trueclout.cli import main
from trueclout.contract import AccountSnapshot
from trueclout.features.graph.table import detect_rings, load_ring_table
from trueclout.service.analysts.retention import purge_account, purge_expired
from trueclout.service.db.edges import GraphSource, take_lease
from trueclout.service.db.engine import Database
from trueclout.service.runtime.ring_refresh import RingRefresher
from trueclout.settings import get_settings
from trueclout.training.sim.world import World


def sources(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(GraphSource)) or 0)


def stored_edges(database: Database) -> int:
    """Edge rows held: engagements and reposts of every source."""
    with database.transaction() as session:
        return int(session.scalar(select(func.coalesce(
            func.sum(GraphSource.engagements + GraphSource.reposts), 0))) or 0)


def assert_same_ring_table(got: pa.Table, expected: pa.Table) -> None:
    """Equal ids and integer columns; floats equal up to rounding (row order differs)."""
    assert got.column("account_id").to_pylist() == expected.column("account_id").to_pylist()
    for name in expected.column_names:
        a, b = got.column(name), expected.column(name)
        assert a.null_count == b.null_count, name
        if pa.types.is_floating(b.type):
            np.testing.assert_allclose(a.to_numpy(zero_copy_only=False),
                                       b.to_numpy(zero_copy_only=False), rtol=1e-9,
                                       err_msg=name)
        else:
            assert a.equals(b), name


def test_the_store_gives_the_ring_table_trueclout_rings_gives(
        database: Database, small_world: World, world_snapshots: list[AccountSnapshot],
        tmp_path: Path) -> None:
    for start in range(0, len(world_snapshots), 25):
        store(database, world_snapshots[start:start + 25])
    outcome = RingRefresher(database, tmp_path / "rings.parquet").refresh()
    assert outcome.status == "refreshed"
    expected = detect_rings(small_world.tables)
    got = load_ring_table(outcome.path)
    assert outcome.accounts == got.num_rows == expected.num_rows
    assert_same_ring_table(got, expected)
    assert sources(database) == len(world_snapshots)


def test_the_same_snapshot_again_adds_nothing_and_a_newer_one_replaces(
        database: Database, world_snapshots: list[AccountSnapshot], tmp_path: Path) -> None:
    snapshot = max(world_snapshots, key=lambda s: len(s.engagements))
    edges = len({(e.actor_id, e.post_id, e.kind, e.at) for e in snapshot.engagements}) + len(
        {(r.target_account_id, r.post_id, r.at) for r in snapshot.reposts_made})
    refresher = RingRefresher(database, tmp_path / "rings.parquet")
    store(database, [snapshot])
    assert refresher.refresh().status == "refreshed"
    store(database, [snapshot], stored_at=STORED_AT + timedelta(days=1))
    assert (sources(database), stored_edges(database)) == (1, edges)
    with database.transaction() as session:
        assert session.scalar(select(GraphSource.posts)) == len(snapshot.posts)
    assert refresher.refresh().status == "unchanged"  # nothing new: no recompute
    with database.transaction() as session:  # but the edges live as long as the newest copy
        expires = session.scalar(select(GraphSource.expires_at))
    assert expires == STORED_AT + timedelta(days=91)

    newer = snapshot.model_copy(update={"observed_at": snapshot.observed_at + timedelta(hours=1),
                                        "engagements": snapshot.engagements[:10]})
    store(database, [newer])
    assert (sources(database), stored_edges(database)) == (1, 10 + len(snapshot.reposts_made))
    older = snapshot.model_copy(update={"observed_at": snapshot.observed_at - timedelta(days=1)})
    store(database, [older])  # a backfill: the newer snapshot's edges stay
    assert stored_edges(database) == 10 + len(snapshot.reposts_made)
    assert refresher.refresh().status == "refreshed"


def test_a_refresh_runs_only_when_the_store_changed(
        database: Database, world_snapshots: list[AccountSnapshot], tmp_path: Path) -> None:
    path = tmp_path / "rings.parquet"
    refresher = RingRefresher(database, path)
    assert refresher.refresh().status == "empty"
    assert not path.exists()
    store(database, world_snapshots[:30])
    first = refresher.refresh()
    assert first.status == "refreshed" and first.edges > 0
    written = path.stat().st_mtime_ns
    assert refresher.refresh().status == "unchanged"
    assert path.stat().st_mtime_ns == written
    assert refresher.refresh(force=True).status == "refreshed"
    path.unlink()
    assert refresher.refresh().status == "refreshed"  # a missing table is always rebuilt
    store(database, world_snapshots[30:31])
    assert refresher.refresh().status == "refreshed"
    database.call(purge_account, platform=world_snapshots[0].platform,
                  account_id=world_snapshots[0].account_id, now=STORED_AT)
    assert refresher.refresh().status == "refreshed"  # a purge changes the store too


def test_edges_go_with_retention_and_with_an_account_purge(
        database: Database, world_snapshots: list[AccountSnapshot]) -> None:
    kept, expiring = world_snapshots[:3], world_snapshots[3:6]
    store(database, kept)
    store(database, expiring, stored_at=STORED_AT - timedelta(days=100))
    counts = purge_expired(database, now=STORED_AT)
    assert counts["graph_sources"] == 3
    with database.transaction() as session:
        left = set(session.scalars(select(GraphSource.account_id)))
    assert left == {s.account_id for s in kept}
    assert stored_edges(database) == sum(len(s.engagements) + len(s.reposts_made) for s in kept)
    victim = kept[0]
    counts = database.call(purge_account, platform=victim.platform, account_id=victim.account_id,
                           now=STORED_AT)
    assert counts["graph_sources"] == 1
    with database.transaction() as session:
        assert not session.scalar(select(func.count()).select_from(GraphSource)
                                  .where(GraphSource.account_id == victim.account_id))
    assert stored_edges(database) == sum(
        len(s.engagements) + len(s.reposts_made) for s in kept[1:])


def test_no_edges_are_kept_without_snapshot_retention(
        database: Database, world_snapshots: list[AccountSnapshot]) -> None:
    store(database, world_snapshots[:3], retention_days=0)
    assert sources(database) == stored_edges(database) == 0


def test_a_held_lease_makes_others_wait_until_it_expires(
        database: Database, world_snapshots: list[AccountSnapshot], tmp_path: Path) -> None:
    store(database, world_snapshots[:10])
    assert database.call(take_lease, holder="crashed-worker", now=STORED_AT,
                         lease=timedelta(minutes=5))
    during = RingRefresher(database, tmp_path / "r.parquet", clock=lambda: STORED_AT
                           + timedelta(minutes=4)).refresh()
    assert (during.status, during.holder) == ("busy", "crashed-worker")
    assert "another refresh is running (crashed-worker" in during.message()
    after = RingRefresher(database, tmp_path / "r.parquet", clock=lambda: STORED_AT
                          + timedelta(minutes=6)).refresh()
    assert after.status == "refreshed"


def test_rings_refresh_command_says_when_another_refresh_holds_the_lease(
        database: Database, world_snapshots: list[AccountSnapshot], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRUECLOUT_DATABASE_URL",
                       database.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        out = tmp_path / "from-cli.parquet"
        assert main(["rings", "refresh", "--out", str(out)]) == 0
        assert "the edge store is empty" in capsys.readouterr().out
        store(database, world_snapshots[:20])
        assert main(["rings", "refresh", "--out", str(out)]) == 0
        printed = capsys.readouterr()
        assert f"wrote ring table {out}" in printed.out and "stored edges" in printed.out
        assert "read edge store" in printed.err
        from trueclout.files import utc_now

        assert database.call(take_lease, holder="someone-else", now=utc_now(),
                             lease=timedelta(minutes=5))
        assert main(["rings", "refresh", "--out", str(out), "--force"]) == 3
        assert "error: another refresh is running (someone-else" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


@pytest.mark.dask
@pytest.mark.slow
def test_reading_the_store_on_dask_gives_the_same_table(
        database: Database, world_snapshots: list[AccountSnapshot], tmp_path: Path,
        dask_scheduler: str) -> None:
    store(database, world_snapshots)
    local = RingRefresher(database, tmp_path / "local.parquet").refresh()
    on_dask = RingRefresher(database, tmp_path / "dask.parquet", scheduler=dask_scheduler,
                            chunk_edges=5_000).refresh(force=True)
    assert (local.status, on_dask.status) == ("refreshed", "refreshed")
    assert on_dask.edges == local.edges
    assert_same_ring_table(load_ring_table(on_dask.path), load_ring_table(local.path))
