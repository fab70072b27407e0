"""Fingerprints of mass-made followers, one value per sampled follower.

Rule-based and transparent: crude traits read from the ``FOLLOWER_SIGNALS``
matrix (by column name), repeated name/bio templates, and accounts created
on the same few days.  ``audience`` averages them per account; they need no
trained model, so they stand on their own until one is plugged in.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.families.follower_signals import FOLLOWER_SIGNALS, FollowerProfiles
from trueclout.features.kernels.columns import SECONDS_PER_DAY, SnapshotColumns
from trueclout.features.kernels.grouping import group_rows, isin_sorted, pack
from trueclout.features.kernels.segments import Segments
from trueclout.features.kernels.strings import edge_key, has_content, hash64, skeleton

# Crude fingerprints of mass-made accounts; a follower counts as a crude fake
# when at least CRUDE_MIN_TRAITS of them hold among at least CRUDE_MIN_KNOWN known.
INACTIVE_POSTS = 5
FOLLOW_HEAVY_RATIO = 10.0
YOUNG_AT_FOLLOW_DAYS = 30
DIGIT_RUN = 4
CRUDE_MIN_TRAITS = 3
CRUDE_MIN_KNOWN = 4
# A pattern is a template when this many sampled followers share it (and at
# least TEMPLATE_MIN_SHARE of the sample, so big samples of common names pass).
TEMPLATE_MIN_REPEATS = 3
TEMPLATE_MIN_SHARE = 0.01
# Creation-day clusters: more followers created on one day than a Poisson
# count with the sample spread over ten years would plausibly give.
CLUSTER_BASELINE_DAYS = 3_652
CLUSTER_MIN = 3
CLUSTER_SIGMAS = 4.0
WILSON_Z = 1.959963984540054  # 95%
ENTROPY_STEPS = 2.0**20  # entropy medians are exact to this resolution


def signal(signals: np.ndarray | FollowerProfiles, name: str) -> np.ndarray:
    """One follower signal, from the ``FOLLOWER_SIGNALS`` matrix or computed on demand."""
    if name not in FOLLOWER_SIGNALS:
        raise KeyError(f"follower signal {name!r} is missing from FOLLOWER_SIGNALS")
    if isinstance(signals, FollowerProfiles):
        return signals.signal(name)
    return signals[:, FOLLOWER_SIGNALS.index(name)]


def _flag(condition: np.ndarray, known: np.ndarray) -> np.ndarray:
    """1/0 where ``known``, NaN elsewhere."""
    return np.where(known, condition.astype(np.float64), np.nan)


def crude_traits(signals: np.ndarray | FollowerProfiles) -> dict[str, np.ndarray]:
    """Per-follower yes/no fingerprints (1/0, NaN unknown) from the signal matrix."""
    with np.errstate(invalid="ignore"):
        log_posts = signal(signals, "log_posts")
        ratio = signal(signals, "following_to_followers")
        at_follow = signal(signals, "log_age_at_follow_days")
        digit_run = signal(signals, "username_max_digit_run")
        return {
            "default_avatar": signal(signals, "default_avatar"),
            "empty_bio": signal(signals, "bio_blank"),
            "inactive": _flag(log_posts < np.log1p(INACTIVE_POSTS), ~np.isnan(log_posts)),
            "follow_heavy": _flag(ratio >= np.log(FOLLOW_HEAVY_RATIO), ~np.isnan(ratio)),
            "young_at_follow": _flag(at_follow <= np.log1p(YOUNG_AT_FOLLOW_DAYS),
                                     ~np.isnan(at_follow)),
            "digit_username": _flag(digit_run >= DIGIT_RUN, ~np.isnan(digit_run)),
        }


def crude_fake(traits: dict[str, np.ndarray]) -> np.ndarray:
    """1 where a follower shows enough crude fingerprints, 0 where not, NaN if too few known."""
    known = np.zeros(len(next(iter(traits.values()))), dtype=np.int64)
    hits = np.zeros(len(known))
    for trait in traits.values():  # 1/0/NaN: sums of whole numbers, exact in any order
        seen = trait == trait
        known += seen
        hits += np.where(seen, trait, 0.0)
    return _flag(hits >= CRUDE_MIN_TRAITS, known >= CRUDE_MIN_KNOWN)


def wilson_interval(hits: np.ndarray, n: np.ndarray, z: float = WILSON_Z) -> tuple[
        np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share; NaN where ``n`` is 0."""
    hits = np.asarray(hits, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / n
        denom = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        # No hits: exactly 0 (the formula leaves a rounding residue of ~1e-18).
        low = np.where(n > 0, np.where(hits > 0, np.clip(center - half, 0, 1), 0.0), np.nan)
        high = np.where(n > 0, np.clip(center + half, 0, 1), np.nan)
    return low, high


def templated(cols: SnapshotColumns, seg: Segments, n_sample: np.ndarray,
              signals: np.ndarray | FollowerProfiles) -> np.ndarray:
    """1 where a follower's username pattern, display-name pattern or bio repeats.

    Within each account and field, strings are first grouped by a cheap key
    (length, first and last 8 bytes): strings in groups too small to be a
    template cannot be one, and only the rest are hashed whole and grouped
    again.  Empty fields never match.
    """
    parts = [skeleton(cols.strings("followers", "username")),
             skeleton(cols.strings("followers", "display_name")),
             cols.strings("followers", "bio")]
    usable = [has_content(parts[0]),
              signal(signals, "has_display_name") == 1,
              signal(signals, "bio_blank") == 0]
    threshold = np.maximum(TEMPLATE_MIN_REPEATS, np.ceil(TEMPLATE_MIN_SHARE * n_sample))
    repeated = np.zeros(len(seg), dtype=bool)
    for sb, ok in zip(parts, usable, strict=True):
        rows = np.flatnonzero(ok)
        account = seg.ids[rows]
        maybe = _repeats(pack(account, seg.n, edge_key(sb, rows)), TEMPLATE_MIN_REPEATS)
        rows, account = rows[maybe], account[maybe]
        if len(rows):
            sizes = group_rows(pack(account, seg.n, hash64(sb.take(rows)))).row_sizes()
            repeated[rows[sizes >= threshold[account]]] = True
    return repeated.astype(np.float64)


def _repeats(keys: np.ndarray, at_least: int) -> np.ndarray:
    """Rows whose key occurs at least ``at_least`` times (one sort; few such keys)."""
    ordered = np.sort(keys)
    head = ordered[:max(len(ordered) - (at_least - 1), 0)]
    # A run of at least ``at_least`` equal keys has equal ends ``at_least - 1`` apart.
    frequent = head[ordered[at_least - 1:] == head]
    if len(frequent) == 0:
        return np.zeros(len(keys), dtype=bool)
    return isin_sorted(keys, frequent)


def creation_clustered(created_s: np.ndarray, seg: Segments, n_sample: np.ndarray) -> np.ndarray:
    """1 where a follower was created on a day implausibly crowded with other followers."""
    out = np.full(len(seg), np.nan)
    known = ~np.isnan(created_s)
    if not known.any():
        return out
    day = np.clip(np.floor(created_s[known] / SECONDS_PER_DAY), 0, 2**31 - 1).astype(np.int64)
    keys = (seg.ids[known].astype(np.int64) << np.int64(32)) | day
    rate = n_sample / CLUSTER_BASELINE_DAYS
    threshold = np.maximum(CLUSTER_MIN, np.ceil(rate + CLUSTER_SIGMAS * np.sqrt(rate) + 1))
    out[known] = group_rows(keys).row_sizes() >= threshold[seg.ids[known]]
    return out


def median_entropy(seg: Segments, bits: np.ndarray) -> np.ndarray:
    """Median entropy per account, to 2**-20 bits, by one integer sort."""
    known = ~np.isnan(bits)
    steps = np.round(bits[known] * ENTROPY_STEPS).astype(np.int64)
    return seg.subset(known).int_quantile(steps, 0.5) / ENTROPY_STEPS
