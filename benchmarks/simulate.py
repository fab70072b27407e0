"""How fast the synthetic world is generated and written, and how much memory it takes.

    .venv/bin/python benchmarks/simulate.py                  # 100,000 accounts (minutes)
    .venv/bin/python benchmarks/simulate.py --accounts 5000  # a quick run

Writes Parquet only (no snapshots.jsonl) to a temporary folder, then prints
wall time, accounts per second, rows per table, bytes on disk and peak memory
(the process's maximum resident set size, which includes the Python runtime).
Timings on a shared machine are noisy: run it alone when the numbers matter.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--followers-sample", type=int, default=200)
    parser.add_argument("--chunk-accounts", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the output here instead of a temporary folder")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from trueclout.training.sim.world import write_world

    with tempfile.TemporaryDirectory(prefix="trueclout-sim-") as tmp:
        out = args.out or Path(tmp) / "world"
        bar = tqdm(total=args.accounts, unit="acct", file=sys.stderr)
        started = time.perf_counter()
        manifest = write_world(out, args.accounts, args.seed, formats="parquet",
                               chunk_accounts=args.chunk_accounts, on_chunk=bar.update,
                               followers_sample=args.followers_sample)
        wall = time.perf_counter() - started
        bar.close()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        total_bytes = sum(f["bytes"] for f in manifest["files"].values())

    print(f"accounts            {args.accounts:,} (seed {args.seed}, "
          f"{args.followers_sample}-follower samples, chunks of {args.chunk_accounts:,})")
    print(f"wall time           {wall:,.1f} s")
    print(f"accounts per second {args.accounts / wall:,.0f}")
    for name, rows in manifest["rows"].items():
        print(f"rows {name:<18} {rows:,}")
    print(f"bytes on disk       {total_bytes / 2**20:,.1f} MiB (zstd Parquet)")
    print(f"peak memory (RSS)   {peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
