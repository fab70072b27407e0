"""Per-follower profile signals: what a purchased follower's profile looks like.

One row per follower profile, one column per signal in ``FOLLOWER_SIGNALS``
order.  The follower-level model is trained on these columns, and the
audience family of the account-level pipeline aggregates them per account.
Sources that lack a field (InstaFake has lengths, not strings; few sources
know when a follow happened) give NaN, which the models treat as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np
import pyarrow as pa

from trueclout.features.kernels.columns import to_float, to_seconds
from trueclout.features.kernels.dictionary import decoded
from trueclout.features.kernels.strings import (
    StringBytes,
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
    "log_likes_per_day",
    "log_followers_per_day",
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
    "log_likes_per_day": (
        "log(1 + likes given per day of account age); stock accounts seldom like anything, "
        "whatever the era"
    ),
    "log_followers_per_day": "log(1 + followers gained per day of account age)",
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
    "log_likes_per_day": -1,
    "log_followers_per_day": -1,
}


class FollowerProfiles:
    """Measurements and signals of a table of profiles, each computed when first asked for.

    The audience family reads only some signals unless a follower model wants
    the whole matrix, so nothing is measured that nobody reads; what is read
    twice (digit runs feed three measurements) is computed once.  ``text``
    may supply the string columns' bytes and ``number`` the other columns as
    float64 (timestamps in seconds) when the caller already holds them.
    """

    def __init__(self, table: pa.Table, observed_at: np.ndarray,
                 text: Callable[[str], StringBytes] | None = None,
                 number: Callable[[str], np.ndarray] | None = None) -> None:
        self.table = table
        self.n = table.num_rows
        self.observed_at = np.broadcast_to(np.asarray(observed_at, dtype=np.float64), (self.n,))
        self._text = text
        self._number = number
        self._measured: dict[str, np.ndarray] = {}
        self._signals: dict[str, np.ndarray] = {}
        self._strings: dict[str, StringBytes | None] = {}
        self._numbers: dict[str, np.ndarray] = {}

    def measure(self, name: str) -> np.ndarray:
        """One of ``FOLLOWER_MEASUREMENTS``, one value per profile (NaN = unknown)."""
        if name not in self._measured:
            self._measured[name] = _MEASURE[name](self)
        return self._measured[name]

    def signal(self, name: str) -> np.ndarray:
        """One of ``FOLLOWER_SIGNALS``, one value per profile (NaN = unknown)."""
        if name not in self._signals:
            self._signals[name] = _SIGNAL[name](self.measure)
        return self._signals[name]

    def matrix(self, only: Collection[str] | None = None) -> np.ndarray:
        """The ``FOLLOWER_SIGNALS`` matrix (n x k, float64, NaN = unknown); with ``only``,
        the other columns are left NaN and never measured (for a reader of a few)."""
        if only is None:
            return _stack([self.signal(name) for name in FOLLOWER_SIGNALS], self.n)
        unread = np.full(self.n, np.nan)
        return _stack([self.signal(name) if name in only else unread
                       for name in FOLLOWER_SIGNALS], self.n)

    def number(self, name: str) -> np.ndarray:
        """A numeric, boolean or timestamp column (seconds) as float64, NaN for nulls."""
        if name not in self._numbers:
            if name not in self.table.column_names:
                self._numbers[name] = np.full(self.n, np.nan)
            elif self._number is not None:
                self._numbers[name] = self._number(name)
            else:
                col = self.table.column(name)
                self._numbers[name] = (to_seconds(col) if pa.types.is_timestamp(col.type)
                                       else to_float(col))
        return self._numbers[name]

    def text(self, name: str) -> StringBytes | None:
        """A string column's bytes (None when the table lacks the column)."""
        if name not in self._strings:
            if name not in self.table.column_names:
                self._strings[name] = None
            elif self._text is not None:
                self._strings[name] = self._text(name)
            else:
                self._strings[name] = string_bytes(decoded(self.table.column(name)))
        return self._strings[name]

    def blank(self, name: str) -> np.ndarray:
        """1 where the text is blank, 0 where it has content, NaN where null or absent."""
        sb = self.text(name)
        if sb is None:
            return np.full(self.n, np.nan)
        return blank(decoded(self.table.column(name)), sb)

    def of_username(self, measure: Callable[[StringBytes], np.ndarray]) -> np.ndarray:
        sb = self.text("username")
        return np.full(self.n, np.nan) if sb is None else measure(sb)

    def age_days(self, at: np.ndarray) -> np.ndarray:
        """Days from each profile's creation to ``at`` (seconds)."""
        return (at - self.number("created_at")) / SECONDS_PER_DAY


