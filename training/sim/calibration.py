"""Where the simulator's measured constants come from: fits to the shared research data.

    trueclout dev calibrate-sim ../shared/datasets

Prints each fitted value beside the constant in ``sim.params``.  Only those
few fitted numbers live in the code (with a citation); the data itself is
research-only and is read by path, never copied.

- Repost delays (Li, Xie, Farajtabar & Song 2016, retweet timelines): for
  every retweet of a tracked account, the time since that account's latest
  own post before it.  (The retweeted post is not identified in the data, so
  this overstates some delays; the shape, log-normal over minutes to days,
  is what the simulator takes.)
- Follower profiles (``fit_profile``), one ``ProfileLaw`` per real group:
  cresci-2015's verified humans (E13) and its INT and FSF fakes (Cresci et
  al. 2015), InstaFake's real and fake accounts (Akyon & Kalfaoglu 2019).
  Per count (followers, following, posts, likes, lists, account age at the
  crawl): the share of exact zeros, the median and a robust log-standard
  deviation of the positive values, and its loading on one common factor fitted to the
  rank (normal-score) correlations: a one-factor Gaussian copula, so the
  counts keep their dependencies with one number each.  Per flag: its share.
  Bio length: a Beta law fitted by moments to the non-empty bios.
- Username structure (``username_patterns``): shares of the patterns the
  INT and FSF markets built screen names from, from the display name they
  were generated with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trueclout.errors import UserError
from trueclout.training.sim.params import COUNTS, CountLaw, ProfileLaw

if TYPE_CHECKING:
    from trueclout.training.data.followers import LabelledFollowers


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


@dataclass(frozen=True)
class ProfileFit:
    """The fitted law of one real group; None where the source lacks the field."""

    group: str
    n: int
    counts: dict[str, CountLaw | None]
    flags: dict[str, float | None]
    bio_length: tuple[float, float] | None


# A log-sd is the smaller of the standard deviation and the interquartile range / 1.349
# (equal for a log-normal): a market's few odd accounts inflate the first (on INT's
# counts the IQR halves the Kolmogorov-Smirnov distance of the fitted log-normal),
# sampling noise inflates the second where there are few positive values (INT's
# 25 likes).
IQR_PER_SD = 1.349
# Measurement of ``features.follower_signals`` behind each count and flag of a ProfileLaw.
_COUNT_MEASUREMENTS = {"followers": "followers", "following": "following", "posts": "posts",
                       "likes": "likes", "listed": "listed", "age_days": "age_days"}
_FLAG_MEASUREMENTS = {"default_avatar": "default_avatar", "bio": "bio_blank",
                      "url": "has_url", "location": "has_location"}


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Van der Waerden scores of each column (ties share their mean rank)."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    ranks = rankdata(x, axis=0)
    return ndtri((ranks - 0.5) / len(x))


def one_factor_loadings(scores: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Loadings of a one-factor model of the columns' correlations (iterated principal axis).

    The diagonal is replaced by the communalities until they settle, so each
    loading explains the column's correlations with the others, not its own
    variance.  A column with no variance loads 0.
    """
    sd = scores.std(axis=0)
    live = sd > 0
    loadings = np.zeros(scores.shape[1])
    if live.sum() < 2:
        return loadings
    corr = np.corrcoef(scores[:, live], rowvar=False)
    off = corr - np.eye(len(corr))
    lam = np.sqrt(np.abs(off).max(axis=0))
    for _ in range(iterations):
        reduced = off + np.diag(lam**2)
        values, vectors = np.linalg.eigh(reduced)
        lam = np.clip(vectors[:, -1] * np.sqrt(max(values[-1], 0.0)), -0.99, 0.99)
    loadings[live] = lam * np.sign(lam.sum() or 1.0)
    return loadings


