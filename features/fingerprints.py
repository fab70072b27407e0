"""Fingerprints of mass-made followers, one value per sampled follower.

Rule-based and transparent: crude traits read from the ``FOLLOWER_SIGNALS``
matrix (by column name), repeated name/bio templates, and accounts created
on the same few days.  ``audience`` averages them per account; they need no
trained model, so they stand on their own until one is plugged in.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.columns import SECONDS_PER_DAY, SnapshotColumns
from trueclout.features.follower_signals import FOLLOWER_SIGNALS
from trueclout.features.grouping import group_rows, pack
from trueclout.features.segments import Segments
from trueclout.features.strings import concat_bytes, has_content, shared_codes, skeleton

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


def signal(signals: np.ndarray, name: str) -> np.ndarray:
    try:
        return signals[:, FOLLOWER_SIGNALS.index(name)]
    except ValueError:
        raise KeyError(f"follower signal {name!r} is missing from FOLLOWER_SIGNALS") from None


def _flag(condition: np.ndarray, known: np.ndarray) -> np.ndarray:
    """1/0 where ``known``, NaN elsewhere."""
    return np.where(known, condition.astype(np.float64), np.nan)


def crude_traits(signals: np.ndarray) -> dict[str, np.ndarray]:
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
    stacked = np.column_stack(list(traits.values()))
    known = (~np.isnan(stacked)).sum(axis=1)
    hits = np.nansum(stacked, axis=1)
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
        low = np.where(n > 0, np.clip(center - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(center + half, 0, 1), np.nan)
    return low, high


def templated(cols: SnapshotColumns, seg: Segments, n_sample: np.ndarray,
               signals: np.ndarray) -> np.ndarray:
    """1 where a follower's username pattern, display-name pattern or bio repeats.

    The three patterns are hashed and grouped in one pass: each becomes a key
    (account, which field, hash of the pattern).  Empty fields never match.
    """
    parts = [skeleton(cols.strings("followers", "username")),
             skeleton(cols.strings("followers", "display_name")),
             cols.strings("followers", "bio")]
    usable = np.concatenate([has_content(parts[0]),
                             signal(signals, "has_display_name") == 1,
                             signal(signals, "bio_blank") == 0])
    rows = len(seg)
    field = np.repeat(np.arange(len(parts), dtype=np.uint64), rows)[usable]
    codes = shared_codes(concat_bytes(parts))[0][usable] ^ (field * np.uint64(0x9E3779B97F4A7C15))
    account = np.tile(seg.ids, len(parts))[usable]
    sizes = np.zeros(len(usable), dtype=np.int64)
    sizes[usable] = group_rows(pack(account, seg.n, codes)).row_sizes()
    threshold = np.maximum(TEMPLATE_MIN_REPEATS, np.ceil(TEMPLATE_MIN_SHARE * n_sample))
    repeated = (sizes >= np.tile(threshold[seg.ids], len(parts))).reshape(len(parts), rows)
    return repeated.any(axis=0).astype(np.float64)


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
