"""Audience family: fingerprints of inauthentic followers, aggregated per account.

Two layers.  The fingerprint aggregates (shares of default avatars, empty bios,
digit-run usernames, creation-date clusters, duplicate templates, creation-week
lots, a simple rule-based "crude fake" share, ...) need nothing but the
follower sample and always stand.  A follower-level model plugs in through
``AudienceScorer``: it turns each sampled follower's ``FOLLOWER_SIGNALS`` row
into a fake probability and estimates the fake share of the *whole* audience
with an interval; without a scorer those model columns are NaN (unknown), never
zero.  The model's estimate is joined with the lot share (``lots.combine_share``):
lots are a lower bound on the bought share that holds even for a vendor's
market the model never met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from trueclout.features.families.fingerprints import (
    creation_clustered,
    crude_fake,
    crude_traits,
    median_entropy,
    signal,
    templated,
    wilson_interval,
)
from trueclout.features.families.follower_signals import FOLLOWER_SIGNALS, FollowerProfiles
from trueclout.features.families.lots import combine_share, find_lots
from trueclout.features.frame import FamilyResult
from trueclout.features.kernels.columns import SECONDS_PER_DAY, SnapshotColumns
from trueclout.features.kernels.segments import Segments


@dataclass(frozen=True)
class ShareEstimate:
    """Estimated fake share of each account's whole audience, with an interval.

    Arrays have one entry per account (profiles order); NaN where the account
    has no usable follower sample.  ``low <= share <= high`` wherever defined,
    all within [0, 1].  ``level`` is the interval's coverage (e.g. 0.95).
    """

    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float = 0.95

    def __post_init__(self) -> None:
        n = len(self.share)
        if len(self.low) != n or len(self.high) != n:
            raise ValueError("share, low and high must have one entry per account")


@runtime_checkable
class AudienceScorer(Protocol):
    """The seam where the follower-level model plugs into the audience family.

    ``fake_probability`` sees every sampled follower of every account at once
    (rows of the ``follower_signals`` matrix, columns in ``FOLLOWER_SIGNALS``
    order, NaN = unknown) and returns one probability per row.
    ``estimate_share`` turns those per-follower probabilities into per-account
    estimates of the fake share of the whole audience: ``segments`` maps each
    follower row to its account, ``followers_count`` is each account's total
    audience (the sample is usually a small part of it), so the interval can
    reflect the sample size.
    """

    def fake_probability(self, signals: np.ndarray) -> np.ndarray: ...

    def estimate_share(
        self, probabilities: np.ndarray, segments: Segments, followers_count: np.ndarray
    ) -> ShareEstimate: ...


# Audience shares that average one crude trait of each follower (see fingerprints).
TRAIT_SHARES: dict[str, str] = {
    "audience_default_avatar_share": "default_avatar",
    "audience_empty_bio_share": "empty_bio",
    "audience_inactive_share": "inactive",
    "audience_follow_heavy_share": "follow_heavy",
    "audience_young_at_follow_share": "young_at_follow",
    "audience_digit_username_share": "digit_username",
}


def _signals_read(scorer: AudienceScorer) -> frozenset[str] | None:
    """The signals a scorer reads, where it names them (``feature_names_``, a fitted
    ``FollowerModel``'s list): the others need not be measured for it.  None (all of
    them) for any other scorer."""
    names = getattr(scorer, "feature_names_", None)
    if not isinstance(names, list | tuple) or not set(names) <= set(FOLLOWER_SIGNALS):
        return None
    return frozenset(names)


def _model_share(scorer: AudienceScorer | None, profiles: FollowerProfiles, seg: Segments,
                 followers_count: np.ndarray) -> ShareEstimate:
    n = seg.n
    if scorer is None:
        nan = np.full(n, np.nan)
        return ShareEstimate(nan, nan.copy(), nan.copy())
    probs = np.asarray(scorer.fake_probability(profiles.matrix(_signals_read(scorer))),
                       dtype=np.float64)
    if probs.shape != (len(seg),):
        raise ValueError(f"AudienceScorer.fake_probability returned shape {probs.shape} for "
                         f"{len(seg)} followers; expected one probability per follower")
    est = scorer.estimate_share(probs, seg, followers_count)
    if len(est.share) != n:
        raise ValueError(f"AudienceScorer.estimate_share returned {len(est.share)} accounts, "
                         f"expected {n}")
    return est


def compute_audience(cols: SnapshotColumns, scorer: AudienceScorer | None = None) -> FamilyResult:
    seg = cols.segments("followers")
    n_sample = seg.count()
    observed = cols.observed_at[seg.ids]
    profiles = FollowerProfiles(cols.tables.followers, observed,
                                text=lambda name: cols.strings("followers", name),
                                number=lambda name: cols.number_or_seconds("followers", name))
    traits = crude_traits(profiles)
    crude = crude_fake(traits)
    created = cols.seconds("followers", "created_at")
    # Every per-follower 1/0 column is averaged per account in one pass.
    per_follower = {
        "audience_crude_fake_share": crude,
        **{name: traits[trait] for name, trait in TRAIT_SHARES.items()},
        "audience_template_share": templated(cols, seg, n_sample, profiles),
        "audience_creation_cluster_share": creation_clustered(created, seg, n_sample),
    }
    shares = dict(zip(per_follower, seg.flag_means(list(per_follower.values())).T, strict=True))
    crude_known = seg.count(~np.isnan(crude))
    crude_hits = np.nan_to_num(shares["audience_crude_fake_share"]) * crude_known
    low, high = wilson_interval(crude_hits, crude_known)
    age_seconds = np.clip(observed - created, 0, 2**32 - 1).astype(np.int64)
    lots = find_lots(created, seg, cols.seconds("followers", "followed_at"))
    model = combine_share(_model_share(scorer, profiles, seg, cols.followers_count),
                          lots.share, lots.low, lots.high)
    features = {
        **shares,
        "audience_median_age_days": seg.int_quantile(age_seconds, 0.5) / SECONDS_PER_DAY,
        "audience_username_entropy": median_entropy(seg, signal(profiles, "username_entropy")),
        "audience_model_fake_share": model.share,
        "audience_model_fake_share_low": model.low,
        "audience_model_fake_share_high": model.high,
        "audience_lot_share": lots.share,
    }
    context = {
        "audience_sample_size": n_sample,
        "audience_crude_known": crude_known,
        "audience_crude_fake_count": crude_hits,
        "audience_crude_fake_share_low": low,
        "audience_crude_fake_share_high": high,
        "audience_model_fake_followers": model.share * cols.followers_count,
        "audience_lot_share_low": lots.low,
        "audience_lot_share_high": lots.high,
        "audience_lot_count": lots.lots,
        "audience_largest_lot_share": lots.largest,
        "audience_lot_dated": lots.known,
        "audience_lot_co_arrival_share": lots.co_arrival,
    }
    return FamilyResult(features, context, n_sample)
