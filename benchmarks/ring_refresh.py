"""Refreshing the ring table from the service's edge store: wall time per stage and peak memory.

    .venv/bin/python benchmarks/ring_refresh.py                    # 10M edges (minutes)
    .venv/bin/python benchmarks/ring_refresh.py --edges 1000000    # a quicker run

Builds a SQLite edge store in a temporary folder (the service's schema, by
its Alembic migrations) from a synthetic graph: ``ring_injection.
synthetic_host`` (heavy-tailed popularity, slow genuine communities) with
rings planted among 0.1% of the accounts, as benchmarks/graph.py does; one
graph source per engaged account (its snapshot's engagements and posts), string ids as
platforms send them, packed as ``store_scored`` packs them
(``SnapshotGraph.packed``).  The rows are written straight through sqlite3
(the build is not what is measured).

Then a fresh child process, pinned to one core, runs what `trueclout rings
refresh --force` runs (``RingRefresher.refresh``): read every edge and post
row, merge, detect, write the Parquet table atomically.  Figures printed:
wall seconds per stage, the total, and the child's peak resident memory
(``ru_maxrss``: the whole process, imports included).  Timings on a shared
machine are noisy: say which machine gave them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

EDGES_PER_ACCOUNT = 16.9  # what synthetic_host gives with its defaults (benchmarks/graph.py)
RING_SIZES = (5, 10, 20, 50)
BASE_SECONDS = 1_764_547_200  # 2025-12-01T00:00:00Z: the synthetic clock's zero
SINGLE_THREAD = dict.fromkeys(
    ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ARROW_NUM_THREADS"), "1")


def build_store(path: Path, edges: int, seed: int) -> dict:
    """A migrated SQLite edge store holding a synthetic graph of about ``edges`` edges."""
    import numpy as np
    from sqlalchemy import create_engine

    from trueclout.service.db import migrate
    from trueclout.service.db.edges import SnapshotGraph
    from trueclout.training.evaluate.ring_injection import RingSpec, plant_rings, synthetic_host

    started = time.perf_counter()
    accounts = max(1_000, int(edges / EDGES_PER_ACCOUNT))
    host = synthetic_host(accounts, seed=seed)
    per_size = max(5, accounts // 1000 // len(RING_SIZES))
    host = plant_rings(host, [RingSpec(size=s, density=0.8, camouflage="some",
                                       count=max(1, per_size // s)) for s in RING_SIZES],
                       seed=seed + 1)
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()

    target = host.target.astype(np.int64)
    order = np.argsort(target, kind="stable")  # one snapshot's engagements together
    targets, first = np.unique(target[order], return_index=True)
    ends = np.r_[first[1:], len(order)]
    at_us = ((BASE_SECONDS + host.at.astype(np.int64)) * 1_000_000)[order].tolist()
    created_us = ((BASE_SECONDS + host.post_created.astype(np.int64)) * 1_000_000)[order]
    actor, post, kind = (host.actor[order].tolist(), host.post[order].tolist(),
                         host.kind[order].tolist())
    observed = datetime(2026, 12, 1, tzinfo=UTC)
    posts = 0

    def rows() -> Iterator[tuple]:
        nonlocal posts
        for source_id, (account, start, end) in enumerate(
                zip(targets.tolist(), first.tolist(), ends.tolist(), strict=True), start=1):
            span = range(start, end)
            own_posts = {post[i]: int(created_us[i]) for i in span}
            posts += len(own_posts)
            graph = SnapshotGraph(
                "twitter", f"acct{account}", observed,
                engagements=[(f"acct{actor[i]}", f"p{post[i]}", kind[i], at_us[i]) for i in span],
                reposts=[], posts=[(f"p{p}", c) for p, c in own_posts.items()])
            packed = graph.packed()
            yield (source_id, graph.account_id, packed["engagements"], packed["reposts"],
                   packed["posts"], packed["ids"], packed["id_lengths"], packed["kinds"],
                   packed["times_us"])

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany(
            "INSERT INTO graph_sources (id, platform, account_id, observed_at, digest, "
            "stored_at, expires_at, engagements, reposts, posts, ids, id_lengths, kinds, "
            "times_us) VALUES (?, 'twitter', ?, '2026-12-01 00:00:00', 'synthetic', "
            "'2026-12-01 00:00:00', '2099-01-01 00:00:00', ?, ?, ?, ?, ?, ?, ?)", rows())
    db.close()
    return {"edges": int(host.n_edges), "accounts": int(host.n_nodes),
            "sources": len(targets), "posts": posts,
            "build_s": time.perf_counter() - started,
            "db_mib": path.stat().st_size / 2**20}


def refresh_worker(store: Path, out: Path) -> dict:
    """In the child: one forced refresh, timed per stage, and the process's peak memory."""
    import pyarrow as pa

    from trueclout.service.db.engine import Database
    from trueclout.service.runtime.ring_refresh import RingRefresher
    from trueclout.settings import Settings

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    database = Database.from_settings(Settings(data_dir=store.parent,
                                               database_url=f"sqlite:///{store}"))
    stages: dict[str, float] = {}
    started = time.perf_counter()
    outcome = RingRefresher(database, out).refresh(
        force=True, on_stage=lambda stage, seconds: stages.__setitem__(stage, seconds))
    total = time.perf_counter() - started
    database.dispose()
    return {"status": outcome.status, "accounts": outcome.accounts, "edges": outcome.edges,
            "total_s": total, "stages_s": stages,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "table_mib": out.stat().st_size / 2**20}


def run_refresh(store: Path, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--refresh", str(store), "--out", str(out)]
    try:
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    except (AttributeError, OSError):
        pass
    done = subprocess.run(cmd, env={**os.environ, **SINGLE_THREAD}, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the refresh failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--refresh", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.refresh is not None:
        print(json.dumps(refresh_worker(args.refresh, args.out)))
        return 0
    with tempfile.TemporaryDirectory(prefix="ring-refresh-") as tmp:
        store = Path(tmp) / "edges.db"
        built = build_store(store, args.edges, args.seed)
        print(f"edge store: {built['edges']:,} edges, {built['sources']:,} sources, "
              f"{built['posts']:,} posts, {built['accounts']:,} accounts; "
              f"SQLite {built['db_mib']:,.0f} MiB (built in {built['build_s']:.0f} s)")
        result = run_refresh(store, Path(tmp) / "ring_table.parquet")
    for stage, seconds in result["stages_s"].items():
        print(f"  {stage:<16} {seconds:8.2f} s")
    print(f"  {'total':<16} {result['total_s']:8.2f} s   "
          f"({result['edges'] / result['total_s']:,.0f} edges/s on one core)")
    print(f"  ring table: {result['accounts']:,} accounts ({result['table_mib']:.1f} MiB)")
    print(f"  memory: peak RSS of the refreshing process {result['peak_rss_mib']:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