_MEASURE: dict[str, Callable[[FollowerProfiles], np.ndarray]] = {
    "default_avatar": lambda p: p.number("default_avatar"),
    "bio_length": lambda p: (char_length(p.text("bio")) if p.text("bio") is not None
                             else np.full(p.n, np.nan)),
    "bio_blank": lambda p: p.blank("bio"),
    "has_url": lambda p: 1.0 - p.blank("url"),
    "has_location": lambda p: 1.0 - p.blank("location"),
    "has_display_name": lambda p: 1.0 - p.blank("display_name"),
    "posts": lambda p: p.number("posts_count"),
    "followers": lambda p: p.number("followers_count"),
    "following": lambda p: p.number("following_count"),
    "likes": lambda p: p.number("likes_count"),
    "listed": lambda p: p.number("listed_count"),
    "verified": lambda p: p.number("verified"),
    "age_days": lambda p: p.age_days(p.observed_at),
    "age_at_follow_days": lambda p: p.age_days(p.number("followed_at")),
    "username_length": lambda p: p.of_username(char_length),
    "username_digits": lambda p: p.of_username(digit_count),
    "username_max_digit_run": lambda p: p.of_username(lambda sb: digit_runs(sb)[0]),
    "username_trailing_digits": lambda p: p.of_username(lambda sb: digit_runs(sb)[1]),
    "username_entropy": lambda p: p.of_username(byte_entropy),
}


def measure_followers(table: pa.Table, observed_at: np.ndarray) -> dict[str, np.ndarray]:
    """Raw measurements of each profile in a table with the contract's profile columns.

    ``observed_at`` is the observation time (seconds since the epoch) per row:
    ages are measured then, not today.
    """
    profiles = FollowerProfiles(table, observed_at)
    return {name: profiles.measure(name) for name in FOLLOWER_MEASUREMENTS}


def _log1p_nonneg(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.log1p(np.clip(x, 0, None))


def _per_day(count: str) -> Callable[[Callable[[str], np.ndarray]], np.ndarray]:
    """log(1 + count per day of account age): activity in the account's own time, not the era's."""
    def rate(get: Callable[[str], np.ndarray]) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return _log1p_nonneg(get(count) / np.maximum(get("age_days"), 1.0))
    return rate


def _digit_share(get: Callable[[str], np.ndarray]) -> np.ndarray:
    ulen = get("username_length")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ulen > 0, get("username_digits") / ulen, np.nan)


# Each signal from the measurements (``get(name)`` reads one).
_SIGNAL: dict[str, Callable[[Callable[[str], np.ndarray]], np.ndarray]] = {
    "default_avatar": lambda get: get("default_avatar"),
    "bio_blank": lambda get: get("bio_blank"),
    "bio_length": lambda get: get("bio_length"),
    "has_url": lambda get: get("has_url"),
    "has_location": lambda get: get("has_location"),
    "has_display_name": lambda get: get("has_display_name"),
    "log_posts": lambda get: _log1p_nonneg(get("posts")),
    "log_followers": lambda get: _log1p_nonneg(get("followers")),
    "log_following": lambda get: _log1p_nonneg(get("following")),
    "following_to_followers": lambda get: (_log1p_nonneg(get("following"))
                                           - _log1p_nonneg(get("followers"))),
    "log_likes": lambda get: _log1p_nonneg(get("likes")),
    "log_listed": lambda get: _log1p_nonneg(get("listed")),
    "verified": lambda get: get("verified"),
    "log_age_days": lambda get: _log1p_nonneg(get("age_days")),
    "log_age_at_follow_days": lambda get: _log1p_nonneg(get("age_at_follow_days")),
    "log_posts_per_day": _per_day("posts"),
    "username_length": lambda get: get("username_length"),
    "username_digit_share": _digit_share,
    "username_max_digit_run": lambda get: get("username_max_digit_run"),
    "username_trailing_digits": lambda get: get("username_trailing_digits"),
    "username_entropy": lambda get: get("username_entropy"),
    "log_likes_per_day": _per_day("likes"),
    "log_followers_per_day": _per_day("followers"),
}


def _stack(columns: list[np.ndarray], n: int) -> np.ndarray:
    return np.column_stack(columns) if n else np.zeros((0, len(FOLLOWER_SIGNALS)))


def signals_from_measurements(m: Mapping[str, np.ndarray]) -> np.ndarray:
    """Measurements -> the ``FOLLOWER_SIGNALS`` matrix (n x k, float64, NaN = unknown)."""
    n = len(next(iter(m.values())))

    def get(name: str) -> np.ndarray:
        v = m.get(name)
        return np.full(n, np.nan) if v is None else np.asarray(v, dtype=np.float64)

    return _stack([_SIGNAL[name](get) for name in FOLLOWER_SIGNALS], n)


def follower_signals(table: pa.Table, observed_at: np.ndarray) -> np.ndarray:
    """Per-follower signal matrix of a table of profiles (``FOLLOWER_SIGNALS`` columns)."""
    return FollowerProfiles(table, observed_at).matrix()
