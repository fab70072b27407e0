"""Profile family: the account's own age, ratios, activity rates and completeness.

Text fields count only as present or absent, never by what they say: a
signal that reads the words penalises accounts that do not write English.
A field the platform did not report (null) is unknown and left out, so an
incomplete export never looks like an incomplete profile.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.frame import FamilyResult
from trueclout.features.kernels.columns import SECONDS_PER_DAY, SnapshotColumns
from trueclout.features.kernels.strings import concat_bytes, has_content

OPTIONAL_TEXT_FIELDS: tuple[str, ...] = ("display_name", "bio", "url", "location")


def _log10_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log10((1.0 + np.clip(num, 0, None)) / (1.0 + np.clip(den, 0, None)))


def _completeness(cols: SnapshotColumns) -> np.ndarray:
    """Share of reported optional fields that are filled in (NaN if none reported).

    A field counts as filled when it holds anything but whitespace; the four
    text fields are checked in one pass over their bytes.
    """
    texts = concat_bytes([cols.strings("profiles", name) for name in OPTIONAL_TEXT_FIELDS])
    filled_text = has_content(texts).reshape(len(OPTIONAL_TEXT_FIELDS), cols.n)
    known_text = texts.valid.reshape(len(OPTIONAL_TEXT_FIELDS), cols.n)
    own_picture = 1.0 - cols.number("profiles", "default_avatar")
    picture_known = ~np.isnan(own_picture)
    filled = filled_text.sum(axis=0) + np.where(picture_known, own_picture, 0.0)
    known = known_text.sum(axis=0) + picture_known
    return np.where(known > 0, filled / np.maximum(known, 1), np.nan)


def compute_profile(cols: SnapshotColumns) -> FamilyResult:
    created = cols.seconds("profiles", "created_at")
    age_days = np.clip((cols.observed_at - created) / SECONDS_PER_DAY, 0, None)
    life_days = np.maximum(age_days, 1.0)
    followers = cols.followers_count
    following = cols.number("profiles", "following_count")
    posts_count = cols.number("profiles", "posts_count")
    listed = cols.number("profiles", "listed_count")
    posts = cols.segments("posts")
    per_post = posts.mean(cols.post_engagement)
    followers_per_day = followers / life_days
    posts_per_day = posts_count / life_days
    features = {
        "profile_age_days": age_days,
        "profile_log_followers_per_day": np.log10(1.0 + followers_per_day),
        "profile_following_to_followers": _log10_ratio(following, followers),
        "profile_log_followers_per_post": _log10_ratio(followers, posts_count),
        "profile_log_posts_per_day": np.log10(0.01 + posts_per_day),
        "profile_completeness": _completeness(cols),
        "profile_verified": cols.number("profiles", "verified"),
        "profile_log_listed_per_follower": _log10_ratio(listed, followers),
        "profile_engagement_rate": _log10_ratio(per_post, followers),
    }
    context = {
        "followers_count": followers,
        "following_count": following,
        "posts_count": posts_count,
        "listed_count": listed,
        "profile_followers_per_day": followers_per_day,
        "profile_posts_per_day": posts_per_day,
        "profile_engagement_per_post": per_post,
    }
    return FamilyResult(features, context, np.ones(cols.n))
