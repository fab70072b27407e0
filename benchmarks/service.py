"""Latency and throughput of ``POST /v1/score`` over loopback, with one worker and with two.

    .venv/bin/python benchmarks/service.py                   # ~1.5 minutes
    .venv/bin/python benchmarks/service.py --duration 3      # a quick look
    .venv/bin/python benchmarks/service.py --breakdown-only  # where one request's CPU goes
    .venv/bin/python benchmarks/service.py --database-url postgresql://postgres@127.0.0.1/bench

The snapshot has 200 sampled followers, 1,200 engagements (60 posts x 20) and
120 days of follower history.  The server runs as `trueclout serve` runs it
(`run_server`, uvicorn, access log on, assessments stored unless the row's
``store`` column says ``no``; ``inline`` rows write on the event loop instead
of the thread pool, for comparison), in its own process; the load comes from Debian's ``wrk`` in
another process (``apt-get install wrk``), pinned to the other core with
``taskset`` when the server has one worker.  Without ``wrk`` a sequential
Python client in a separate process is used instead (one connection; it adds
its own ~0.5 ms per request).

SCORER: the server runs `trueclout serve`'s app, which loads the active model
(the shipped default in the benchmark's fresh data directory) with no ring
table.  ``--scorer double`` runs ``tests.service.doubles.DeterministicTestScorer``
(arithmetic, not a model) instead, to show the service's own overhead
(parsing, validation, auth, storage, logging, metrics); the ``inline`` row
(writes on the event loop instead of the thread pool) always uses the double.

PARSE FLOOR: in the same run, the median time orjson takes to parse the same
bytes (``orjson.loads``, in this process); each row prints ``p50 / parse``,
the issue's yardstick (the target is <= 8x).

HEALTHZ: during every row a probe in this process asks ``GET /healthz`` every
20 ms on its own connection while the load keeps the worker(s) scoring; the
row prints its p50 and p99 (the target is < 5 ms: scoring must not block the
event loop).

The in-process breakdown splits one request's CPU time into its steps:
validating the snapshot, tables, features, the model's prediction, its
per-feature contributions (reasons), composing the assessment (confidence,
reasons, adjusted score, burst days, contract objects), serialising and
storing.

``cpu ms/req`` is the server's own CPU time (all its processes) per request:
the figure other load on the machine disturbs least (on one idle core,
1000 / it is the most requests per second one worker can serve).  Latency and
throughput on a shared 2-core machine are noisy, and a busy machine also
skews comparisons between rows (a server with more runnable threads gets
more CPU): run it alone when the numbers matter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# XGBoost's OpenMP threads spin while idle unless told otherwise (set before it loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
MODEL_APP = "trueclout.service.runtime.app:serving_app"
TEST_APP = "tests.service.doubles:create_test_app"
INLINE_WRITES_APP = "tests.service.doubles:create_inline_writes_app"

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TC_KEY")
local f = io.open(os.getenv("TC_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'TCJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def benchmark_snapshot(followers: int = 200, posts: int = 60, per_post: int = 20,
                       days: int = 120) -> dict[str, Any]:
    """A valid snapshot of the size the issue names, built like tests/factories.py builds them."""
    observed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    created = observed - timedelta(days=1500)
    return {
        "account_id": "bench-account",
        "platform": "twitter",
        "observed_at": _iso(observed),
        "raw_score": 61.5,
        "profile": {"username": "bench", "created_at": _iso(created),
                    "followers_count": 25_000, "following_count": 900, "posts_count": 4_000,
                    "bio": "benchmark account", "default_avatar": False},
        "follower_history": [
            {"date": (observed - timedelta(days=days - i)).date().isoformat(),
             "followers": 20_000 + 40 * i, "following": 900}
            for i in range(days)
        ],
        "followers": [
            {"account_id": f"f{i}", "username": f"follower_{i}",
             "created_at": _iso(created + timedelta(days=i * 7)),
             "followers_count": 5 + i % 300, "following_count": 100 + i % 900,
             "posts_count": i % 50, "default_avatar": i % 5 == 0, "bio": None,
             "followed_at": _iso(observed - timedelta(hours=i + 1))}
            for i in range(followers)
        ],
        "posts": [
            {"post_id": f"p{i}", "created_at": _iso(observed - timedelta(days=i + 1)),
             "likes_count": 120, "reposts_count": 15, "replies_count": 4}
            for i in range(posts)
        ],
        "engagements": [
            {"actor_id": f"a{(i * 7 + j) % 400}", "post_id": f"p{i}",
             "kind": ("like", "repost", "reply", "quote")[j % 4],
             "at": _iso(observed - timedelta(days=i + 1) + timedelta(minutes=1 + j))}
            for i in range(posts) for j in range(per_post)
        ],
        "reposts_made": [
            {"target_account_id": f"o{i}", "post_id": f"x{i}",
             "at": _iso(observed - timedelta(days=i + 1))}
            for i in range(20)
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pin(cpus: str | None) -> list[str]:
    if cpus and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", cpus]
    return []


def process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its descendants so far (Linux /proc); None elsewhere."""
    total, pending, seen = 0, [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
    return total / os.sysconf("SC_CLK_TCK")


def _wait_healthy(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited while starting; see its log")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def start_server(env: dict[str, str], port: int, workers: int, log: Path,
                 app: str = TEST_APP) -> subprocess.Popen:
    code = ("from trueclout.service.runtime.server import run_server; "
            f"run_server({app!r}, host='127.0.0.1', port={port}, workers={workers}, "
            "log_level='warning')")
    cpus = "0" if workers == 1 else None
    return subprocess.Popen([*_pin(cpus), sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def run_wrk(url: str, *, connections: int, duration: float, env: dict[str, str],
            pinned: bool, tmp: Path) -> dict[str, Any]:
    script = tmp / "post.lua"
    script.write_text(WRK_SCRIPT)
    cmd = [*_pin("1" if pinned else None), "wrk", "-t1", f"-c{connections}",
           f"-d{duration:g}s", "--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                         timeout=duration + 60).stdout
    line = next(x for x in out.splitlines() if x.startswith("TCJSON "))
    stats = json.loads(line[len("TCJSON "):])
    return {"requests": stats["requests"], "seconds": stats["duration_us"] / 1e6,
            "non2xx": stats["non2xx"] + stats["socket_errors"],
            **{k: stats[f"{k}_us"] / 1000 for k in ("p50", "p90", "p99", "max")}}


def run_python_client(url: str, *, duration: float, env: dict[str, str],
                      pinned: bool) -> dict[str, Any]:
    """Fallback load: one keep-alive connection, sequential, in a separate process."""
    code = r"""
import http.client, json, os, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); body = open(os.environ["TC_BODY"], "rb").read()
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["TC_KEY"]}
conn = http.client.HTTPConnection(u.hostname, u.port)
lat, bad, end = [], 0, time.perf_counter() + float(sys.argv[2])
while time.perf_counter() < end and len(lat) < 200000:
    t = time.perf_counter(); conn.request("POST", u.path + "?" + u.query, body, headers)
    r = conn.getresponse(); r.read(); lat.append(time.perf_counter() - t); bad += r.status >= 300
print(json.dumps({"lat": lat, "bad": bad}))
"""
    started = time.perf_counter()
    out = subprocess.run([*_pin("1" if pinned else None), sys.executable, "-c", code, url,
                          str(duration)], env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    data = json.loads(out.stdout)
    lat = sorted(data["lat"])

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000

    return {"requests": len(lat), "seconds": seconds, "non2xx": data["bad"],
            "p50": pct(50), "p90": pct(90), "p99": pct(99), "max": lat[-1] * 1000}


def parse_floor_ms(body: bytes, repeats: int = 300) -> float:
    """Median wall milliseconds of ``orjson.loads(body)``: the cost of merely reading the input."""
    import statistics

    import orjson

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        orjson.loads(body)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


class HealthProbe:
    """``GET /healthz`` every ``interval`` seconds on its own keep-alive connection, in a thread.

    Measures whether a scoring worker still answers liveness promptly (the
    event loop is not blocked by CPU work); latencies in milliseconds.
    """

    def __init__(self, base: str, interval: float = 0.02) -> None:
        self.base, self.interval = base, interval
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import http.client
        import urllib.parse

        url = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        while not self._stop.wait(self.interval):
            started = time.perf_counter()
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            if ok:
                self.latencies.append((time.perf_counter() - started) * 1000)
            else:
                self.failures += 1
        conn.close()

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile latency (ms); NaN when no probe answered."""
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")


def in_process_breakdown(body: bytes, database_url: str, data_dir: Path,
                         repeats: int = 200) -> dict[str, float]:
    """Median CPU microseconds of each step of one request, measured without HTTP.

    CPU time rather than wall time, so that other work on the machine
    disturbs it less.  The steps run as the scorer runs them (same model,
    one thread); "compose" is the rest of the assessment after features,
    prediction and contributions.
    """
    import statistics

    from trueclout.contract import AccountSnapshot, validate_json
    from trueclout.fast_contract import read_snapshot_json
    from trueclout.features.pipeline import compute_features
    from trueclout.files import utc_now
    from trueclout.models.account_model import as_float32
    from trueclout.service.db import migrate
    from trueclout.service.db.engine import Database
    from trueclout.service.db.snapshots import store_scored
    from trueclout.service.scoring.assess import CONTRIBUTIONS, judge, to_assessments
    from trueclout.service.scoring.model_scorer import ModelScorer
    from trueclout.service.scoring.reasons import DEFAULT_POLICY
    from trueclout.service.scoring.scorer import assessment_json
    from trueclout.settings import Settings
    from trueclout.tables import snapshots_to_tables

    settings = Settings(data_dir=data_dir, database_url=database_url)
    database = Database.from_settings(settings)
    migrate.upgrade(database.engine)
    scorer = ModelScorer.from_settings(settings)
    model = scorer.artifact
    overall = model.model.learner.scorers["overall"]
    steps: dict[str, list[float]] = {
        "validate snapshot (API: msgspec first)": [],
        "validate snapshot (validate_json)": [], "snapshot -> tables": [],
        "features": [], "predict (4 boosters, calibration)": [],
        f"contributions ({CONTRIBUTIONS}, if risk >= 0.5)": [], "compose assessment": [],
        "serialise assessment": [],
        "store as the API does (assessment, snapshot, edges)": [],
        "whole scorer.assess (tables..compose)": []}
    clock = time.process_time
    for repeat in range(repeats):
        # What the API's parse_body runs, and the reference path (pydantic) for comparison,
        # in alternating order (whichever runs first pays more of the garbage collector).
        for run_fast in (repeat % 2 == 0, repeat % 2 == 1):
            t0 = clock()
            if run_fast:
                snapshot = read_snapshot_json(body)
                fast = clock() - t0
            else:
                validate_json(AccountSnapshot, body)
                reference = clock() - t0
        t1 = clock()
        tables = snapshots_to_tables([snapshot])
        t2 = clock()
        frame = compute_features(tables, audience_scorer=model.follower_model)
        t3 = clock()
        predicted = model.predict(frame, contributions="none")
        t4 = clock()
        # As judge() does: contributions only where reasons are shown.
        if predicted.risk[0] >= DEFAULT_POLICY.min_probability:
            overall.contributions(as_float32(frame.values), approx=CONTRIBUTIONS == "approx")
        t5 = clock()
        judged = judge(tables, model, graph=None)
        assessment = to_assessments(judged, tables, model, scored_at=utc_now())[0]
        t6 = clock()
        text = assessment_json(assessment)
        t7 = clock()
        database.call(store_scored, items=[(assessment, text)], documents=[body],
                      snapshots=[snapshot],
                      api_key_id=None, stored_at=utc_now(),
                      retention_days=settings.snapshot_retention_days)
        t8 = clock()
        scorer.assess(snapshot, scored_at=utc_now())
        t9 = clock()
        # judge() recomputes features, prediction and contributions: what is left is composing.
        compose = (t6 - t5) - (t3 - t2) - (t5 - t3)
        for name, spent in zip(steps, (fast, reference, t2 - t1, t3 - t2, t4 - t3, t5 - t4,
                                       compose, t7 - t6, t8 - t7, t9 - t8), strict=True):
            steps[name].append(spent)
    database.dispose()
    return {name: statistics.median(v) * 1e6 for name, v in steps.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scorer", choices=["model", "double"], default="model",
                        help="the active model (default) or the test double")
    parser.add_argument("--no-inline-comparison", action="store_true",
                        help="skip the run that writes on the event loop instead of a thread")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (default: SQLite in a temporary data dir)")
    parser.add_argument("--breakdown-only", action="store_true",
                        help="only the in-process breakdown (no server, no HTTP)")
    parser.add_argument("--repeats", type=int, default=200,
                        help="requests the in-process breakdown takes the median of")
    args = parser.parse_args(argv)
    if args.duration > 60 or max(args.connections) > 256:
        parser.error("keep runs bounded: --duration <= 60, --connections <= 256")
    sys.path.insert(0, str(REPO))
    use_wrk = shutil.which("wrk") is not None

    with tempfile.TemporaryDirectory(prefix="trueclout-bench-") as tmp_name:
        tmp = Path(tmp_name)
        body = json.dumps(benchmark_snapshot(), separators=(",", ":")).encode()
        (tmp / "snapshot.json").write_bytes(body)
        if args.breakdown_only:
            print_breakdown(body, args.database_url or f"sqlite:///{tmp / 'trueclout.db'}",
                            tmp, args.repeats)
            return 0
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE",
               "TRUECLOUT_DATA_DIR": str(tmp), "TRUECLOUT_MODE": "local",
               "TRUECLOUT_LOG_LEVEL": "INFO", "TC_BODY": str(tmp / "snapshot.json"),
               "PYTHONPATH": str(REPO)}
        if args.database_url:
            env["TRUECLOUT_DATABASE_URL"] = args.database_url
        else:
            env.pop("TRUECLOUT_DATABASE_URL", None)
        created = subprocess.run(
            [sys.executable, "-m", "trueclout.cli", "keys", "create", "--scope", "platform",
             "--name", "benchmark", "--rate", "1000000"],
            env=env, capture_output=True, text=True, check=True)
        env["TC_KEY"] = created.stdout.strip()
        database_url = args.database_url or f"sqlite:///{tmp / 'trueclout.db'}"

        print(f"snapshot            {len(body) / 1024:,.0f} KiB JSON: 200 followers, "
              "1,200 engagements, 120 days of history")
        app_of_rows = MODEL_APP if args.scorer == "model" else TEST_APP
        print("scorer              " + (
            "the active model (shipped default), no ring table" if args.scorer == "model"
            else "tests.service.doubles.DeterministicTestScorer (test double; not the model)"))
        print(f"database            {database_url.split('@')[-1]}")
        print(f"load generator      {'wrk' if use_wrk else 'sequential Python client'}; "
              f"{args.duration:g} s per run; load average before: {os.getloadavg()[0]:.2f}")
        print()
        floor = parse_floor_ms(body)
        print(f"parse floor         orjson.loads of the same bytes: {floor:.3f} ms "
              "(median of 300, this process)")
        print()
        print(f"{'workers':>7} {'conns':>5} {'store':>6} {'requests':>8} {'req/s':>8} "
              f"{'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'non-2xx':>7} "
              f"{'cpu ms/req':>10} {'p50/parse':>9} {'hz p50':>7} {'hz p99':>7}")
        busiest = args.connections[-1]
        # (workers, app, runs as (connections, store label)); "inline" writes on the event
        # loop instead of the thread pool, to show what the thread pool buys.
        plan = [(w, app_of_rows, [(c, "yes") for c in args.connections]
                 + ([(busiest, "no")] if w == 1 else [])) for w in args.workers]
        if 1 in args.workers and not args.no_inline_comparison:
            plan.append((1, INLINE_WRITES_APP, [(busiest, "inline")]))
        for workers, app, runs in plan:
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(env, port, workers, tmp / f"server-{workers}.log", app)
            try:
                _wait_healthy(base, server)
                for connections, store in runs:
                    url = f"{base}/v1/score?store={'false' if store == 'no' else 'true'}"
                    # Warm-up (first TreeSHAP, first statements compiled, caches filled):
                    # the figures are the steady state, whichever client measures it.
                    if use_wrk:
                        run_wrk(url, connections=connections, duration=1, env=env,
                                pinned=workers == 1, tmp=tmp)
                    else:
                        run_python_client(url, duration=1, env=env, pinned=workers == 1)
                    cpu_before = process_tree_cpu_seconds(server.pid)
                    with HealthProbe(base) as health:
                        if use_wrk:
                            r = run_wrk(url, connections=connections, duration=args.duration,
                                        env=env, pinned=workers == 1, tmp=tmp)
                        else:
                            connections = 1
                            r = run_python_client(url, duration=args.duration, env=env,
                                                  pinned=workers == 1)
                    cpu_after = process_tree_cpu_seconds(server.pid)
                    cpu = ("-" if cpu_before is None or cpu_after is None else
                           f"{(cpu_after - cpu_before) / r['requests'] * 1000:.2f}")
                    print(f"{workers:>7} {connections:>5} {store:>6} "
                          f"{r['requests']:>8,} {r['requests'] / r['seconds']:>8,.0f} "
                          f"{r['p50']:>7.2f} {r['p90']:>7.2f} {r['p99']:>7.2f} "
                          f"{r['max']:>7.1f} {r['non2xx']:>7} {cpu:>10} "
                          f"{r['p50'] / floor:>8.1f}x {health.percentile(50):>7.2f} "
                          f"{health.percentile(99):>7.2f}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
        print()
        print_breakdown(body, database_url, tmp, args.repeats)
    return 0


def print_breakdown(body: bytes, database_url: str, data_dir: Path, repeats: int) -> None:
    print(f"where one request's CPU goes with the model (in process, no HTTP; "
          f"median of {repeats}):")
    for name, micros in in_process_breakdown(body, database_url, data_dir, repeats).items():
        print(f"  {name:<38} {micros:>8,.0f} us")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on this machine "
          "makes these figures noisy)")


if __name__ == "__main__":
    sys.exit(main())
