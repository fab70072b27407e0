"""Ring detection over the whole engagement graph: time per stage and peak memory.

    .venv/bin/python benchmarks/graph.py                      # 1M and 10M edges (minutes)
    .venv/bin/python benchmarks/graph.py --edges 200000       # a quick run

Each size runs in a fresh worker process pinned to one CPU core (single
threaded numpy/scipy/Arrow).  The worker generates a synthetic graph
(``ring_injection.synthetic_arrays``: heavy-tailed popularity, slow genuine
communities) with rings planted among 0.1% of its accounts (sizes 5-50,
light camouflage), then runs ``detect_rings_from_arrays`` on the raw arrays,
the entry point batch scoring and Dask use.

Figures printed: wall seconds per stage (``edges`` = arrays -> graph), the
total, and memory: the worker's resident set after generating the input, and
its peak during detection (``VmHWM`` reset just before detection, so the
generator's own peak is not counted; the input arrays are).  As a sanity
check it prints precision and recall of the flagged accounts against the
planted members.  Timings on a shared machine are noisy: run it alone when
the numbers matter, and say which machine gave them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Edges per account that synthetic_arrays produces with its defaults (measured: 16.9).
EDGES_PER_ACCOUNT = 16.9
RING_SIZES = (5, 10, 20, 50)
SINGLE_THREAD = dict.fromkeys(
    ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ARROW_NUM_THREADS"), "1"
)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker(edges: int, seed: int) -> dict:
    """Generate one graph, detect rings on it, and return the figures (runs in a child)."""
    import numpy as np
    import pyarrow as pa

    from trueclout.features.graph.table import detect_rings_from_arrays
    from trueclout.training.evaluate.ring_injection import (
        RingSpec,
        detector_flags,
        plant_rings,
        score,
        synthetic_host,
    )

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    started = time.perf_counter()
    accounts = max(1_000, int(edges / EDGES_PER_ACCOUNT))
    host = synthetic_host(accounts, seed=seed)
    members_per_size = max(5, accounts // 1000 // len(RING_SIZES))
    specs = [RingSpec(size=s, density=0.8, camouflage="some", count=max(1, members_per_size // s))
             for s in RING_SIZES]
    host = plant_rings(host, specs, seed=seed + 1)
    arrays = host.arrays()
    generated = time.perf_counter() - started
    rss_input = _status_kib("VmRSS")
    peak_reset = _reset_peak()

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    table = detect_rings_from_arrays(**arrays, on_stage=lambda s, sec: stages.__setitem__(s, sec))
    total = time.perf_counter() - t0
    peak = _status_kib("VmHWM")

    flags = detector_flags(table, host.n_nodes)["rings"]
    found = score(flags, host.ring >= 0)
    return {
        "edges": int(host.n_edges),
        "accounts": int(host.n_nodes),
        "planted_members": int((host.ring >= 0).sum()),
        "generate_s": generated,
        "stages_s": stages,
        "total_s": total,
        "rss_input_mib": rss_input / 1024,
        "peak_mib": peak / 1024,
        "peak_is_detection_only": peak_reset,
        "blocks": len(table.column("ring_block_id").drop_null().unique()),
        "precision": found.precision,
        "recall": found.recall,
        "rows": int(table.num_rows),
        "numpy": np.__version__,
    }


def run_worker(edges: int, seed: int) -> dict:
    env = {**os.environ, **SINGLE_THREAD}
    cmd = [sys.executable, __file__, "--worker", str(edges), "--seed", str(seed)]
    try:
        # One core: the same CPU for the whole run, so the figure is one core's work.
        cpu = min(os.sched_getaffinity(0))
        cmd = ["taskset", "-c", str(cpu), *cmd]
    except (AttributeError, OSError):
        pass
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"worker for {edges:,} edges failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(result: dict) -> None:
    print(f"edges {result['edges']:,}  accounts {result['accounts']:,}  "
          f"planted ring members {result['planted_members']:,}  "
          f"(generated in {result['generate_s']:.1f} s)")
    for stage, seconds in result["stages_s"].items():
        print(f"  {stage:<14} {seconds:8.2f} s")
    print(f"  {'total':<14} {result['total_s']:8.2f} s   "
          f"({result['edges'] / result['total_s']:,.0f} edges/s on one core)")
    which = "during detection" if result["peak_is_detection_only"] else "of the whole worker"
    print(f"  memory: {result['rss_input_mib']:,.0f} MiB resident with the input, "
          f"peak {result['peak_mib']:,.0f} MiB {which}")
    print(f"  found {result['blocks']} blocks; flagged vs planted: precision "
          f"{result['precision']:.3f}, recall {result['recall']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", default="1000000,10000000",
                        help="comma-separated graph sizes in engagement edges")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.seed)))
        return 0
    load = os.getloadavg()
    print(f"ring detection benchmark: one core per run, {os.cpu_count()} CPUs on the machine, "
          f"load average {load[0]:.1f} at start (above 1, other work shares the CPUs)")
    for edges in (int(e) for e in args.edges.split(",")):
        report(run_worker(edges, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
