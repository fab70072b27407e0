"""The synthetic world's knobs and its fixed generative assumptions.

``WorldParams`` holds what a caller may change (size of the follower sample,
history length, engagement volume, the mix of account kinds and platforms).
The module constants below are the assumptions themselves; each one is
explained, with its source, in ``data/README.md`` ("Synthetic world").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

GENERATOR_VERSION = "1.0"
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
# (``sim_calibration``) to the retweet timelines of Li, Xie, Farajtabar & Song
# (2016, arXiv:1603.08981): 56,205 retweets of 78 accounts, pooled mean / sd of
# log-seconds 9.81 / 1.95, spread of per-account means 1.0.  Each account draws
# its own mean (sd 1.0); the within-account sd, 1.7, keeps the pooled sd at 1.95.
DELAY_LOG_MEAN = 9.81
DELAY_LOG_SD_BETWEEN = 1.0
DELAY_LOG_SD_WITHIN = 1.7

# Human follower profiles (Twitter scale): median and log-sd over positive
# counts, fitted (``sim_calibration``) to the verified humans (E13) of Cresci
# et al. 2015, "Fame for sale".  10% of them never liked anything.
HUMAN_FOLLOWERS = (102.0, 1.40)
HUMAN_FOLLOWING = (226.0, 1.05)
HUMAN_POSTS_PER_DAY = (0.77, 1.60)
HUMAN_LIKES = (40.0, 2.26)
HUMAN_NO_LIKES = 0.10


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
    if value > datetime.now(UTC):
        raise ValueError("must not be in the future (snapshots observed later than now are "
                         "invalid)")
    return value


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

    def kind_names(self) -> list[str]:
        """Kinds in the fixed order of ``KINDS`` (never dict insertion order of the caller)."""
        return [k for k in KINDS if self.kind_weights.get(k, 0.0) > 0]
