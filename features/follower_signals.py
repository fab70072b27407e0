"""Per-follower profile signals: what a purchased follower's profile looks like.

One row per follower profile, one column per signal in ``FOLLOWER_SIGNALS``
order.  The follower-level model is trained on these columns, and the
audience family of the account-level pipeline aggregates them per account.
Sources that lack a field (InstaFake has lengths, not strings; few sources
know when a follow happened) give NaN, which the models treat as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.strings import (
    blank,
    byte_entropy,
    char_length,
    digit_count,
    digit_runs,
    string_bytes,
)

SECONDS_PER_DAY = 86_400.0

# Raw measurements of one profile; an adapter that cannot read strings (InstaFake)
# supplies these directly.  Order here is the column order of FOLLOWER_SIGNALS.
FOLLOWER_MEASUREMENTS: tuple[str, ...] = (
    "default_avatar",
    "bio_length",
    "bio_blank",
    "has_url",
    "has_location",
    "has_display_name",
    "posts",
    "followers",
    "following",
    "likes",
    "listed",
    "verified",
    "age_days",
    "age_at_follow_days",
    "username_length",
    "username_digits",
    "username_max_digit_run",
    "username_trailing_digits",
    "username_entropy",
)

FOLLOWER_SIGNALS: tuple[str, ...] = (
    "default_avatar",
    "bio_blank",
    "bio_length",
    "has_url",
    "has_location",
    "has_display_name",
    "log_posts",
    "log_followers",
    "log_following",
    "following_to_followers",
    "log_likes",
    "log_listed",
    "verified",
    "log_age_days",
    "log_age_at_follow_days",
    "log_posts_per_day",
    "username_length",
    "username_digit_share",
    "username_max_digit_run",
    "username_trailing_digits",
    "username_entropy",
)

FOLLOWER_SIGNAL_DESCRIPTIONS: dict[str, str] = {
    "default_avatar": "the profile still shows the platform's default picture (1/0)",
    "bio_blank": "the bio is empty (1/0)",
    "bio_length": "characters in the bio",
    "has_url": "the profile links a web site (1/0)",
    "has_location": "the profile states a location (1/0)",
    "has_display_name": "a display name is set (1/0)",
    "log_posts": "log(1 + posts)",
    "log_followers": "log(1 + followers)",
    "log_following": "log(1 + accounts followed)",
    "following_to_followers": (
        "log((1 + following) / (1 + followers)); bought followers follow many, "
        "are followed by few"
    ),
    "log_likes": "log(1 + likes given)",
    "log_listed": "log(1 + lists the profile is on)",
    "verified": "the platform verified the profile (1/0)",
    "log_age_days": "log(1 + account age in days at observation)",
    "log_age_at_follow_days": (
        "log(1 + account age in days when it followed); accounts made in bulk follow at once"
    ),
    "log_posts_per_day": "log(1 + posts per day of account age)",
    "username_length": "characters in the username",
    "username_digit_share": "share of the username that is digits",
    "username_max_digit_run": "longest run of consecutive digits in the username",
    "username_trailing_digits": "digits at the end of the username (name1987)",
    "username_entropy": "bits per character of the username; generated names are near-random",
}


# Yes/no signals (1/0, NaN unknown); every other signal is a measured quantity.
FOLLOWER_FLAGS: frozenset[str] = frozenset(
    {"default_avatar", "bio_blank", "has_url", "has_location", "has_display_name", "verified"}
)

# Which way each signal moves the odds that a profile was bought, where that is
# known before seeing data (+1 raises them, -1 lowers them; absent: no prior).
# Models may constrain themselves to these directions so that, say, gaining
# real followers never makes a profile look more purchased.
FOLLOWER_SIGNAL_DIRECTIONS: dict[str, int] = {
    "default_avatar": 1,
    "bio_blank": 1,
    "has_url": -1,
    "log_posts": -1,
    "log_followers": -1,
    "following_to_followers": 1,
    "log_likes": -1,
    "log_listed": -1,
    "verified": -1,
    "log_age_days": -1,
    "log_posts_per_day": -1,
}


def _num(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name)
    if pa.types.is_boolean(col.type):
        col = pc.cast(col, pa.float64())
    elif pa.types.is_timestamp(col.type):
        col = pc.divide(pc.cast(pc.cast(col, pa.timestamp("us", tz="UTC")), pa.int64()), 1e6)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _present(table: pa.Table, name: str) -> np.ndarray:
    """1 where the text has content, 0 where it is empty, NaN where it is null (unknown)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return 1.0 - blank(table.column(name))


