"""Batch scoring: accounts per second, time per stage and peak memory, in-process and on Dask.

    .venv/bin/python benchmarks/batch.py                        # 100,000 accounts (many minutes)
    .venv/bin/python benchmarks/batch.py --accounts 10000       # a smaller world
    .venv/bin/python benchmarks/batch.py --data FOLDER          # a table folder you already have
    .venv/bin/python benchmarks/batch.py --accounts 10000 --graph-only
                                            # peak memory of the lean graph stage vs the old one
    .venv/bin/python benchmarks/batch.py --accounts 10000 --jsonl --runners in-process
                                            # also from the same world as JSON Lines
    .venv/bin/python benchmarks/batch.py --data FILE.jsonl --stage-only
                                            # staging JSON Lines: by blocks vs record by record

The world is generated once with the simulator (``write_world``, at a modest
engagement scale so 100,000 accounts fit the machine) and kept under
``--cache`` for later runs; with ``--jsonl`` it is also written as JSON Lines
(``snapshots.jsonl``, the contract's own format), and each runner scores both.
Runner ``records`` is ``in-process`` with JSON Lines staged record by record
through the models, as before the block decoder (the same on a table folder).
``--stage-only`` times the staging of a JSON Lines file alone, in fresh
processes taking turns: decoded in blocks (``batch.decode``) and, with
``--old-stage``, record by record through the models (the path before the
block decoder); both must stage the same tables.  Each runner then scores it in a fresh child
process with the shipped default model: ``in-process`` (chunks, one after
the other, in one process), ``processes`` (the same run with a spawned
worker process per core reading the edge parts and scoring the chunks, as
``trueclout batch`` runs by default) and ``dask`` (a new ``LocalCluster``:
one worker process per core, one thread each).  Worker start-up is included
in the wall time, as a user pays it.

Printed per runner: accounts per second over the whole run, wall seconds,
CPU seconds of the client process and (Dask) of the worker processes, wall
and CPU seconds per stage (read, graph, features, predict, compose, write;
on Dask the scoring stages are summed over workers, so they exceed the
wall time), the graph's edge rows and the bytes per edge its compact parts
held, and peak resident memory (``VmHWM``) of the client and of each worker.
The machine's load average is printed first: timings on a shared machine
are noisy, CPU seconds less so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("read", "graph", "features", "predict", "compose", "write")
DEFAULT_CACHE = Path("/tmp/trueclout-bench")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def world_folder(accounts: int, seed: int, cache: Path, engagement_scale: float,
                 followers_sample: int, jsonl: bool = False) -> Path:
    """A simulated table folder of ``accounts`` (generated once, then reused); with
    ``jsonl``, ``snapshots.jsonl`` in it holds the same world as JSON Lines."""
    folder = cache / (f"batch-{accounts}-s{seed}-e{engagement_scale:g}-f{followers_sample}"
                      + ("-jsonl" if jsonl else ""))
    if (folder / "manifest.json").exists():
        return folder
    from trueclout.training.sim.world import write_world

    print(f"generating {accounts:,} accounts into {folder} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    write_world(folder, accounts, seed, engagement_scale=engagement_scale,
                followers_sample=followers_sample, formats="both" if jsonl else "parquet")
    print(f"  generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def child(runner: str, data: Path, out: Path, chunk_accounts: int) -> dict:
    """Score ``data`` with one runner in this (fresh) process; returns the figures."""
    from trueclout.cluster import available_cores
    from trueclout.models.artifact import SHIPPED_DIR
    from trueclout.service.batch.chunk import ArtifactScorerSpec
    from trueclout.service.batch.run import BatchOptions, run_batch

    spec = ArtifactScorerSpec(str(SHIPPED_DIR))
    options = BatchOptions(chunk_accounts=chunk_accounts, run_id="benchmark",
                           workers=available_cores() if runner == "processes" else 1)
    if runner == "records":  # in-process, JSON Lines staged as before batch.decode
        from trueclout.service.batch import inputs

        inputs._stage_json_lines = inputs._stage_json  # type: ignore[assignment]
    if runner == "dask":
        from trueclout.service.batch.on_dask import run_batch_on_dask

        result = run_batch_on_dask(data, out, spec, options)
    else:
        result = run_batch(data, out, spec, options)
    stats = result.edge_stats
    return {
        "runner": result.runner + (", JSON Lines staged record by record"
                                   if runner == "records" else ""),
        "accounts": result.accounts, "wall": result.wall,
        "cpu": result.cpu, "worker_cpu": result.worker_cpu,
        "rate": result.accounts_per_second,
        "stages_wall": result.times.wall, "stages_cpu": result.times.cpu,
        "graph_stages": result.graph_stages,
        "edges": stats.edges if stats else 0,
        "bytes_per_edge": stats.bytes_per_edge if stats else 0.0,
        "part_mib": stats.part_bytes / 2**20 if stats else 0.0,
        "peak_mib": _peak_mib(), "worker_peak_mib": result.worker_peak_mib,
    }


def graph_child(mode: str, data: Path, chunk_accounts: int) -> dict:
    """Peak memory of one graph ingestion: ``lean`` (this batch) or ``tables`` (the old one)."""
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "lean":
        from trueclout.service.batch.graph import detect_rings_streaming

        ring, stats = detect_rings_streaming(data, chunk_accounts=chunk_accounts)
        edges, per_edge = stats.edges, stats.bytes_per_edge
    else:
        from trueclout.features.graph.table import detect_rings
        from trueclout.training.data.labelled import LabelledSet, read_graph_tables

        tables = read_graph_tables(LabelledSet(data, data, None, None))  # type: ignore[arg-type]
        edges, per_edge = tables.engagements.num_rows + tables.reposts_made.num_rows, 0.0
        ring = detect_rings(tables)
    return {"mode": mode, "rows": ring.num_rows, "edges": edges, "bytes_per_edge": per_edge,
            "wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "peak_mib": _peak_mib()}


def stage_child(mode: str, source: Path) -> dict:
    """Stage ``source`` (JSON Lines) once: ``blocks`` (``batch.decode``) or ``records``
    (record by record through the models, as before the block decoder)."""
    import hashlib
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from trueclout.service.batch import inputs

    folder = Path(tempfile.mkdtemp(prefix="stage-bench-", dir=source.parent))
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "records":
        invalid = inputs._stage_json(source, folder, inputs.OnError.skip, lambda _l: None,
                                     2_000)
    else:
        invalid = inputs._stage_json_lines(source, folder, inputs.OnError.skip,
                                           lambda _l: None, 2_000)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    accounts = pq.ParquetFile(folder / "profiles.parquet").metadata.num_rows
    digest = {}  # each staged table's rows and a digest of its content
    for name in ("profiles", "follower_history", "followers", "posts", "engagements",
                 "reposts_made"):
        table = pq.read_table(folder / f"{name}.parquet").combine_chunks()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as stream:
            stream.write_table(table)
        digest[name] = f"{table.num_rows} rows, {hashlib.sha256(sink.getvalue()).hexdigest()[:16]}"

    shutil.rmtree(folder)
    return {"mode": mode, "accounts": accounts, "invalid": invalid, "wall": wall, "cpu": cpu,
            "rows": digest, "peak_mib": _peak_mib()}


def run_child(*args: str) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, __file__, "--child", *args], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child {args} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(figures: dict) -> None:
    print(f"\n{figures['runner']}: {figures['accounts']:,} accounts in {figures['wall']:.1f} s "
          f"= {figures['rate']:,.0f} accounts/s")
    cpu = f"client CPU {figures['cpu']:.1f} s"
    if figures["worker_cpu"]:
        cpu += f", worker CPU {figures['worker_cpu']:.1f} s"
    print(f"  {cpu}")
    print(f"  {'stage':<10}{'wall s':>10}{'CPU s':>10}")
    for stage in STAGES:
        print(f"  {stage:<10}{figures['stages_wall'].get(stage, 0.0):>10.1f}"
              f"{figures['stages_cpu'].get(stage, 0.0):>10.1f}")
    if figures["edges"]:
        inner = ", ".join(f"{k} {v:.1f} s" for k, v in figures["graph_stages"].items())
        print(f"  graph: {figures['edges']:,} edge rows, compact parts "
              f"{figures['part_mib']:,.0f} MiB ({figures['bytes_per_edge']:.1f} bytes/edge); "
              f"{inner}")
    peaks = figures["worker_peak_mib"]
    workers = f"; workers {', '.join(f'{p:,.0f}' for p in peaks)} MiB" if peaks else ""
    print(f"  peak RSS: client {figures['peak_mib']:,.0f} MiB{workers}")


def stage_only(source: Path, old: bool, repeat: int) -> int:
    """Staging of ``source`` by each variant, taking turns, ``repeat`` times; medians."""
    modes = ["blocks", *(["records"] if old else [])]
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for _ in range(repeat):
        for mode in modes:
            runs[mode].append(run_child("stage", mode, str(source)))
    rows = {json.dumps(r["rows"], sort_keys=True) for rs in runs.values() for r in rs}
    print(f"source: {source} ({source.stat().st_size / 2**20:,.0f} MiB)")
    for mode, rs in runs.items():
        walls = sorted(r["wall"] for r in rs)
        wall = walls[len(walls) // 2]
        first = rs[0]
        print(f"staging by {mode}: {first['accounts']:,} accounts ({first['invalid']} invalid) "
              f"in {wall:.1f} s median = {first['accounts'] / wall:,.0f} accounts/s "
              f"(runs {', '.join(f'{w:.1f}' for w in walls)} s); CPU here "
              f"{sorted(r['cpu'] for r in rs)[len(rs) // 2]:.1f} s; peak RSS "
              f"{max(r['peak_mib'] for r in rs):,.0f} MiB")
    print("same tables staged by every variant" if len(rows) == 1 else
          f"VARIANTS DIFFER: {rows}")
    print(f"(load average now: {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 0 if len(rows) == 1 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--data", type=Path,
                        help="score this table folder (or JSON Lines file) instead")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engagement-scale", type=float, default=0.1)
    parser.add_argument("--followers-sample", type=int, default=50)
    parser.add_argument("--chunk-accounts", type=int, default=2_000)
    parser.add_argument("--runners", default="in-process,processes,dask",
                        help="in-process (one process), processes (in-process with a worker "
                        "process per core, as `trueclout batch` runs by default), dask, records")
    parser.add_argument("--graph-only", action="store_true",
                        help="compare the graph stage's peak memory: lean vs old ingestion")
    parser.add_argument("--jsonl", action="store_true",
                        help="also write the world as JSON Lines and score that too")
    parser.add_argument("--stage-only", action="store_true",
                        help="time staging JSON Lines (--data FILE, or the --jsonl world)")
    parser.add_argument("--old-stage", action="store_true",
                        help="with --stage-only: also time the record-by-record staging")
    parser.add_argument("--repeat", type=int, default=3,
                        help="with --stage-only: runs per variant (the median is printed)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "graph":
            figures = graph_child(rest[0], Path(rest[1]), int(rest[2]))
        elif kind == "stage":
            figures = stage_child(rest[0], Path(rest[1]))
        else:
            figures = child(kind, Path(rest[0]), Path(rest[1]), int(rest[2]))
        print(json.dumps(figures))
        return 0

    args.cache.mkdir(parents=True, exist_ok=True)
    jsonl = args.jsonl or (args.stage_only and args.data is None)
    data = args.data or world_folder(args.accounts, args.seed, args.cache,
                                     args.engagement_scale, args.followers_sample, jsonl)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"data: {data}; cores: {os.cpu_count()}; load average at start: {load}")
    if args.stage_only:
        return stage_only(data if data.is_file() else data / "snapshots.jsonl", args.old_stage,
                          args.repeat)
    if args.graph_only:
        for mode in ("lean", "tables"):
            g = run_child("graph", mode, str(data), str(args.chunk_accounts))
            print(f"graph stage, {mode} ingestion: {g['edges']:,} edge rows, {g['rows']:,} "
                  f"accounts in the ring table, {g['wall']:.1f} s wall, {g['cpu']:.1f} s CPU, "
                  f"peak RSS {g['peak_mib']:,.0f} MiB")
        return 0
    out = args.cache / "batch-benchmark.parquet"
    sources = [data, data / "snapshots.jsonl"] if args.jsonl and data.is_dir() else [data]
    for runner in args.runners.split(","):
        for source in sources:
            if len(sources) > 1:
                print(f"\n[{'JSON Lines' if source.is_file() else 'Parquet table folder'}]")
            report(run_child(runner, str(source), str(out), str(args.chunk_accounts)))
            print(f"  (load average now: {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    out.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
