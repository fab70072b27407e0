"""Where the simulator's measured constants come from: fits to the shared research data.

    .venv/bin/python -m trueclout.training.sim_calibration ../shared/datasets

Prints each fitted value beside the constant in ``sim_params``.  Only those
few fitted numbers live in the code (with a citation); the data itself is
research-only and is read by path, never copied.

- Repost delays (Li, Xie, Farajtabar & Song 2016, retweet timelines): for
  every retweet of a tracked account, the time since that account's latest
  own post before it.  (The retweeted post is not identified in the data, so
  this overstates some delays; the shape, log-normal over minutes to days,
  is what the simulator takes.)
- Human profiles (Cresci et al. 2015, verified humans E13): median and
  log-standard deviation of followers, following, posts per day of account
  age and likes given, over accounts where the count is positive.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trueclout.errors import UserError


@dataclass(frozen=True)
class DelayFit:
    """Log-normal fit of repost delays in seconds."""

    n: int
    log_mean: float
    log_sd: float
    sd_between_accounts: float
    sd_within_account: float
    quantiles_s: dict[float, float]


def fit_repost_delays(folder: Path, min_per_account: int = 30) -> DelayFit:
    """Fit the delays of the retweet timelines in ``folder`` (``tweets/*.txt``)."""
    import pandas as pd

    files = sorted(Path(folder).glob("tweets/*.txt"))
    if not files:
        raise UserError(f"{folder}: no tweets/*.txt (the retweet-timelines data set)")
    per_account = []
    for path in files:  # one file per tracked account (78)
        events = pd.read_csv(path, header=None, names=["t", "node", "retweet_of_1"])
        events = events.sort_values("t", kind="stable")
        own = events.t[events.node == 1].to_numpy()
        retweets = events.t[(events.retweet_of_1 == 1) & (events.node != 1)].to_numpy()
        latest = np.searchsorted(own, retweets, side="right") - 1
        delays = retweets[latest >= 0] - own[latest[latest >= 0]]
        per_account.append(delays[delays > 0].astype(np.float64))
    logs = np.log(np.concatenate(per_account))
    big = [np.log(d) for d in per_account if len(d) >= min_per_account]
    probs = (0.05, 0.25, 0.5, 0.75, 0.95)
    return DelayFit(
        n=len(logs),
        log_mean=float(logs.mean()),
        log_sd=float(logs.std()),
        sd_between_accounts=float(np.std([x.mean() for x in big])),
        sd_within_account=float(np.mean([x.std() for x in big])),
        quantiles_s=dict(zip(probs, np.exp(np.quantile(logs, probs)).tolist(), strict=True)),
    )


def fit_human_profiles(folder: Path) -> dict[str, tuple[float, float]]:
    """(median, log-sd) of the verified humans' counts in cresci-2015 (``humans_*.csv``)."""
    import pandas as pd

    files = sorted(Path(folder).glob("humans_*.csv"))
    if not files:
        raise UserError(f"{folder}: no humans_*.csv (the cresci-2015 data set)")
    users = pd.concat([pd.read_csv(f, dtype=str) for f in files])
    created = pd.to_datetime(users.created_at, format="%a %b %d %H:%M:%S %z %Y")
    crawled = pd.to_datetime(users.updated).dt.tz_localize("UTC")
    age_days = (crawled - created).dt.total_seconds().to_numpy() / 86_400

    def count(name: str) -> np.ndarray:
        return pd.to_numeric(users[name], errors="coerce").fillna(0).to_numpy(np.float64)

    measures = {
        "followers": count("followers_count"),
        "following": count("friends_count"),
        "posts_per_day": count("statuses_count") / np.maximum(age_days, 1),
        "likes": count("favourites_count"),
    }
    out = {}
    for name, values in measures.items():
        positive = np.log(values[values > 0])
        out[name] = (float(np.exp(np.median(positive))), float(positive.std()))
    return out


def main(argv: list[str]) -> int:
    from trueclout.training import sim_params as p

    datasets = Path(argv[0]) if argv else Path("../shared/datasets")
    fit = fit_repost_delays(datasets / "retweet-timelines")
    lines = [
        f"repost delays: n={fit.n}",
        f"  log mean {fit.log_mean:.2f} (DELAY_LOG_MEAN {p.DELAY_LOG_MEAN})",
        f"  log sd {fit.log_sd:.2f}; between accounts {fit.sd_between_accounts:.2f} "
        f"(DELAY_LOG_SD_BETWEEN {p.DELAY_LOG_SD_BETWEEN}); within {fit.sd_within_account:.2f} "
        f"(DELAY_LOG_SD_WITHIN {p.DELAY_LOG_SD_WITHIN})",
        "  quantiles " + ", ".join(f"{q:.0%}: {s / 60:,.1f} min"
                                   for q, s in fit.quantiles_s.items()),
    ]
    constants = {"followers": p.HUMAN_FOLLOWERS, "following": p.HUMAN_FOLLOWING,
                 "posts_per_day": p.HUMAN_POSTS_PER_DAY, "likes": p.HUMAN_LIKES}
    lines.append("cresci-2015 humans (median, log sd):")
    for name, (median, sd) in fit_human_profiles(datasets / "cresci-2015").items():
        lines.append(f"  {name}: {median:.2f}, {sd:.2f} (constant {constants[name]})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