def measure_followers(table: pa.Table, observed_at: np.ndarray) -> dict[str, np.ndarray]:
    """Raw measurements of each profile in a table with the contract's profile columns.

    ``observed_at`` is the observation time (seconds since the epoch) per row:
    ages are measured then, not today.
    """
    n = table.num_rows
    observed_at = np.broadcast_to(np.asarray(observed_at, dtype=np.float64), (n,))
    created = _num(table, "created_at")
    followed = _num(table, "followed_at")
    out: dict[str, np.ndarray] = {
        "default_avatar": _num(table, "default_avatar"),
        "bio_length": (char_length(table.column("bio")) if "bio" in table.column_names
                       else np.full(n, np.nan)),
        "bio_blank": (blank(table.column("bio")) if "bio" in table.column_names
                      else np.full(n, np.nan)),
        "has_url": _present(table, "url"),
        "has_location": _present(table, "location"),
        "has_display_name": _present(table, "display_name"),
        "posts": _num(table, "posts_count"),
        "followers": _num(table, "followers_count"),
        "following": _num(table, "following_count"),
        "likes": _num(table, "likes_count"),
        "listed": _num(table, "listed_count"),
        "verified": _num(table, "verified"),
        "age_days": (observed_at - created) / SECONDS_PER_DAY,
        "age_at_follow_days": (followed - created) / SECONDS_PER_DAY,
    }
    if "username" in table.column_names:
        sb = string_bytes(table.column("username"))
        longest, trailing = digit_runs(sb)
        out |= {
            "username_length": char_length(table.column("username")),
            "username_digits": digit_count(sb),
            "username_max_digit_run": longest,
            "username_trailing_digits": trailing,
            "username_entropy": byte_entropy(sb),
        }
    else:
        for name in ("username_length", "username_digits", "username_max_digit_run",
                     "username_trailing_digits", "username_entropy"):
            out[name] = np.full(n, np.nan)
    return out


def _log1p_nonneg(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.log1p(np.clip(x, 0, None))


def signals_from_measurements(m: Mapping[str, np.ndarray]) -> np.ndarray:
    """Measurements -> the ``FOLLOWER_SIGNALS`` matrix (n x k, float64, NaN = unknown)."""
    n = len(next(iter(m.values())))

    def get(name: str) -> np.ndarray:
        v = m.get(name)
        return np.full(n, np.nan) if v is None else np.asarray(v, dtype=np.float64)

    age = get("age_days")
    age_follow = get("age_at_follow_days")
    posts = get("posts")
    followers = get("followers")
    following = get("following")
    ulen = get("username_length")
    with np.errstate(invalid="ignore", divide="ignore"):
        posts_per_day = posts / np.maximum(age, 1.0)
        digit_share = np.where(ulen > 0, get("username_digits") / ulen, np.nan)
    columns = {
        "default_avatar": get("default_avatar"),
        "bio_blank": get("bio_blank"),
        "bio_length": get("bio_length"),
        "has_url": get("has_url"),
        "has_location": get("has_location"),
        "has_display_name": get("has_display_name"),
        "log_posts": _log1p_nonneg(posts),
        "log_followers": _log1p_nonneg(followers),
        "log_following": _log1p_nonneg(following),
        "following_to_followers": _log1p_nonneg(following) - _log1p_nonneg(followers),
        "log_likes": _log1p_nonneg(get("likes")),
        "log_listed": _log1p_nonneg(get("listed")),
        "verified": get("verified"),
        "log_age_days": _log1p_nonneg(age),
        "log_age_at_follow_days": _log1p_nonneg(age_follow),
        "log_posts_per_day": _log1p_nonneg(posts_per_day),
        "username_length": ulen,
        "username_digit_share": digit_share,
        "username_max_digit_run": get("username_max_digit_run"),
        "username_trailing_digits": get("username_trailing_digits"),
        "username_entropy": get("username_entropy"),
    }
    return np.column_stack([columns[name] for name in FOLLOWER_SIGNALS]) if n else np.zeros(
        (0, len(FOLLOWER_SIGNALS))
    )


def follower_signals(table: pa.Table, observed_at: np.ndarray) -> np.ndarray:
    """Per-follower signal matrix of a table of profiles (``FOLLOWER_SIGNALS`` columns)."""
    return signals_from_measurements(measure_followers(table, observed_at))
