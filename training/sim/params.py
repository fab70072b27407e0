"""The synthetic world's knobs and its fixed generative assumptions.

``WorldParams`` holds what a caller may change (size of the follower sample,
history length, engagement volume, the mix of account kinds and platforms).
The module constants below are the assumptions themselves; each one is
explained, with its source, in ``data/README.md`` ("Synthetic world").  The
follower-profile laws are fitted to real labelled data by ``sim.calibration``
(data/README.md, "Sim-to-real").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from trueclout.files import utc_now

GENERATOR_VERSION = "1.2"  # 1.1: follower profiles fitted to real data (sim-to-real);
# 1.2: every tactic played from wide ranges (TacticRanges), organic following events
DEFAULT_OBSERVED_AT = datetime(2026, 6, 1, tzinfo=UTC)

PLATFORMS: tuple[str, ...] = ("twitter", "instagram", "tiktok", "youtube")
TWITTER, INSTAGRAM, TIKTOK, YOUTUBE = range(4)

# Organic behaviour an account has whether or not it also cheats.
BASE_KINDS: tuple[str, ...] = ("steady", "community", "viral", "celebrity", "dormant", "new_thin")
STEADY, COMMUNITY, VIRAL, CELEBRITY, DORMANT, NEW_THIN = range(6)

# Follower markets.  `organic_spam` is not a market: spam bots that follow
# celebrities on their own (fake followers nobody bought).
MARKETS: tuple[str, ...] = ("bulk_crude", "bulk_farm", "drip", "premium", "organic_spam")
BULK_CRUDE, BULK_FARM, DRIP, PREMIUM, ORGANIC_SPAM = range(5)
NO_MARKET = -1


@dataclass(frozen=True)
class KindSpec:
    """One account kind: its organic base plus the tactics it uses."""

    base: int
    purchase: str | None = None  # "bulk", "drip" or "premium"
    ring: bool = False
    churn: bool = False


KINDS: dict[str, KindSpec] = {
    "steady": KindSpec(STEADY),
    "community": KindSpec(COMMUNITY),
    "viral": KindSpec(VIRAL),
    "celebrity": KindSpec(CELEBRITY),
    "dormant": KindSpec(DORMANT),
    "new_thin": KindSpec(NEW_THIN),
    "bought_bulk": KindSpec(STEADY, purchase="bulk"),
    "bought_drip": KindSpec(STEADY, purchase="drip"),
    "bought_premium": KindSpec(STEADY, purchase="premium"),
    "ring_member": KindSpec(STEADY, ring=True),
    "churn": KindSpec(STEADY, churn=True),
    "ring_member+bought_bulk": KindSpec(STEADY, purchase="bulk", ring=True),
    "ring_member+bought_drip": KindSpec(STEADY, purchase="drip", ring=True),
    "ring_member+bought_premium": KindSpec(STEADY, purchase="premium", ring=True),
    "churn+bought_drip": KindSpec(STEADY, purchase="drip", churn=True),
    "churn+ring_member": KindSpec(STEADY, ring=True, churn=True),
    "new_thin+bought_bulk": KindSpec(NEW_THIN, purchase="bulk"),
    "viral+bought_drip": KindSpec(VIRAL, purchase="drip"),
}

# ~70% genuine, 30% manipulated, a fifth of those with combined tactics.
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "steady": 0.32,
    "community": 0.08,
    "viral": 0.07,
    "celebrity": 0.02,
    "dormant": 0.08,
    "new_thin": 0.13,
    "bought_bulk": 0.06,
    "bought_drip": 0.04,
    "bought_premium": 0.03,
    "ring_member": 0.07,
    "churn": 0.03,
    "ring_member+bought_bulk": 0.01,
    "ring_member+bought_drip": 0.01,
    "ring_member+bought_premium": 0.005,
    "churn+bought_drip": 0.01,
    "churn+ring_member": 0.005,
    "new_thin+bought_bulk": 0.015,
    "viral+bought_drip": 0.01,
}

DEFAULT_PLATFORM_WEIGHTS: dict[str, float] = {
    "twitter": 0.45,
    "instagram": 0.30,
    "tiktok": 0.15,
    "youtube": 0.10,
}

# Genuine engagement delay after publication, log-normal in seconds, fitted
# (``sim.calibration``) to the retweet timelines of Li, Xie, Farajtabar & Song
# (2016, arXiv:1603.08981): 56,205 retweets of 78 accounts, pooled mean / sd of
# log-seconds 9.81 / 1.95, spread of per-account means 1.0.  Each account draws
# its own mean (sd 1.0); the within-account sd, 1.7, keeps the pooled sd at 1.95.
DELAY_LOG_MEAN = 9.81
DELAY_LOG_SD_BETWEEN = 1.0
DELAY_LOG_SD_WITHIN = 1.7



@dataclass(frozen=True)
class CountLaw:
    """One count of a profile: exact zeros with probability ``zero``, else log-normal.

    ``loading`` ties the count to the profile's common activity factor (a
    one-factor Gaussian copula): two counts with loadings a and b have a
    normal-score correlation of about a * b.
    """

    zero: float
    median: float
    log_sd: float
    loading: float


@dataclass(frozen=True)
class ProfileLaw:
    """What one kind of profile looks like: counts, flags and bio length.

    ``age_days`` is the account's age when the data was crawled (markets that
    sell from a lot take their ages from the lot instead).  ``bio_length`` is
    a Beta(a, b) law of the length of non-empty bios, scaled to 1..bio_cap.
    """

    followers: CountLaw
    following: CountLaw
    posts: CountLaw
    likes: CountLaw
    listed: CountLaw
    age_days: CountLaw
    default_avatar: float
    bio: float
    bio_length: tuple[float, float]
    bio_cap: int
    url: float
    location: float


COUNTS: tuple[str, ...] = ("followers", "following", "posts", "likes", "listed", "age_days")


def midway(a: ProfileLaw, b: ProfileLaw) -> ProfileLaw:
    """The law halfway between two: geometric mean of medians, mean of everything else."""

    def count(x: CountLaw, y: CountLaw) -> CountLaw:
        return CountLaw((x.zero + y.zero) / 2, float(np.sqrt(x.median * y.median)),
                        (x.log_sd + y.log_sd) / 2, (x.loading + y.loading) / 2)

    return ProfileLaw(
        **{c: count(getattr(a, c), getattr(b, c)) for c in COUNTS},
        **{f: (getattr(a, f) + getattr(b, f)) / 2
           for f in ("default_avatar", "bio", "url", "location")},
        bio_length=((a.bio_length[0] + b.bio_length[0]) / 2,
                    (a.bio_length[1] + b.bio_length[1]) / 2),
        bio_cap=max(a.bio_cap, b.bio_cap),
    )


# Follower-profile laws, fitted by ``sim.calibration.fit_profiles`` (re-run:
# ``trueclout dev calibrate-sim ../shared/datasets``; a
# realdata test checks every number below against a fresh fit).  CountLaw is
# (share of zeros, median and log-sd of the positive values, loading on the
# common factor of the rank correlations); counts at the crawl, ages in days.
# Sources: Cresci, Di Pietro, Petrocchi, Spognardi & Tesconi, "Fame for
# sale", Decision Support Systems 80 (2015): verified humans (E13, 1,481) and
# the INT (1,337) and FSF (686) markets; Akyon & Kalfaoglu, "Instagram fake
# and automated account detection" (2019): InstaFake, 994 real and 200 fake.

# Human followers on Twitter/X, TikTok and YouTube: cresci-2015 E13.
HUMAN_TWITTER = ProfileLaw(
    followers=CountLaw(0.002, 102.0, 1.30, 0.96),
    following=CountLaw(0.001, 226.5, 0.99, 0.74),
    posts=CountLaw(0.0, 992.0, 1.68, 0.85),
    likes=CountLaw(0.102, 40.0, 2.26, 0.59),
    listed=CountLaw(0.475, 2.0, 1.23, 0.72),
    age_days=CountLaw(0.0, 1234.0, 0.32, 0.36),
    default_avatar=0.003, bio=0.987, bio_length=(0.95, 0.86), bio_cap=160,
    url=0.313, location=0.668,
)
# Human followers on Instagram: InstaFake's real accounts for what it measures
# (followers, following, posts, picture, bio); E13 for the rest.
HUMAN_INSTAGRAM = replace(
    HUMAN_TWITTER,
    followers=CountLaw(0.0, 345.0, 0.64, 0.96),
    following=CountLaw(0.0, 419.5, 0.62, 0.80),
    posts=CountLaw(0.042, 31.5, 1.50, 0.56),
    default_avatar=0.013, bio=0.609, bio_length=(0.67, 1.82), bio_cap=150,
)
# ``bulk_farm``: the INT market (ages come from the lot; the law's age is the stock's).
FARM_INT = ProfileLaw(
    followers=CountLaw(0.045, 18.0, 0.34, 0.72),
    following=CountLaw(0.001, 344.0, 0.49, 0.96),
    posts=CountLaw(0.007, 36.0, 0.53, 0.93),
    likes=CountLaw(0.981, 5.0, 3.13, 0.19),
    listed=CountLaw(0.997, 1.0, 0.0, 0.12),
    age_days=CountLaw(0.0, 965.0, 0.0, 0.91),
    default_avatar=0.003, bio=0.811, bio_length=(0.81, 0.76), bio_cap=160,
    url=0.0, location=0.959,
)
# ``drip``: the FSF market.
FARM_FSF = ProfileLaw(
    followers=CountLaw(0.004, 10.0, 0.36, 0.36),
    following=CountLaw(0.003, 214.0, 0.12, 0.92),
    posts=CountLaw(0.003, 20.0, 0.19, 0.45),
    likes=CountLaw(0.943, 2.0, 0.35, 0.0),
    listed=CountLaw(1.0, 1.0, 0.0, 0.0),
    age_days=CountLaw(0.0, 731.0, 0.01, 0.61),
    default_avatar=0.0, bio=0.829, bio_length=(0.72, 0.65), bio_cap=160,
    url=0.0, location=0.98,
)
# ``bulk_crude`` and organic spam bots: InstaFake's fakes for what it measures.
# Not measured there (assumptions): likes (none for 95%), lists (none), no
# url, location 5%, following at most CRUDE_MAX_FOLLOWING.
CRUDE = ProfileLaw(
    followers=CountLaw(0.09, 34.0, 1.59, 0.99),
    following=CountLaw(0.025, 1603.0, 1.46, 0.56),
    posts=CountLaw(0.575, 2.0, 1.02, 0.12),
    likes=CountLaw(0.95, 3.0, 0.5, 0.0),
    listed=CountLaw(1.0, 1.0, 0.0, 0.0),
    age_days=CountLaw(0.0, 365.0, 0.0, 0.0),
    default_avatar=0.395, bio=0.265, bio_length=(0.69, 1.64), bio_cap=150,
    url=0.0, location=0.05,
)
CRUDE_MAX_FOLLOWING = 7_500  # Instagram's follow limit; InstaFake's fakes reach 7,497
# ``premium``: look-alikes, by construction halfway between the INT fakes and
# E13 humans in every parameter (harder than any fitted market; an assumption).
PREMIUM_LAW = midway(FARM_INT, HUMAN_TWITTER)

# Market lots: the two real stocks were 731 (FSF) and 965 (INT) days old at
# the crawl (medians of ``age_days`` above); lots are drawn log-uniform over
# that range widened by a quarter each way.
LOT_AGE_DAYS = (548.0, 1206.0)
# Creation-date spread inside a lot: 84% of INT within a month of its lot
# (the rest within 200 days either side); FSF's whole sample within 19 days.
FARM_SAME_MONTH = 0.84
DRIP_SPREAD_DAYS = 20.0

# Screen-name patterns, shares measured by ``sim.calibration.username_patterns``
# on cresci-2015 (read against each profile's display name).
# INT: first name + 2-5 letters, last name + 2-5 letters, first + last + 0-5
# letters, last + 3 letters + first; lower case; 4% with a digit.
INT_USERNAME_PATTERNS = (0.40, 0.29, 0.25, 0.06)
INT_USERNAME_DIGITS = 0.036
# FSF: Last + 3 letters + First cut at 15 characters, First + Last (+ 1-2
# digits), First + letters, First + initial + 8 digits (Twitter's suggestion).
# The 8-digit names (1.9%) count as first + letters in ``username_patterns``.
FSF_USERNAME_PATTERNS = (0.656, 0.297, 0.023, 0.019)
FSF_USERNAME_DIGITS = 0.67  # of the First + Last names: 20% of all FSF names
# E13 humans: 52.5% of screen names have a capital letter; 19.2% end in a number,
# of 1, 2, 3, 4 or 5+ digits in these shares.
HUMAN_USERNAME_UPPER = 0.525
HUMAN_USERNAME_DIGITS = 0.192
HUMAN_USERNAME_DIGIT_WIDTHS = (0.204, 0.611, 0.053, 0.109, 0.025)
# E13 humans' display names: two words or more, one word, the screen name, none.
HUMAN_DISPLAY_NAMES = (0.749, 0.224, 0.027, 0.0)
# InstaFake fakes: digits in the username (0, 1, 2, 3, 4, 5 or more).
CRUDE_USERNAME_DIGITS = (0.45, 0.10, 0.14, 0.12, 0.12, 0.07)


def _weights(value: dict[str, float], allowed: tuple[str, ...] | dict, what: str
             ) -> dict[str, float]:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; choose from {sorted(allowed)}")
    if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
        raise ValueError(f"{what} weights must be >= 0 with a positive sum")
    return dict(value)


def _kind_weights(value: dict[str, float]) -> dict[str, float]:
    return _weights(value, KINDS, "kind")


def _platform_weights(value: dict[str, float]) -> dict[str, float]:
    return _weights(value, PLATFORMS, "platform")


def _aware_utc(value: datetime) -> datetime:
    """UTC, and not in the future: the contract rejects snapshots observed later than now."""
    value = value.astimezone(UTC)
    if value > utc_now():
        raise ValueError("must not be in the future (snapshots observed later than now are "
                         "invalid)")
    return value


def _ordered_range(value: tuple[float, float]) -> tuple[float, float]:
    low, high = value
    if not (0 <= low <= high):
        raise ValueError(f"a range must be 0 <= low <= high, got {list(value)}")
    return (float(low), float(high))


Range = Annotated[tuple[float, float], AfterValidator(_ordered_range)]


def _positive_range(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] <= 0:
        raise ValueError(f"a range drawn log-uniform must start above 0, got {list(value)}")
    return value


# A range drawn log-uniform (it spans orders of magnitude): its low end must be above 0.
LogRange = Annotated[tuple[float, float], AfterValidator(_ordered_range),
                     AfterValidator(_positive_range)]


class TacticRanges(BaseModel):
    """How widely each tactic is played: every account draws its own parameters from these.

    A detector that learns one setting of a tactic learns the simulator, not
    the tactic; so each cheater draws how it cheats from ranges as wide as the
    tools and vendors sold for it (sources in data/README.md, "Tactics,
    however they are played").  Ranges are drawn log-uniform where they span
    orders of magnitude (wave sizes, delays, limits: ``LogRange``, which must
    start above 0), uniform otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Follow/unfollow churn: a tool follows a wave of accounts (a share of the
    # following count) at its daily follow limit, holds them, then unfollows
    # those who did not follow back, wave after wave.
    churn_wave_share: LogRange = (0.03, 2.0)
    churn_period_days: Range = (3.0, 35.0)
    churn_hold_share: Range = (0.2, 0.9)
    churn_daily_limit: LogRange = (100.0, 1_000.0)
    churn_followback: Range = (0.02, 0.3)
    churn_unfollowback: Range = (0.1, 0.6)
    # Pods: members engage a post after the pod's round starts (delay from
    # publication, seconds) and each other (jitter: log-sd of member delays
    # within a round), on a share of posts (participation), and engage a few
    # genuine outsiders as camouflage.
    pod_delay_seconds: LogRange = (5.0, 6 * 3_600.0)
    pod_jitter: Range = (0.2, 1.0)
    # Pods run by a window rule ("engage every post within N hours of its being
    # shared") instead of rounds: each member comes at its own moment of the window,
    # so no round start is shared and timing alone does not tell them from friends.
    pod_window_share: Annotated[float, Field(ge=0, le=1)] = 0.3
    pod_window_seconds: LogRange = (1_800.0, 12 * 3_600.0)
    pod_participation: Range = (0.35, 0.95)
    pod_outsiders: Range = (0.0, 12.0)
    # Bought followers: days a lot is delivered over.
    bulk_days: Range = (1.0, 4.0)
    premium_days: Range = (2.0, 6.0)
    drip_days: LogRange = (5.0, 90.0)
    # Organic look-alike of churn: a genuine account follows a batch once (a
    # conference, a new interest) or cleans up its following once.
    following_event_chance: Annotated[float, Field(ge=0, le=1)] = 0.15
    following_event_share: Range = (0.1, 0.8)

    def split(self, held_out: dict[str, tuple[float, float]]) -> tuple[TacticRanges,
                                                                         TacticRanges]:
        """(training ranges, test ranges) for a leave-one-regime-out holdout.

        Each held-out region is one end of its range: training keeps the rest,
        the test world plays only the region.
        """
        train: dict[str, tuple[float, float]] = {}
        test: dict[str, tuple[float, float]] = {}
        for name, (low, high) in held_out.items():
            full_low, full_high = getattr(self, name)
            if low == full_low and full_low < high < full_high:
                train[name] = (high, full_high)
            elif high == full_high and full_low < low < full_high:
                train[name] = (full_low, low)
            else:
                raise ValueError(f"{name}: a held-out region must be one end of "
                                 f"{[full_low, full_high]}, got {[low, high]}")
            test[name] = (low, high)
        return self.model_copy(update=train), self.model_copy(update=test)


# The regions ``make model`` holds out of training and tests on alone: slow
# pods, low-amplitude churn and lots dripped over months.
HELD_OUT_REGIMES: dict[str, tuple[float, float]] = {
    "pod_delay_seconds": (3_600.0, 6 * 3_600.0),
    "churn_wave_share": (0.03, 0.15),
    "drip_days": (45.0, 90.0),
}


class WorldParams(BaseModel):
    """What a caller may change; everything else is a documented assumption."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    followers_sample: Annotated[int, Field(ge=0, le=5_000)] = 200
    history_days: Annotated[int, Field(ge=30, le=730)] = 120
    observed_at: Annotated[AwareDatetime, AfterValidator(_aware_utc)] = DEFAULT_OBSERVED_AT
    engagement_scale: Annotated[float, Field(gt=0, le=20)] = 1.0
    max_engagements_per_post: Annotated[int, Field(ge=1, le=20_000)] = 120
    kind_weights: Annotated[dict[str, float], AfterValidator(_kind_weights)] = Field(
        default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS)
    )
    platform_weights: Annotated[dict[str, float], AfterValidator(_platform_weights)] = Field(
        default_factory=lambda: dict(DEFAULT_PLATFORM_WEIGHTS)
    )
    tactics: TacticRanges = Field(default_factory=TacticRanges)

    def kind_names(self) -> list[str]:
        """Kinds in the fixed order of ``KINDS`` (never dict insertion order of the caller)."""
        return [k for k in KINDS if self.kind_weights.get(k, 0.0) > 0]
