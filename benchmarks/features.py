"""How fast snapshots become feature rows: one snapshot online, and many from Parquet.

    .venv/bin/python benchmarks/features.py                      # 100,000 accounts (minutes)
    .venv/bin/python benchmarks/features.py --accounts 10000     # a quick run
    .venv/bin/python benchmarks/features.py --data /tmp/feat100k # reuse generated tables
    .venv/bin/python benchmarks/features.py --workers 1          # batch in one process
    .venv/bin/python benchmarks/features.py --workers 1 --plain  # ... reading as before

Every account has the shape the targets are stated for: 200 sampled
followers, 1,200 engagements on 40 posts, 120 days of follower history and
20 reposts of its own.  The tables are generated here, vectorised and seeded
(``--data`` keeps them for reuse), with realistic string sizes (19-digit ids,
usernames, bios).

Prints
- online: ``snapshot_to_tables`` + ``compute_features`` for one snapshot,
  p50 / p99 over ``--runs`` runs (and each part's p50), wall and CPU time;
- batch: accounts per second computing features from the Parquet folder,
  measured in a fresh child process whose peak resident memory is reported.
  By default one worker process per core each reads its own chunks
  (``plan_table_chunks`` / ``read_table_span``), reading only the columns
  the kernels use with repeated strings dictionary-encoded; ``--workers 1``
  streams ``iter_table_chunks`` in the child itself, ``--plain`` reads every
  column as plain values, ``--tune-malloc`` sets glibc's malloc to keep
  freed memory for reuse.

Targets (issue 3): p50 <= 2 ms online, >= 5,000 accounts/s in batch.  The
machine is shared: timings taken while others run are noisy, so the load
average is printed with each figure and CPU time beside wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

FOLLOWERS = 200
POSTS = 40
ENGAGEMENTS = 1_200
HISTORY_DAYS = 120
REPOSTS_MADE = 20
FANS = 700  # distinct actors an account's engagement is drawn from
OBSERVED = datetime(2026, 6, 1, tzinfo=UTC)
_US = 1_000_000
_DAY_US = 86_400 * _US
_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz_", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_TEXT = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     .,", dtype=np.uint8)


def random_strings(rng: np.random.Generator, n: int, low: int, high: int,
                   alphabet: np.ndarray, null_share: float = 0.0) -> pa.Array:
    """``n`` random strings of ``low``..``high`` bytes, built straight into Arrow buffers."""
    lengths = rng.integers(low, high + 1, n)
    valid = rng.random(n) >= null_share
    lengths = np.where(valid, lengths, 0)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    data = alphabet[rng.integers(0, len(alphabet), int(offsets[-1]))]
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), n, [mask, pa.py_buffer(offsets),
                                                  pa.py_buffer(data.tobytes())],
                                 null_count=int((~valid).sum()))


def numeric_ids(rng: np.random.Generator, n: int) -> pa.Array:
    return pa.array(rng.integers(10**17, 10**19, n, dtype=np.uint64).astype(str))


def _ts(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype(np.int64), pa.timestamp("us", tz="UTC"))


def generate_chunk(first: int, count: int, seed: int):
    """Tables of accounts ``first .. first + count`` with the benchmark's fixed shape."""
    from trueclout.tables import SCHEMAS, SnapshotTables

    rng = np.random.default_rng([seed, first])
    now = int(OBSERVED.timestamp()) * _US
    ids = pa.array([f"{10**18 + 7_919 * (first + k):019d}" for k in range(count)])
    idx = np.arange(count)

    def rep(k: int) -> pa.Array:
        return ids.take(pa.array(np.repeat(idx, k)))

    created = now - rng.integers(300, 4_000, count) * _DAY_US
    base = rng.integers(1_000, 200_000, count)
    profiles = {
        "account_id": ids, "platform": pa.array(["twitter"] * count),
        "observed_at": _ts(np.full(count, now)), "raw_score": pa.array(rng.uniform(0, 100, count)),
        "username": random_strings(rng, count, 5, 15, _LETTERS),
        "display_name": random_strings(rng, count, 3, 20, _TEXT),
        "created_at": _ts(created), "followers_count": pa.array(base + 3_000),
        "following_count": pa.array(rng.integers(10, 3_000, count)),
        "posts_count": pa.array(rng.integers(100, 20_000, count)),
        "listed_count": pa.array(rng.integers(0, 500, count)),
        "likes_count": pa.nulls(count, pa.int64()),
        "verified": pa.array(rng.random(count) < 0.02),
        "default_avatar": pa.array(rng.random(count) < 0.03),
        "bio": random_strings(rng, count, 0, 160, _TEXT, 0.1),
        "url": random_strings(rng, count, 10, 30, _LETTERS, 0.6),
        "location": random_strings(rng, count, 3, 20, _TEXT, 0.5),
    }
    n_f = count * FOLLOWERS
    f_created = now - rng.integers(1, 5_000, n_f) * _DAY_US - rng.integers(0, _DAY_US, n_f)
    followers = {
        "account_id": rep(FOLLOWERS), "position": pa.array(np.tile(np.arange(FOLLOWERS), count),
                                                            pa.int32()),
        "follower_id": numeric_ids(rng, n_f),
        "username": random_strings(rng, n_f, 4, 15, np.concatenate([_LETTERS, _DIGITS])),
        "display_name": random_strings(rng, n_f, 3, 24, _TEXT, 0.1),
        "created_at": _ts(f_created),
        "followers_count": pa.array(rng.lognormal(4.6, 1.4, n_f).astype(np.int64)),
        "following_count": pa.array(rng.lognormal(5.4, 1.0, n_f).astype(np.int64)),
        "posts_count": pa.array(rng.lognormal(6.0, 1.6, n_f).astype(np.int64)),
        "listed_count": pa.nulls(n_f, pa.int64()), "likes_count": pa.nulls(n_f, pa.int64()),
        "verified": pa.array(np.zeros(n_f, bool)),
        "default_avatar": pa.array(rng.random(n_f) < 0.08),
        "bio": random_strings(rng, n_f, 0, 120, _TEXT, 0.2),
        "url": random_strings(rng, n_f, 10, 30, _LETTERS, 0.8),
        "location": random_strings(rng, n_f, 3, 20, _TEXT, 0.6),
        "followed_at": _ts(np.maximum(f_created, now - rng.integers(1, 400, n_f) * _DAY_US)),
    }
    day0 = now // _DAY_US - HISTORY_DAYS
    gains = rng.poisson(20, (count, HISTORY_DAYS)).cumsum(axis=1) + base[:, None]
    history = {
        "account_id": rep(HISTORY_DAYS),
        "date": pa.array(np.tile(day0 + np.arange(HISTORY_DAYS), count).astype(np.int32),
                         pa.date32()),
        "followers": pa.array(gains.ravel()),
        "following": pa.array(np.repeat(rng.integers(10, 3_000, count), HISTORY_DAYS)),
    }
    n_p = count * POSTS
    post_at = now - rng.integers(3_600, HISTORY_DAYS * 86_400, n_p) * _US
    post_no = np.tile(np.arange(POSTS), count)
    post_ids = pa.array(np.char.add(np.char.add(np.repeat(np.asarray(ids.to_pylist()), POSTS),
                                                ":p"), post_no.astype(str)))
    posts = {
        "account_id": rep(POSTS), "post_id": post_ids, "created_at": _ts(post_at),
        "kind": pa.array(["original"] * n_p),
        "reposts_count": pa.array(rng.integers(0, 100, n_p)),
        "likes_count": pa.array(rng.integers(0, 1_000, n_p)),
        "replies_count": pa.array(rng.integers(0, 50, n_p)),
    }
    n_e = count * ENGAGEMENTS
    owner = np.repeat(idx, ENGAGEMENTS)
    which = rng.integers(0, POSTS, n_e)
    post_row = owner * POSTS + which
    delay = np.minimum(rng.lognormal(9.8, 1.9, n_e), 30 * 86_400).astype(np.int64) * _US
    fan = owner * 1_000_003 + rng.integers(0, FANS, n_e)
    engagements = {
        "account_id": rep(ENGAGEMENTS),
        "actor_id": pa.array((fan * 7_777_777 + 10**17).astype(str)),
        "post_id": post_ids.take(pa.array(post_row)),
        "kind": pa.array(np.array(["like", "repost", "reply", "quote"])[
            rng.choice(4, n_e, p=[0.75, 0.15, 0.07, 0.03])]),
        "at": _ts(np.minimum(post_at[post_row] + delay, now)),
    }
    n_r = count * REPOSTS_MADE
    reposts = {
        "account_id": rep(REPOSTS_MADE), "target_account_id": numeric_ids(rng, n_r),
        "post_id": pa.nulls(n_r, pa.string()),
        "at": _ts(now - rng.integers(1, HISTORY_DAYS * 86_400, n_r) * _US),
    }
    parts = {"profiles": profiles, "follower_history": history, "followers": followers,
             "posts": posts, "engagements": engagements, "reposts_made": reposts}
    return SnapshotTables(**{name: pa.table(cols, schema=SCHEMAS[name])
                             for name, cols in parts.items()})