def fit_profile(data: LabelledFollowers, group: str, bio_cap: int = 160) -> ProfileFit:
    """The ``ProfileLaw`` numbers of one group of labelled profiles.

    ``bio_cap`` is the platform's longest bio (Twitter 160, Instagram 150):
    the Beta law describes non-empty bio lengths on 1..bio_cap.
    """
    rows = data.groups.astype(str) == group
    if not rows.any():
        raise UserError(f"no profiles in group {group!r}")
    m = {k: np.asarray(v, np.float64)[rows] for k, v in data.measurements().items()}
    present = [c for c in COUNTS if not np.isnan(m[_COUNT_MEASUREMENTS[c]]).all()]
    values = np.column_stack([m[_COUNT_MEASUREMENTS[c]] for c in present])
    complete = ~np.isnan(values).any(axis=1)
    loadings = one_factor_loadings(normal_scores(np.log1p(np.clip(values[complete], 0, None))))
    counts: dict[str, CountLaw | None] = dict.fromkeys(COUNTS)
    for j, name in enumerate(present):
        v = values[:, j][~np.isnan(values[:, j])]
        positive = np.log(v[v > 0]) if (v > 0).any() else np.zeros(1)  # all zero: any law
        q25, q50, q75 = np.quantile(positive, (0.25, 0.5, 0.75))
        counts[name] = CountLaw(zero=float((v == 0).mean()), median=float(np.exp(q50)),
                                log_sd=float(min(positive.std(), (q75 - q25) / IQR_PER_SD)),
                                loading=float(loadings[j]))
    flags: dict[str, float | None] = {}
    for name, measurement in _FLAG_MEASUREMENTS.items():
        v = m[measurement][~np.isnan(m[measurement])]
        share = float(v.mean()) if len(v) else None
        flags[name] = (1.0 - share) if name == "bio" and share is not None else share
    length = np.minimum(m["bio_length"][m["bio_length"] > 0], bio_cap)
    bio_length = None
    if len(length) > 1:
        x = (length - 1) / (bio_cap - 1)
        mean, var = x.mean(), x.var()
        common = mean * (1 - mean) / var - 1
        bio_length = (float(mean * common), float((1 - mean) * common))
    return ProfileFit(group, int(rows.sum()), counts, flags, bio_length)


def fit_profiles(datasets: Path) -> dict[str, ProfileFit]:
    """Fits of each group of cresci-2015 (``cresci:E13`` ...), InstaFake (``instafake:real``)."""
    from trueclout.training.data.followers import read_followers

    out = {}
    for folder, prefix, cap in (("cresci-2015", "cresci", 160), ("instafake", "instafake", 150)):
        if not (Path(datasets) / folder).is_dir():
            continue
        data = read_followers(Path(datasets) / folder)
        for group in sorted(set(data.groups.astype(str))):
            out[f"{prefix}:{group}"] = fit_profile(data, group, cap)
    if not out:
        raise UserError(f"{datasets}: neither cresci-2015/ nor instafake/ found")
    return out


def username_patterns(folder: Path) -> dict[str, dict[str, float]]:
    """Share of each screen-name pattern per cresci-2015 group, read against the display name.

    ``first+x``: the first name and a few more letters (``elenavq``, made up);
    ``last+x``, ``first+last(+x)`` likewise; ``last+x+first``: last name,
    three letters, first name, cut at 15 characters (``JohanssonkwtMar``, made up);
    ``other``: none of these (free-form names, as most people choose).
    ``upper``: the share with a capital letter; ``digits``: with any digit;
    ``number_at_end``: ending in a number, and ``number_width_*`` its widths;
    ``display_two_words``, ``display_is_username``: what the display name is.
    """
    import pandas as pd

    out = {}
    for path in sorted(Path(folder).glob("*_*.csv")):
        users = pd.read_csv(path, dtype=str, keep_default_na=False)
        screen = users.screen_name.str.lower().to_numpy(dtype=str)
        parts = users.name.str.lower().str.split()
        first = parts.str[0].fillna("").to_numpy(dtype=str)
        last = parts.str[-1].fillna("").to_numpy(dtype=str)
        both = np.char.add(first, last)
        starts = np.char.startswith
        full = starts(screen, both) | ((np.char.str_len(both) > 15)
                                       & (screen == np.array([b[:15] for b in both])))
        tail = np.array([s[len(x):] for s, x in zip(screen, last, strict=True)])
        lxf = starts(screen, last) & (np.char.str_len(last) > 0) & np.array(
            [len(t) > 3 and f[: len(t) - 3] == t[3:] and len(f) > 0
             for t, f in zip(tail, first, strict=True)])
        pattern = np.select([full, lxf, starts(screen, first) & (np.char.str_len(first) > 0),
                             starts(screen, last) & (np.char.str_len(last) > 0)],
                            ["first+last(+x)", "last+x+first", "first+x", "last+x"], "other")
        names, counts = np.unique(pattern, return_counts=True)
        shares = {str(k): float(c / len(pattern)) for k, c in zip(names, counts, strict=True)}
        two_words = users.name.str.strip().str.contains(" ")
        same = users.name == users.screen_name
        shares["display_two_words"] = float(two_words.mean())
        shares["display_is_username"] = float((same & ~two_words).mean())
        shares["upper"] = float(users.screen_name.str.contains("[A-Z]").mean())
        shares["digits"] = float(users.screen_name.str.contains("[0-9]").mean())
        width = users.screen_name.str.extract(r"([0-9]+)$")[0].str.len().dropna()
        shares["number_at_end"] = float(len(width) / max(len(users), 1))
        for w, label in ((1, "1"), (2, "2"), (3, "3"), (4, "4")):
            shares[f"number_width_{label}"] = float((width == w).mean()) if len(width) else 0.0
        shares["number_width_5+"] = float((width >= 5).mean()) if len(width) else 0.0
        out[path.stem.split("_", 1)[1]] = shares
    return out


