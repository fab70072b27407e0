"""Training time for a labelled world, and prediction latency of the trained model.

    .venv/bin/python benchmarks/training.py                    # 100,000 accounts (tens of minutes)
    .venv/bin/python benchmarks/training.py --accounts 5000    # a quick run
    .venv/bin/python benchmarks/training.py --data DIR         # an existing labelled table folder
    .venv/bin/python benchmarks/training.py --device cuda      # XGBoost on a GPU (where lent)

Stages timed (wall seconds): simulating the world (not part of training),
the global ring stage, features (the service's pipeline, chunk by chunk, with
the follower model), and the fit: grouped 5-fold CV plus final models for every
target and every learner (XGBoost, and the logistic-regression and
random-forest baselines that are always trained), with XGBoost's share shown.
Then, with the model saved and loaded as the service loads it (``nthread=1``):
single-row and 1,000-row prediction latency (p50/p99 over repeated calls),
without contributions, with approximate ones and with exact TreeSHAP.

The world is simulated with ``--engagement-scale`` (default 0.1: a tenth of
the engagement rows per post, same totals).  The ring stage holds the whole
engagement graph in memory and dominates the peak (measured: 3.0 GiB for
20,000 accounts / 4.2M edges, 11.5 GiB for 100,000 accounts); features are
computed chunk by chunk and the fit needs little, so ``--no-rings`` shows
what training costs where the ring table comes precomputed (``trueclout train
--ring-table``).  Peak memory is the process's maximum resident set, printed
after each stage.  Timings on a shared machine are noisy: say which machine
and how busy it was.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before XGBoost loads OpenMP

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


@dataclass(frozen=True)
class Rows:
    values: np.ndarray
    names: tuple[str, ...]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency(fn, repeats: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds over ``repeats`` calls (after a short warm-up)."""
    for _ in range(min(20, repeats)):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None,
                        help="An existing labelled table folder (skips simulation).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engagement-scale", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--no-rings", action="store_true", help="Skip the global ring stage.")
    args = parser.parse_args()

    from trueclout.features.registry import REGISTRY_VERSION
    from trueclout.models.artifact import load_artifact, save_artifact
    from trueclout.training.data.followers import default_datasets_dir, fit_follower_model
    from trueclout.training.data.labelled import build_training_set, open_labelled, ring_table
    from trueclout.training.fit.account import TrainingConfig, check_device, fit_account_model
    from trueclout.training.fit.default_model import follower_training_data
    from trueclout.training.sim.world import write_world

    check_device(args.device)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or '?'}; "
          f"threads {args.threads}, device {args.device}")
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "world"
            start = time.perf_counter()
            write_world(data, args.accounts, args.seed, engagement_scale=args.engagement_scale)
            print(f"simulate {args.accounts:,} accounts (engagement scale "
                  f"{args.engagement_scale}): {time.perf_counter() - start:.1f} s "
                  f"(not part of training; peak so far {peak_rss_mib():,.0f} MiB)")
        labelled = open_labelled(data)
        n = labelled.n_accounts or 0

        start = time.perf_counter()
        profiles = follower_training_data(default_datasets_dir())
        follower = fit_follower_model(profiles, n_jobs=args.threads)
        print(f"follower model ({len(profiles):,} labelled research profiles): "
              f"{time.perf_counter() - start:.1f} s (peak so far {peak_rss_mib():,.0f} MiB)")

        start = time.perf_counter()
        graph = None if args.no_rings else ring_table(labelled)
        rings_s = time.perf_counter() - start
        rings_peak = peak_rss_mib()
        start = time.perf_counter()
        train_set = build_training_set(labelled, follower_model=follower, graph=graph)
        features_s = time.perf_counter() - start
        features_peak = peak_rss_mib()

        config = TrainingConfig(threads=args.threads, device=args.device, trees=args.trees)
        per_learner: dict[str, float] = defaultdict(float)
        last = [time.perf_counter()]

        def on_step(message: str) -> None:
            now = time.perf_counter()
            per_learner[message.split(":")[0]] += now - last[0]
            last[0] = now

        start = last[0] = time.perf_counter()
        result = fit_account_model(train_set, config, on_step=on_step)
        fit_s = time.perf_counter() - start
        model_dir = Path(tmp) / "model"
        save_artifact(model_dir, result.model, name="benchmark", training={}, metrics={},
                      registry_version=REGISTRY_VERSION, follower_model=follower)

        print(f"\ntraining on {n:,} accounts x {len(train_set.feature_names)} features, "
              f"{config.folds}-fold grouped CV + final fit, {len(per_learner)} learners x 4 "
              "targets")
        print(f"  rings (whole graph)   {rings_s:8.1f} s" + ("  (skipped)" if args.no_rings
                                                              else "")
              + f"  (peak so far {rings_peak:,.0f} MiB)")
        print(f"  features              {features_s:8.1f} s  "
              f"({n / max(features_s, 1e-9):,.0f} accounts/s; peak so far "
              f"{features_peak:,.0f} MiB)")
        print(f"  fit, all learners     {fit_s:8.1f} s")
        for learner, seconds in per_learner.items():
            print(f"    {learner:<20}{seconds:8.1f} s")
        print(f"  total                 {rings_s + features_s + fit_s:8.1f} s")
        print(f"  peak memory           {peak_rss_mib():8.0f} MiB")

        artifact = load_artifact(model_dir)
        artifact.set_threads(1)
        one = Rows(train_set.x[:1].astype(np.float64), train_set.feature_names)
        batch = Rows(train_set.x[:1000].astype(np.float64), train_set.feature_names)
        print("\nprediction (nthread=1, calibrated tactics + risk + level), milliseconds:")
        for label, rows, repeats in (("1 row", one, 2_000), ("1,000 rows", batch, 100)):
            for mode in ("none", "approx", "exact"):
                reps = repeats if mode != "exact" or rows is one else 10
                p50, p99 = latency(lambda r=rows, m=mode: artifact.predict(r, contributions=m),
                                   reps)
                print(f"  {label:<11} contributions={mode:<7} p50 {p50:8.3f}  p99 {p99:8.3f}"
                      f"  ({reps} calls)")


if __name__ == "__main__":
    main()