def write_data(path: Path, accounts: int, seed: int, chunk: int = 2_000) -> None:
    from tqdm import tqdm

    from trueclout.io import TablesWriter

    with TablesWriter(path) as writer, tqdm(total=accounts, unit="acct", file=sys.stderr,
                                            desc="generating") as bar:
        for first in range(0, accounts, chunk):
            count = min(chunk, accounts - first)
            writer.write(generate_chunk(first, count, seed))
            bar.update(count)
    (path / "benchmark.json").write_text(json.dumps({"accounts": accounts, "seed": seed}))


# glibc returns big freed blocks to the kernel and takes fresh zeroed pages for the
# next chunk's arrays; these keep them in the heap (measured: see the module docs).
MALLOC_TUNING = {"MALLOC_TOP_PAD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(8 << 30),
                 "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q)) * 1e3


def online(runs: int, seed: int) -> None:
    """Latency of one snapshot: the conversion to tables and the features."""
    from trueclout.contract import AccountSnapshot
    from trueclout.features.pipeline import compute_features
    from trueclout.tables import snapshot_to_tables, tables_to_snapshots

    # Parsed from JSON, as the service receives it (pydantic's own time zones).
    snapshot = AccountSnapshot.model_validate_json(
        next(tables_to_snapshots(generate_chunk(0, 1, seed))).model_dump_json())
    for _ in range(50):
        compute_features(snapshot_to_tables(snapshot))
    total, convert, features, cpu = [], [], [], []
    for _ in range(runs):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        tables = snapshot_to_tables(snapshot)
        t1 = time.perf_counter()
        compute_features(tables)
        t2 = time.perf_counter()
        cpu.append(time.thread_time() - c0)
        total.append(t2 - t0)
        convert.append(t1 - t0)
        features.append(t2 - t1)
    print(f"online, one snapshot ({FOLLOWERS} followers, {ENGAGEMENTS:,} engagements, "
          f"{HISTORY_DAYS} history days), {runs:,} runs:")
    print(f"  snapshot_to_tables + compute_features  p50 {percentile_ms(total, 50):.2f} ms  "
          f"p99 {percentile_ms(total, 99):.2f} ms   (target p50 <= 2 ms)")
    print(f"  of which snapshot_to_tables            p50 {percentile_ms(convert, 50):.2f} ms")
    print(f"  of which compute_features              p50 {percentile_ms(features, 50):.2f} ms")
    print(f"  CPU time of the thread (less sensitive to other load)  p50 "
          f"{percentile_ms(cpu, 50):.2f} ms  p99 {percentile_ms(cpu, 99):.2f} ms")
    print(f"  load average at the end (1, 5, 15 min): "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def read_ahead(chunks: Iterator, depth: int = 1) -> Iterator:
    """Yield from ``chunks`` while a thread already reads the next one.

    Parquet decoding and most numpy kernels release the GIL, so on two
    cores reading chunk k + 1 overlaps computing chunk k.
    """
    done = object()
    slots: queue.Queue = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for item in chunks:
                slots.put(item)
            slots.put(done)
        except BaseException as exc:  # hand the error to the consumer
            slots.put(exc)

    threading.Thread(target=produce, daemon=True).start()
    while (item := slots.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def _read_options(plain: bool) -> dict:
    """How the batch reads Parquet: only the columns the kernels read, repeated strings
    as dictionaries (``plain``: every column as plain values, as before)."""
    if plain:
        return {}
    from trueclout.features.kernels.columns import DICTIONARY_COLUMNS, FEATURE_COLUMNS

    return {"columns": FEATURE_COLUMNS, "dictionary": DICTIONARY_COLUMNS}


def _span_features(job: tuple[Path, object, bool]) -> tuple:
    """One chunk in a worker process: read its rows, compute its features."""
    from trueclout.features.pipeline import compute_features
    from trueclout.io import read_table_span

    path, span, plain = job
    c0 = time.process_time()
    tables = read_table_span(path, span, use_threads=False, **_read_options(plain))
    c1 = time.process_time()
    frame = compute_features(tables)
    return frame, c1 - c0, time.process_time() - c1


def batch(path: Path, chunk: int, ahead: bool, workers: int, plain: bool) -> dict:
    """Stream the folder and compute features chunk by chunk (run in a child process).

    With ``workers`` > 1, a pool of processes each reads and computes its own
    chunks (``plan_table_chunks`` says where each chunk lies), and the parent
    collects the feature frames in order.
    """
    from tqdm import tqdm

    from trueclout.features.pipeline import compute_features
    from trueclout.io import count_accounts, iter_table_chunks, plan_table_chunks

    total = count_accounts(path)
    done = 0
    reading = computing = 0.0
    started = time.perf_counter()
    cpu_started = time.process_time()
    with tqdm(total=total, unit="acct", file=sys.stderr, desc="features") as bar:
        if workers > 1:
            import multiprocessing

            spans = plan_table_chunks(path, chunk_accounts=chunk)
            planned = time.perf_counter() - started
            jobs = [(path, span, plain) for span in spans]
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for frame, read_cpu, feature_cpu in pool.imap(_span_features, jobs):
                    reading += read_cpu
                    computing += feature_cpu
                    done += frame.n_accounts
                    bar.update(frame.n_accounts)
        else:
            planned = 0.0
            chunks = iter_table_chunks(path, chunk_accounts=chunk, **_read_options(plain))
            if ahead:
                chunks = read_ahead(chunks)
            while True:
                t0 = time.perf_counter()
                tables = next(chunks, None)
                t1 = time.perf_counter()
                if tables is None:
                    break
                compute_features(tables)
                t2 = time.perf_counter()
                reading += t1 - t0
                computing += t2 - t1
                done += tables.num_accounts
                bar.update(tables.num_accounts)
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"accounts": done, "seconds": wall, "workers": workers, "plan_seconds": planned,
            "cpu_seconds": time.process_time() - cpu_started + kids.ru_utime + kids.ru_stime,
            "read_seconds": reading, "feature_seconds": computing,
            "peak_mib": own.ru_maxrss / 1024, "worker_peak_mib": kids.ru_maxrss / 1024,
            "load": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--chunk-accounts", type=int, default=2_000)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder for the generated tables (reused when it matches)")
    parser.add_argument("--read-ahead", action="store_true",
                        help="read the next chunk in a thread while computing the current one "
                             "(one process only)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes that each read and compute their own chunks "
                             "(default: one per core; 1 = in this process)")
    parser.add_argument("--plain", action="store_true",
                        help="read every column as plain values (the reader's default), "
                             "not just the kernels' columns with repeated strings as "
                             "dictionaries")
    parser.add_argument("--tune-malloc", action="store_true",
                        help="run the batch with glibc keeping freed memory for reuse "
                             "(MALLOC_TOP_PAD_, MALLOC_TRIM_THRESHOLD_, "
                             "MALLOC_MMAP_THRESHOLD_): fewer page faults on big arrays")
    parser.add_argument("--skip-online", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--batch-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.batch_only is not None:
        print(json.dumps(batch(args.batch_only, args.chunk_accounts, args.read_ahead,
                               args.workers, args.plain)))
        return 0

    if not args.skip_online:
        online(args.runs, args.seed)
    if args.skip_batch:
        return 0

    import tempfile

    with tempfile.TemporaryDirectory(prefix="trueclout-feat-") as tmp:
        path = args.data or Path(tmp) / "tables"
        meta = path / "benchmark.json"
        wanted = {"accounts": args.accounts, "seed": args.seed}
        if not (meta.exists() and json.loads(meta.read_text()) == wanted):
            write_data(path, args.accounts, args.seed)
        child = subprocess.run(
            [sys.executable, __file__, "--batch-only", str(path),
             "--chunk-accounts", str(args.chunk_accounts), "--workers", str(args.workers),
             *(["--read-ahead"] if args.read_ahead else []),
             *(["--plain"] if args.plain else [])],
            check=True, stdout=subprocess.PIPE, text=True,
            env={**os.environ, **(MALLOC_TUNING if args.tune_malloc else {})})
        result = json.loads(child.stdout.strip().splitlines()[-1])
    print_batch(result, args)
    return 0


def print_batch(result: dict, args: argparse.Namespace) -> None:
    rate = result["accounts"] / result["seconds"]
    reading = "all columns, plain" if args.plain else "kernel columns, ids as dictionaries"
    if result["workers"] > 1:
        mode = f"{result['workers']} worker processes, each reading its own chunks"
        parts = (f"CPU reading {result['read_seconds']:.1f} s, features "
                 f"{result['feature_seconds']:.1f} s, planning {result['plan_seconds']:.1f} s "
                 f"wall")
    else:
        mode = "reading ahead in a thread" if args.read_ahead else "read, then compute"
        parts = (f"waiting for chunks {result['read_seconds']:.1f} s, features "
                 f"{result['feature_seconds']:.1f} s")
    print(f"batch, {result['accounts']:,} accounts from Parquet in chunks of "
          f"{args.chunk_accounts:,} ({mode}; {reading}):")
    print(f"  {rate:,.0f} accounts/s ({result['seconds']:.1f} s wall, "
          f"{result['cpu_seconds']:.1f} s CPU; {parts})   (target >= 5,000 accounts/s)")
    peak = f"  peak resident memory: batch process {result['peak_mib']:,.0f} MiB"
    if result["workers"] > 1:
        peak += f", largest worker {result['worker_peak_mib']:,.0f} MiB"
    print(peak)
    if args.tune_malloc:
        print("  (glibc malloc tuned: " + ", ".join(f"{k}={v}" for k, v in MALLOC_TUNING.items())
              + ")")
    print(f"  load average at the end (1, 5, 15 min): "
          f"{', '.join(f'{x:.1f}' for x in result['load'])}")


if __name__ == "__main__":
    sys.exit(main())
