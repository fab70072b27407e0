"""Semi-real audiences: follower samples mixed from held-out profiles at known fake shares.

The estimand is the fake share of an account's whole audience, so each
audience samples ``size`` followers from a population whose fake share is
``share``: the number of fakes in the sample is Binomial(size, share).
Profiles are drawn without replacement from the held-out pools (a profile
never follows one account twice, and a duplicate would fake a creation lot);
a (size, share) cell whose draws a pool cannot fill is left out and said so.

Each audience is then quantified as the service does: the follower model's
flags through adjusted classify-and-count, joined with the creation-lot
fingerprint of the same sample (``features.families.lots``); a plain
classify-and-count of a baseline's flags is measured beside it.  Everything
runs over all audiences of a cell at once (one ``Segments`` of audiences).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trueclout.features.families.audience import ShareEstimate
from trueclout.features.families.lots import combine_share, find_lots
from trueclout.features.kernels.segments import Segments
from trueclout.models.quantify import AdjustedCount

SHARES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SIZES: tuple[int, ...] = (25, 50, 100, 200, 500, 1000)
# The targets hold for audiences with at least this many sampled followers.
LARGE_SAMPLE = 200


@dataclass(frozen=True)
class Audiences:
    """Many sampled audiences at once: per follower, its profile ``rows`` and audience ``ids``."""

    rows: np.ndarray
    ids: np.ndarray
    size: np.ndarray
    share: np.ndarray
    skipped: tuple[tuple[int, float], ...]

    @property
    def n(self) -> int:
        return len(self.size)

    @property
    def segments(self) -> Segments:
        return Segments(self.ids, self.n)


def draw_audiences(fakes: np.ndarray, humans: np.ndarray, *, sizes: Sequence[int] = SIZES,
                   shares: Sequence[float] = SHARES, draws: int = 100,
                   seed: int = 0) -> Audiences:
    """``draws`` audiences per (size, share) from the fake and human profile rows given."""
    rng = np.random.default_rng(seed)
    rows, ids, size_of, share_of, skipped = [], [], [], [], []
    for size in sizes:
        for share in shares:
            n_fake = rng.binomial(size, share, draws)
            if n_fake.max() > len(fakes) or (size - n_fake).max() > len(humans):
                skipped.append((int(size), float(share)))
                continue
            for k in n_fake:
                audience = len(size_of)
                picked = np.concatenate([rng.choice(fakes, k, replace=False),
                                         rng.choice(humans, size - k, replace=False)])
                rows.append(picked)
                ids.append(np.full(size, audience, dtype=np.int64))
                size_of.append(size)
                share_of.append(share)
    if not size_of:
        empty = np.zeros(0, dtype=np.int64)
        return Audiences(empty, empty, empty, np.zeros(0), tuple(skipped))
    return Audiences(np.concatenate(rows), np.concatenate(ids), np.asarray(size_of),
                     np.asarray(share_of, dtype=np.float64), tuple(skipped))


def model_estimate(audiences: Audiences, flagged: np.ndarray, quantifier: AdjustedCount,
                   created_s: np.ndarray | None = None) -> ShareEstimate:
    """Each audience's fake share as the service estimates it (model flags, then the lots).

    ``flagged`` and ``created_s`` are per profile row; without creation dates
    the model's estimate stands alone.
    """
    seg = audiences.segments
    hits = seg.count(np.asarray(flagged, dtype=bool)[audiences.rows])
    estimate = quantifier.estimate(hits, audiences.size.astype(np.float64))
    if created_s is None:
        return estimate
    lots = find_lots(np.asarray(created_s, dtype=np.float64)[audiences.rows], seg)
    return combine_share(estimate, lots.share, lots.low, lots.high)


def counted_share(audiences: Audiences, flagged: np.ndarray) -> np.ndarray:
    """Plain classify-and-count: the flagged share of each sample (what audits publish)."""
    hits = audiences.segments.count(np.asarray(flagged, dtype=bool)[audiences.rows])
    return hits / audiences.size


@dataclass(frozen=True)
class ShareErrors:
    """How far estimates fell from the truth, per sample size and pooled over large samples."""

    by_size: list[dict[str, float | int | None]]
    large: dict[str, float | int | None]
    skipped: list[list[float]]

    def to_dict(self) -> dict[str, object]:
        return {"by_size": self.by_size, f"at_{LARGE_SAMPLE}_plus": self.large,
                "skipped_cells": self.skipped}


def share_errors(audiences: Audiences, share: np.ndarray, low: np.ndarray | None = None,
                 high: np.ndarray | None = None) -> ShareErrors:
    """MAE, bias, interval coverage and width (where an interval is given), by sample size."""
    truth = audiences.share
    err = np.asarray(share, dtype=np.float64) - truth
    has_interval = low is not None and high is not None
    covered = ((low <= truth + 1e-9) & (truth - 1e-9 <= high)) if has_interval else None
    width = (high - low) if has_interval else None

    def summary(mask: np.ndarray) -> dict[str, float | int | None]:
        known = mask & ~np.isnan(err)
        out: dict[str, float | int | None] = {
            "audiences": int(mask.sum()),
            "estimated": int(known.sum()),
            "mae": float(np.abs(err[known]).mean()) if known.any() else None,
            "bias": float(err[known].mean()) if known.any() else None,
            "coverage": None,
            "worst_share_coverage": None,
            "mean_width": None,
        }
        if covered is not None and known.any():
            out["coverage"] = float(covered[known].mean())
            out["mean_width"] = float(width[known].mean())
            out["worst_share_coverage"] = float(min(
                covered[known & (truth == s)].mean() for s in np.unique(truth[known])))
        return out

    sizes = audiences.size
    by_size = [{"size": int(s), **summary(sizes == s)} for s in np.unique(sizes)]
    large = summary(sizes >= LARGE_SAMPLE)
    return ShareErrors(by_size, large, [list(c) for c in audiences.skipped])
