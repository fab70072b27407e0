"""From flagged followers to the fake share of a whole audience: adjusted classify-and-count.

Counting the followers a classifier flags is biased: it misses some fakes
(true-positive rate ``tpr`` below 1) and flags some humans (false-positive
rate ``fpr`` above 0), so a clean audience would read as ``fpr`` fake and a
fully bought one as ``tpr``.  Adjusted classify-and-count (Forman 2008) inverts
that: with ``q`` the flagged share of the sample,

    share = (q - fpr) / (tpr - fpr)

which is unbiased when the rates hold on the audience.  They do not, on a
market the model never met: a new vendor's stock may be caught far less
often.  So the rates are measured per group (market, data set), the fakes'
rate also with each whole group held out of training, and their spread
*between* groups (``tpr_sd`` over groups never seen, ``fpr_sd`` over the
groups of humans) is part of the error, beside the rates' own sampling error
and the binomial
error of ``q`` (a Wilson interval, which stays honest at 0 or all flagged and
widens for small samples; with the finite-population correction when the
sample is a large part of the audience).  The interval inverts the formula
at the plausible extremes of the rates: its top assumes a market caught as
rarely, and humans flagged as seldom, as the rates plausibly allow; its
bottom the reverse.
Everything is one numpy pass over all accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from trueclout.features.families.audience import ShareEstimate
from trueclout.features.families.fingerprints import wilson_interval
from trueclout.features.kernels.segments import Segments

# Below this gap between tpr and fpr the classifier cannot tell fakes from
# humans well enough for the correction to mean anything.
MIN_DISCRIMINATION = 0.05


# Groups with fewer profiles of a class than this give no rate of their own.
MIN_GROUP_PROFILES = 20


@dataclass(frozen=True)
class AdjustedCount:
    """Adjusted classify-and-count with the error rates measured on held-out predictions.

    ``tpr`` and ``fpr`` are the rates at the model's decision threshold: the
    best-caught group's true-positive rate (so the share is the reading of a
    market the model knows, conservative for one it does not) and the mean
    false-positive rate over groups of humans; ``n_fake`` and
    ``n_human`` the held-out profiles they were measured on; ``tpr_sd`` and
    ``fpr_sd`` their spread between groups (0 where fewer than two groups
    could be held out: then only sampling error is counted); ``groups`` each
    group's own rates, for the record.
    """

    tpr: float
    fpr: float
    n_fake: int
    n_human: int
    level: float = 0.95
    tpr_sd: float = 0.0
    fpr_sd: float = 0.0
    groups: dict[str, dict[str, float | int]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in ("tpr", "fpr"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        for name in ("tpr_sd", "fpr_sd"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.n_fake < 1 or self.n_human < 1:
            raise ValueError("tpr and fpr must be measured on at least one fake and one human")
        if not 0.5 <= self.level < 1.0:
            raise ValueError(f"level must lie in [0.5, 1), got {self.level}")

    @classmethod
    def from_held_out(cls, y: np.ndarray, flagged: np.ndarray, groups: np.ndarray | None = None,
                      level: float = 0.95,
                      unseen_flagged: np.ndarray | None = None) -> AdjustedCount:
        """Rates from held-out flags, per group: the best-caught group's tpr, the mean fpr.

        ``flagged`` comes from folds of rows (each group partly seen): the
        rates, and the spread of the humans' rate between groups
        (``fpr_sd``).  ``unseen_flagged``, where given, from folds of whole
        groups (each group scored by a model that never met it): the spread
        of the fakes' rate between them is ``tpr_sd``, the doubt a new market
        brings; without it the spread of ``flagged`` stands in.  A group
        counts toward a rate when it holds at least ``MIN_GROUP_PROFILES``
        profiles of that class; the pooled rate stands in when none does.
        """
        y = np.asarray(y, dtype=np.int64)
        f = np.asarray(flagged, dtype=bool)
        u = f if unseen_flagged is None else np.asarray(unseen_flagged, dtype=bool)
        names = (np.zeros(len(y), dtype=object) if groups is None
                 else np.asarray(groups, dtype=object)).astype(str)
        per_group: dict[str, dict[str, float | int]] = {}
        rates: dict[str, list[float]] = {"tpr": [], "fpr": [], "tpr_unseen": [],
                                         "fpr_unseen": []}
        for name in sorted(set(names.tolist())):
            rows = names == name
            entry: dict[str, float | int] = {"n_fake": int((rows & (y == 1)).sum()),
                                             "n_human": int((rows & (y == 0)).sum())}
            for rate, label in (("tpr", 1), ("fpr", 0)):
                mine = rows & (y == label)
                if mine.sum() >= MIN_GROUP_PROFILES:
                    entry[rate] = float(f[mine].mean())
                    rates[rate].append(entry[rate])
                    if unseen_flagged is not None:
                        entry[f"{rate}_unseen"] = float(u[mine].mean())
                        rates[f"{rate}_unseen"].append(entry[f"{rate}_unseen"])
            per_group[name] = entry
        # The best-caught group's rate: the share reads as what a market the model knows
        # would explain (never more than the flags can show); the spread down to the other
        # groups' rates is the doubt a market it never met brings, at the top end.
        tpr = float(np.max(rates["tpr"])) if rates["tpr"] else float(f[y == 1].mean())
        fpr = float(np.mean(rates["fpr"])) if rates["fpr"] else float(f[y == 0].mean())
        # Markets change (vendors adapt), so the top of the interval takes the spread of
        # groups the model never met; people do not change that fast, and the threshold is
        # guarded on every group of humans held, so the bottom takes theirs as measured.
        unseen = "_unseen" if unseen_flagged is not None else ""
        return cls(tpr=tpr, fpr=fpr, n_fake=int((y == 1).sum()), n_human=int((y == 0).sum()),
                   level=level, tpr_sd=_spread(tpr, rates["tpr" + unseen]),
                   fpr_sd=_spread(fpr, rates["fpr"]),
                   groups=per_group if groups is not None else {})

    @property
    def discrimination(self) -> float:
        return self.tpr - self.fpr

    def estimate(
        self, flagged: np.ndarray, sampled: np.ndarray, audience: np.ndarray | None = None
    ) -> ShareEstimate:
        """Per-account share from ``flagged`` of ``sampled`` followers (audience: total size).

        NaN where nothing was sampled, or where the classifier does not
        discriminate (``tpr - fpr`` below ``MIN_DISCRIMINATION``).
        """
        k = np.asarray(flagged, dtype=np.float64)
        n = np.asarray(sampled, dtype=np.float64)
        z = float(ndtri(0.5 + self.level / 2))  # norm.ppf without its ~40 µs of overhead
        t, f = self.tpr, self.fpr
        gap = t - f
        # Rates pulled half a case toward 1/2 for their sampling error: a measured 0 keeps doubt.
        ts, fs = _smoothed(t, self.n_fake), _smoothed(f, self.n_human)
        t_err = z * np.hypot(np.sqrt(ts * (1 - ts) / self.n_fake), self.tpr_sd)
        f_err = z * np.hypot(np.sqrt(fs * (1 - fs) / self.n_human), self.fpr_sd)
        t_low, t_high = max(t - t_err, 0.0), min(t + t_err, 1.0)
        f_low, f_high = max(f - f_err, 0.0), min(f + f_err, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = k / n
            q_low, q_high = wilson_interval(k, n, z)
            fpc = _finite_population(n, audience)
            q_low = q - (q - q_low) * fpc
            q_high = q + (q_high - q) * fpc
            share = np.clip((q - f) / gap, 0.0, 1.0)
            # Bottom: few flags, many humans flagged, fakes caught as often as plausible.
            low = np.clip((q_low - f_high) / max(t_high - f_high, MIN_DISCRIMINATION), 0.0, 1.0)
            # Top: many flags, few humans flagged, fakes caught as rarely as plausible.
            weakest = t_low - f_low
            high = (np.clip((q_high - f_low) / weakest, 0.0, 1.0)
                    if weakest >= MIN_DISCRIMINATION else np.ones_like(q))
        undefined = (n <= 0) | np.isnan(n) | (gap < MIN_DISCRIMINATION)
        for a in (share, low, high):
            a[undefined] = np.nan
        low = np.minimum(low, share)
        high = np.maximum(high, share)
        return ShareEstimate(share=share, low=low, high=high, level=self.level)

    def estimate_share(
        self, flagged: np.ndarray, segments: Segments, followers_count: np.ndarray | None = None
    ) -> ShareEstimate:
        """Per-account estimate from one flag per follower row (NaN flags are left out)."""
        flags = np.asarray(flagged, dtype=np.float64)
        known = ~np.isnan(flags)
        sampled = segments.count(known)
        hits = segments.count(known & (flags > 0))
        return self.estimate(hits, sampled, followers_count)

    def to_dict(self) -> dict[str, Any]:
        return {"tpr": self.tpr, "fpr": self.fpr, "n_fake": self.n_fake,
                "n_human": self.n_human, "level": self.level, "tpr_sd": self.tpr_sd,
                "fpr_sd": self.fpr_sd, "groups": self.groups}

    @classmethod
    def from_dict(cls, d: dict) -> AdjustedCount:
        return cls(tpr=float(d["tpr"]), fpr=float(d["fpr"]), n_fake=int(d["n_fake"]),
                   n_human=int(d["n_human"]), level=float(d.get("level", 0.95)),
                   tpr_sd=float(d.get("tpr_sd", 0.0)), fpr_sd=float(d.get("fpr_sd", 0.0)),
                   groups=dict(d.get("groups", {})))


def _spread(centre: float, rates: list[float]) -> float:
    """Root mean square distance of groups' rates from the rate used (0 with fewer than two
    groups): a group the model never met sits that far from it, bias included."""
    if len(rates) < 2:
        return 0.0
    return float(min(np.sqrt(np.mean((np.asarray(rates) - centre) ** 2)), 1.0))


def _smoothed(rate: float, n: int) -> float:
    """A rate pulled half a case toward 1/2, so a measured 0 or 1 keeps some uncertainty."""
    return (rate * n + 0.5) / (n + 1)


def _finite_population(sampled: np.ndarray, audience: np.ndarray | None) -> np.ndarray:
    """sqrt((N - n) / (N - 1)): a sample of most of the audience leaves little to guess."""
    if audience is None:
        return np.ones_like(sampled)
    total = np.asarray(audience, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpc = np.sqrt(np.clip((total - sampled) / np.maximum(total - 1, 1), 0, 1))
    return np.where(np.isnan(total) | (total < sampled), 1.0, fpc)


def authentic_followers(
    estimate: ShareEstimate, followers_count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimated authentic followers (and its interval) from the fake-share estimate."""
    total = np.asarray(followers_count, dtype=np.float64)
    return (total * (1 - estimate.share), total * (1 - estimate.high),
            total * (1 - estimate.low))
