"""From flagged followers to the fake share of a whole audience: adjusted classify-and-count.

Counting the followers a classifier flags is biased: it misses some fakes
(true-positive rate ``tpr`` below 1) and flags some humans (false-positive
rate ``fpr`` above 0), so a clean audience would read as ``fpr`` fake and a
fully bought one as ``tpr``.  Adjusted classify-and-count (Forman 2008) inverts
that: with ``q`` the flagged share of the sample,

    share = (q - fpr) / (tpr - fpr)

which is unbiased when the rates hold on the audience.  The rates come from
the model's cross-validated predictions, so they carry their own sampling
error; the interval combines it with the binomial error of ``q`` (a Wilson
interval, which stays honest at 0 or all flagged and widens for small
samples), and applies the finite-population correction when the sample is a
large part of the audience.  Everything is one numpy pass over all accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from trueclout.features.families.audience import ShareEstimate
from trueclout.features.kernels.segments import Segments

# Below this gap between tpr and fpr the classifier cannot tell fakes from
# humans well enough for the correction to mean anything.
MIN_DISCRIMINATION = 0.05


@dataclass(frozen=True)
class AdjustedCount:
    """Adjusted classify-and-count with the error rates measured on held-out predictions.

    ``tpr`` and ``fpr`` are the rates at the model's decision threshold;
    ``n_fake`` and ``n_human`` the held-out profiles they were measured on
    (their sampling error widens the interval).
    """

    tpr: float
    fpr: float
    n_fake: int
    n_human: int
    level: float = 0.95

    def __post_init__(self) -> None:
        for name in ("tpr", "fpr"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.n_fake < 1 or self.n_human < 1:
            raise ValueError("tpr and fpr must be measured on at least one fake and one human")
        if not 0.5 <= self.level < 1.0:
            raise ValueError(f"level must lie in [0.5, 1), got {self.level}")

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
        z = float(norm.ppf(0.5 + self.level / 2))
        t, f = self.tpr, self.fpr
        gap = t - f
        # Variances from rates pulled half a case toward 1/2: a measured 0 keeps some doubt.
        ts, fs = _smoothed(t, self.n_fake), _smoothed(f, self.n_human)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = k / n
            q_low, q_high = _wilson(k, n, z)
            fpc = _finite_population(n, audience)
            q_low = q - (q - q_low) * fpc
            q_high = q + (q_high - q) * fpc
            share = np.clip((q - f) / gap, 0.0, 1.0)
            # The rates' own sampling error, propagated by the delta method.
            rate_var = (share**2 * ts * (1 - ts) / self.n_fake
                        + (1 - share) ** 2 * fs * (1 - fs) / self.n_human) / gap**2
            below = np.hypot((q - q_low) / gap, z * np.sqrt(rate_var))
            above = np.hypot((q_high - q) / gap, z * np.sqrt(rate_var))
            raw = (q - f) / gap
            low = np.clip(raw - below, 0.0, 1.0)
            high = np.clip(raw + above, 0.0, 1.0)
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

    def to_dict(self) -> dict[str, float | int]:
        return {"tpr": self.tpr, "fpr": self.fpr, "n_fake": self.n_fake,
                "n_human": self.n_human, "level": self.level}

    @classmethod
    def from_dict(cls, d: dict) -> AdjustedCount:
        return cls(tpr=float(d["tpr"]), fpr=float(d["fpr"]), n_fake=int(d["n_fake"]),
                   n_human=int(d["n_human"]), level=float(d.get("level", 0.95)))


def _smoothed(rate: float, n: int) -> float:
    """A rate pulled half a case toward 1/2, so a measured 0 or 1 keeps some uncertainty."""
    return (rate * n + 0.5) / (n + 1)


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (NaN where n is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


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
