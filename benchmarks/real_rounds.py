"""Do the snapshot's round signals stay quiet on real accounts?  Real retweet timelines.

    .venv/bin/python benchmarks/real_rounds.py                 # ../shared/datasets
    .venv/bin/python benchmarks/real_rounds.py --datasets DIR

Each of the 78 accounts of the retweet-timelines research data (read by
path, never copied) is taken as one snapshot: its regular retweeters (on half
its engaged posts or more, 3+ posts) and everyone else.  A retweet is
attributed to the account's latest post at that time, so delays are
approximate.  Printed, as quantiles over accounts: the spread of the
regulars' log10 delays on a post (the shipped ``engagement_core_round_spread``),
the ratio of that spread to the other engagers' on the same posts (which the
attribution compresses alike), and a candidate that was tried and not
shipped, the share of the regulars' timing variation that lies between posts
beyond the other engagers' (an intraclass correlation: a pod called late is
late all together).  Beside them, the simulator's figures for comparison are
in docs/graph.md.  The data has no labels: a figure here is a warning, not a
verdict.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from trueclout.features.families.engagement import (
    MAD_TO_SD,
    MIN_POSTS_OVERLAP,
    MIN_ROUND_ENGAGEMENTS,
    MIN_ROUND_POSTS,
    ROUND_COVERAGE,
)
from trueclout.features.kernels.rounds import between_cell_share
from trueclout.training.evaluate.ring_injection import retweet_host

# The between-post share's 95th percentile over the simulator's genuine accounts
# (1,500-account world, seed 2026, measured when the candidate was tried).
SIM_GENUINE_P95 = 0.1957


def _mad(v: np.ndarray) -> float:
    return float(MAD_TO_SD * np.median(np.abs(v - np.median(v))))


def account_rounds(post: np.ndarray, actor: np.ndarray, log_delay: np.ndarray
                   ) -> tuple[float, float, float]:
    """(round spread, spread ratio to the others, between-post share beyond the others') of
    one account's engagements, NaN where undefined."""
    posts, post_row = np.unique(post, return_inverse=True)
    actors, actor_row = np.unique(actor, return_inverse=True)
    pairs = np.unique(actor_row * len(posts) + post_row)
    on_posts = np.bincount(pairs // len(posts), minlength=len(actors))
    regular_actor = (on_posts >= ROUND_COVERAGE * len(posts)) & (on_posts >= MIN_POSTS_OVERLAP)
    regular = regular_actor[actor_row]
    spreads, ratios = [], []
    for p in np.unique(post_row[regular]):
        v = log_delay[regular & (post_row == p)]
        w = log_delay[~regular & (post_row == p)]
        if len(v) >= MIN_ROUND_ENGAGEMENTS:
            spreads.append(_mad(v))
            if len(w) >= MIN_ROUND_ENGAGEMENTS and _mad(w) > 0:
                ratios.append(_mad(v) / _mad(w))
    spread = float(np.mean(spreads)) if len(spreads) >= MIN_ROUND_POSTS else np.nan
    ratio = float(np.median(ratios)) if len(ratios) >= MIN_ROUND_POSTS else np.nan
    unit = np.zeros(len(posts), dtype=np.int64)

    def share(among: np.ndarray) -> float:
        return float(between_cell_share(log_delay[among], post_row[among], unit, 1,
                                        min_cell=MIN_ROUND_ENGAGEMENTS,
                                        min_cells=MIN_ROUND_POSTS)[0])

    own = share(regular)
    excess = np.nan if np.isnan(own) else max(own - np.nan_to_num(share(~regular)), 0.0)
    return spread, ratio, excess


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args(argv)
    folder = args.datasets / "retweet-timelines"
    if not folder.is_dir():
        print(f"error: {folder} not found (the retweet-timelines research data)", file=sys.stderr)
        return 2
    host = retweet_host(folder)
    log_delay = np.log10(1.0 + np.maximum(host.at - host.post_created, 0.0))
    figures = np.array([account_rounds(host.post[m], host.actor[m], log_delay[m])
                        for m in (host.target == t for t in np.unique(host.target))])
    names = ("engagement_core_round_spread", "regulars' spread / others' spread",
             "between-post share beyond the others' (not shipped)")
    for j, name in enumerate(names):
        v = figures[:, j][~np.isnan(figures[:, j])]
        q = np.quantile(v, [0.05, 0.1, 0.5, 0.9, 0.95]) if len(v) else [np.nan] * 5
        print(f"{name}: {len(v)} real accounts; q05 {q[0]:.3f}  q10 {q[1]:.3f}  "
              f"median {q[2]:.3f}  q90 {q[3]:.3f}  q95 {q[4]:.3f}")
    shares = figures[:, 2][~np.isnan(figures[:, 2])]
    if len(shares):
        print(f"between-post share above {SIM_GENUINE_P95} (the simulator's genuine accounts' "
              f"95th percentile): {np.mean(shares > SIM_GENUINE_P95):.1%} of real accounts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