# Which fitted group each law of ``sim.params`` copies, and which of its fields
# (the others are assumptions or borrowed from another law; see sim.params).
_TAKEN_FROM_INSTAFAKE = ("followers", "following", "posts", "default_avatar", "bio",
                         "bio_length")
_ALL_FIELDS = (*COUNTS, "default_avatar", "bio", "bio_length", "url", "location")
LAW_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "HUMAN_TWITTER": ("cresci:E13", _ALL_FIELDS),
    "HUMAN_INSTAGRAM": ("instafake:real", _TAKEN_FROM_INSTAFAKE),
    "FARM_INT": ("cresci:INT", _ALL_FIELDS),
    "FARM_FSF": ("cresci:FSF", _ALL_FIELDS),
    "CRUDE": ("instafake:fake", _TAKEN_FROM_INSTAFAKE),
}


def law_numbers(law: ProfileLaw | ProfileFit, fields: tuple[str, ...]) -> dict[str, float]:
    """The numbers of a law (or of a fit) flattened: ``followers.median``, ``bio``, ..."""
    counts = law.counts if isinstance(law, ProfileFit) else {c: getattr(law, c) for c in COUNTS}
    flags = law.flags if isinstance(law, ProfileFit) else {
        f: getattr(law, f) for f in ("default_avatar", "bio", "url", "location")}
    out: dict[str, float] = {}
    for name in fields:
        if name in COUNTS:
            c = counts[name]
            if c is not None:
                out |= {f"{name}.{part}": float(getattr(c, part))
                        for part in ("zero", "median", "log_sd", "loading")}
        elif name == "bio_length":
            if law.bio_length is not None:
                out |= {"bio_length.a": law.bio_length[0], "bio_length.b": law.bio_length[1]}
        elif flags[name] is not None:
            out[name] = float(flags[name])
    return out


def compare_laws(fits: dict[str, ProfileFit]) -> list[tuple[str, str, float, float]]:
    """(law, number, fitted, constant in sim.params) for every fitted number of every law."""
    from trueclout.training.sim import params as sim_params

    rows = []
    for law_name, (group, fields) in LAW_SOURCES.items():
        if group not in fits:
            continue
        fitted = law_numbers(fits[group], fields)
        constant = law_numbers(getattr(sim_params, law_name), fields)
        rows += [(law_name, k, v, constant[k]) for k, v in fitted.items()]
    return rows


def calibration_report(datasets: Path) -> str:
    """Every fitted value beside the constant in ``sim.params``, as lines to read."""
    from trueclout.training.sim import params as p

    fit = fit_repost_delays(datasets / "retweet-timelines")
    lines = [
        f"repost delays: n={fit.n}",
        f"  log mean {fit.log_mean:.2f} (DELAY_LOG_MEAN {p.DELAY_LOG_MEAN})",
        f"  log sd {fit.log_sd:.2f}; between accounts {fit.sd_between_accounts:.2f} "
        f"(DELAY_LOG_SD_BETWEEN {p.DELAY_LOG_SD_BETWEEN}); within {fit.sd_within_account:.2f} "
        f"(DELAY_LOG_SD_WITHIN {p.DELAY_LOG_SD_WITHIN})",
        "  quantiles " + ", ".join(f"{q:.0%}: {s / 60:,.1f} min"
                                   for q, s in fit.quantiles_s.items()),
        "follower-profile laws: fitted (constant in sim.params)",
    ]
    fits = fit_profiles(datasets)
    lines += [f"  {law:16s} {name:20s} {value:10.3f} ({constant:g})"
              for law, name, value, constant in compare_laws(fits)]
    lines.append("screen-name patterns (cresci-2015):")
    for group, shares in username_patterns(datasets / "cresci-2015").items():
        lines.append(f"  {group}: " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
    return "\n".join(lines)
