"""Two workers (threads with separate engines) score, store and refresh at the same time.

On SQLite and PostgreSQL: at no moment do two refreshers work at once, and
every edge of every acknowledged store is there at the end: the ring table
then equals `trueclout rings` over the same snapshots.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.service.rings.conftest import STORED_AT, store
from tests.service.rings.test_edge_store import assert_same_ring_table, stored_edges
from trueclout.contract import AccountSnapshot
from trueclout.features.graph.table import detect_rings, load_ring_table
from trueclout.service.db.edges import GraphSource, SnapshotGraph
from trueclout.service.db.engine import Database
from trueclout.service.runtime.ring_refresh import RefreshOutcome, RingRefresher
from trueclout.settings import Settings
from trueclout.training.sim.world import World

BATCH = 4


class Overlap:
    """Counts refreshers inside their critical section; remembers the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def __enter__(self) -> None:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.inside -= 1


def watched_refresher(database: Database, path: Path, overlap: Overlap) -> RingRefresher:
    class Watched(RingRefresher):
        def _refresh_holding_lease(self, force, on_stage):  # type: ignore[no-untyped-def]
            with overlap:
                time.sleep(0.05)  # widen the window another refresher could slip into
                return super()._refresh_holding_lease(force, on_stage)

    return Watched(database, path)


def test_one_refresher_at_a_time_and_no_lost_edges(
        database: Database, small_world: World, world_snapshots: list[AccountSnapshot],
        tmp_path: Path) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "rings.parquet"
    overlap = Overlap()
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    shared = world_snapshots[:8]  # both workers store these: the same rows, raced
    start = threading.Barrier(2)

    def worker(mine: list[AccountSnapshot]) -> None:
        own = Database.from_settings(Settings(data_dir=tmp_path, database_url=url))
        refresher = watched_refresher(own, path, overlap)
        try:
            start.wait()
            for i in range(0, len(mine), BATCH):
                store(own, mine[i:i + BATCH], stored_at=STORED_AT + timedelta(seconds=i))
                outcome: RefreshOutcome = refresher.refresh(force=True)
                outcomes[outcome.status] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            own.dispose()

    halves = [shared + world_snapshots[8 + k::2] for k in (0, 1)]
    threads = [threading.Thread(target=worker, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert overlap.most == 1
    assert outcomes["refreshed"] >= 2 and sum(outcomes.values()) == sum(
        -(-len(h) // BATCH) for h in halves)

    expected_edges = sum(SnapshotGraph.of(s).n_edges for s in world_snapshots)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(GraphSource)) == len(
            world_snapshots)
    assert stored_edges(database) == expected_edges
    final = RingRefresher(database, path).refresh(force=True)
    assert final.status == "refreshed"
    assert_same_ring_table(load_ring_table(path), detect_rings(small_world.tables))
