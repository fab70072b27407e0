"""The world plan: who every account is and what it does, decided once for all accounts.

The plan is small (a few numbers per account) and global: kinds, platforms,
sizes, the days of viral spikes, purchases and purges, ring and community
membership, and the list of account pairs that engage each other.  Heavy
data (histories, followers, posts, engagements) is generated later, chunk by
chunk, from the plan alone, which is what lets one chunk know another
account's posts without generating that account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.contract import PLATFORM_FOUNDED
from trueclout.training.sim import randomness as rnd
from trueclout.training.sim import text as txt
from trueclout.training.sim.pairs import Pairs, world_pairs
from trueclout.training.sim.params import (
    BASE_KINDS,
    BULK_CRUDE,
    BULK_FARM,
    CELEBRITY,
    COMMUNITY,
    DELAY_LOG_MEAN,
    DELAY_LOG_SD_BETWEEN,
    DORMANT,
    DRIP,
    KINDS,
    MARKETS,
    NEW_THIN,
    NO_MARKET,
    PLATFORMS,
    PREMIUM,
    STEADY,
    VIRAL,
    YOUTUBE,
    TacticRanges,
    WorldParams,
)

DAY = 86_400
YEAR = 365.25 * DAY

# Per base kind (order of BASE_KINDS): organic followers at the start of the
# history (median, log-sd), account age in years (median, log-sd), organic
# gains per day as a share of followers (log-uniform range), posts per
# POSTS_WINDOW_DAYS (median, log-sd; dormant and new accounts: see
# _post_windows), engagement-rate factor.
FOLLOWERS = np.array([[1500, 1.2], [600, 0.8], [800, 1.0], [1.5e6, 1.0], [400, 1.0], [35, 0.8]])
AGE_YEARS = np.array([[4.5, 0.5], [4.5, 0.5], [3.0, 0.5], [9.0, 0.3], [7.0, 0.3], [0.1, 0.0]])
GROWTH = np.array([[5e-4, 4e-3], [5e-4, 3e-3], [5e-4, 3e-3], [3e-4, 2e-3], [0, 1e-4], [0, 0]])
POSTS = np.array([[25, 0.6], [35, 0.5], [25, 0.6], [50, 0.4], [2, 0.5], [3, 0.5]])
POSTS_WINDOW_DAYS = 120
ENGAGEMENT_FACTOR = np.array([1.0, 2.0, 1.0, 0.4, 0.5, 2.0])
# Likes, reposts and replies per real follower and post, by platform (order of PLATFORMS).
PLATFORM_ENGAGEMENT = np.array([0.004, 0.015, 0.03, 0.012])
FOLLOWING = np.array([[400, 1.0], [350, 0.8], [500, 0.9], [300, 1.0], [250, 0.8], [80, 0.8]])

# Share of bulk purchases served by each bulk market.
BULK_MARKET_SHARE = {BULK_CRUDE: 0.55, BULK_FARM: 0.45}
# Chance that the platform purges part of a purchase later, and the share removed.
PURGE = {
    BULK_CRUDE: (0.6, 0.3, 0.8),
    BULK_FARM: (0.4, 0.2, 0.6),
    DRIP: (0.3, 0.1, 0.4),
    PREMIUM: (0.15, 0.05, 0.2),
}
BUYERS_PER_LOT = 8

BUMP_CHANCE = 0.1
RING_SIZE = (5, 50)
COMMUNITY_SIZE = (5, 40)
MIN_GROUP = 3

@dataclass(frozen=True)
class Plan:
    """Everything decided about each account before any row is generated (arrays of length n)."""

    seed: int
    params: WorldParams
    observed_at: int
    day0: int
    key: np.ndarray
    account_id: pa.Array
    platform: np.ndarray
    base: np.ndarray
    purchase: np.ndarray  # market id or NO_MARKET
    ring: np.ndarray
    community: np.ndarray
    lot: np.ndarray
    churn: np.ndarray
    created: np.ndarray
    first_day: np.ndarray
    followers_start: np.ndarray
    growth: np.ndarray
    following_start: np.ndarray
    viral_day: np.ndarray
    viral_size: np.ndarray
    spike_boost: np.ndarray
    buy_day: np.ndarray
    buy_len: np.ndarray
    buy_size: np.ndarray
    purge_day: np.ndarray
    purge_share: np.ndarray
    spam_share: np.ndarray
    churn_period: np.ndarray
    churn_hold: np.ndarray
    churn_size: np.ndarray
    churn_phase: np.ndarray
    churn_followback: np.ndarray
    churn_unfollowback: np.ndarray
    churn_limit: np.ndarray
    event_day: np.ndarray
    event_len: np.ndarray
    event_size: np.ndarray
    n_posts: np.ndarray
    posts_from: np.ndarray
    posts_to: np.ndarray
    eng_rate: np.ndarray
    pool: np.ndarray
    pool_skew: np.ndarray
    delay_mu: np.ndarray
    verified: np.ndarray
    ring_speed: np.ndarray
    ring_jitter: np.ndarray
    ring_window: np.ndarray  # seconds of a window-rule pod; 0 for a pod that runs in rounds
    pairs: Pairs

    @property
    def n(self) -> int:
        return len(self.key)

    @property
    def days(self) -> int:
        return self.params.history_days

    def kind_names(self, idx: np.ndarray) -> pa.Array:
        """Readable kind per account: base (unless plain steady) and tactics, joined by '+'."""
        combo = (self.base[idx].astype(np.int64) * 1000
                 + (self.purchase[idx].astype(np.int64) + 1) * 100
                 + (self.ring[idx] >= 0) * 10 + self.churn[idx].astype(np.int64))
        distinct, inverse = np.unique(combo, return_inverse=True)
        names = pa.array([_kind_name(int(c)) for c in distinct], pa.string())
        return names.take(pa.array(inverse.astype(np.int64)))


def _kind_name(combo: int) -> str:
    base, purchase = combo // 1000, (combo // 100) % 10 - 1
    ring, churn = (combo // 10) % 10, combo % 10
    tactics = []
    if churn:
        tactics.append("churn")
    if ring:
        tactics.append("ring_member")
    if purchase != NO_MARKET:
        tactics.append({BULK_CRUDE: "bought_bulk", BULK_FARM: "bought_bulk", DRIP: "bought_drip",
                        PREMIUM: "bought_premium"}[purchase])
    parts = ([BASE_KINDS[base]] if base != STEADY or not tactics else []) + tactics
    return "+".join(parts)


def make_plan(n_accounts: int, seed: int, params: WorldParams) -> Plan:
    """Decide every account of a world of ``n_accounts`` (deterministic in ``seed``)."""
    n = n_accounts
    idx = np.arange(n, dtype=np.int64)
    k = rnd.key(seed, "account", idx)
    H = params.history_days
    obs = int(params.observed_at.timestamp())
    day0 = (obs // DAY - H) * DAY

    names = params.kind_names()
    weights = [params.kind_weights[name] for name in names]
    specs = [KINDS[name] for name in names]
    kind = rnd.choice(k, "kind", weights)
    base = np.array([s.base for s in specs], dtype=np.int8)[kind]
    purchase_kind = np.array([{"bulk": 0, "drip": 1, "premium": 2}.get(s.purchase, -1)
                              for s in specs])[kind]
    ring_flag = np.array([s.ring for s in specs])[kind]
    churn = np.array([s.churn for s in specs])[kind]

    bulk_market = np.where(rnd.uniform(k, "bulk-market") < BULK_MARKET_SHARE[BULK_CRUDE],
                           BULK_CRUDE, BULK_FARM)
    purchase = np.select([purchase_kind == 0, purchase_kind == 1, purchase_kind == 2],
                         [bulk_market, DRIP, PREMIUM], NO_MARKET).astype(np.int8)

    platform_w = np.array([params.platform_weights.get(p, 0.0) for p in PLATFORMS])
    platform = rnd.choice(k, "platform", platform_w).astype(np.int8)
    # Pods and follow/unfollow churn live where reposts and follows are public.
    social_w = platform_w.copy()
    social_w[YOUTUBE] = 0.0
    if social_w.sum() == 0:
        social_w = platform_w
    churn_platform = rnd.choice(k, "churn-platform", social_w).astype(np.int8)
    platform = np.where(churn & (platform == YOUTUBE), churn_platform, platform).astype(np.int8)

    ring = _groups(np.flatnonzero(ring_flag), k, seed, "ring", RING_SIZE)
    community = _groups(np.flatnonzero(base == COMMUNITY), k, seed, "community", COMMUNITY_SIZE)
    # Members of a group share its platform.
    n_rings = int(ring.max()) + 1 if (ring >= 0).any() else 0
    ring_keys = rnd.key(seed, "ring", np.arange(n_rings))
    ring_platform = rnd.choice(ring_keys, "platform", social_w).astype(np.int8)
    platform = _members_take(ring, ring_platform, platform)
    n_comm = int(community.max()) + 1 if (community >= 0).any() else 0
    comm_platform = rnd.choice(rnd.key(seed, "community", np.arange(n_comm)), "platform",
                               platform_w).astype(np.int8)
    platform = _members_take(community, comm_platform, platform)
    # A would-be member left without a group (tiny worlds) is an ordinary account.
    base = np.where((base == COMMUNITY) & (community < 0), STEADY, base).astype(np.int8)

    lot = _lots(purchase, k)

    # Account age.
    founded = np.array([PLATFORM_FOUNDED[p].timestamp() for p in PLATFORMS])[platform]
    age = rnd.lognormal(k, "age", AGE_YEARS[base, 0], AGE_YEARS[base, 1]) * YEAR
    age = np.maximum(age, (H + 30) * DAY)
    thin_age = rnd.log_between(k, "thin-age", 8, 100) * DAY
    age = np.where(base == NEW_THIN, thin_age, age)
    created = obs - age
    created = np.maximum(created, founded + 30 * DAY)
    created = (created + rnd.uniform(k, "created-s") * 3600).astype(np.int64)
    first_day = np.clip(np.ceil((created - day0) / DAY), 0, H - 1).astype(np.int32)

    # Organic audience.
    followers = rnd.lognormal(k, "followers", FOLLOWERS[base, 0], FOLLOWERS[base, 1])
    followers = np.where(base == CELEBRITY, np.clip(followers, 1.5e5, 1.5e8), followers)
    followers = np.maximum(followers, 20)
    growth = followers * rnd.between(k, "growth", GROWTH[base, 0], GROWTH[base, 1])
    thin_target = rnd.lognormal(k, "thin-followers", 35, 0.8)
    thin_growth = thin_target / np.maximum(age / DAY, 1)
    growth = np.where(base == NEW_THIN, thin_growth, growth)
    followers = np.where(base == NEW_THIN,
                         thin_growth * np.maximum(0, day0 - created) / DAY, followers)
    following = rnd.lognormal(k, "following", FOLLOWING[base, 0], FOLLOWING[base, 1])

    # Viral accounts have one big organic spike; some ordinary accounts a small one
    # (a mention by someone bigger).  Both bring followers and engagement together.
    viral = base == VIRAL
    bump = np.isin(base, [STEADY, COMMUNITY]) & rnd.chance(k, "bump", BUMP_CHANCE)
    viral_day = np.where(viral | bump, rnd.integers(k, "viral-day", max(H - 18, 1)) + 10, -1)
    viral_day = np.minimum(viral_day, H - 8).astype(np.int32)
    viral_size = np.select([viral, bump], [
        np.maximum(300, followers * rnd.log_between(k, "viral-size", 0.5, 5)),
        np.maximum(30, followers * rnd.log_between(k, "bump-size", 0.05, 0.4))], 0.0)
    spike_boost = np.select([viral, bump], [rnd.log_between(k, "viral-boost", 15, 80),
                                            rnd.log_between(k, "bump-boost", 3, 10)], 1.0)

    buy_day, buy_len, buy_size, purge_day, purge_share = _purchases(
        k, purchase, followers, first_day, H, params.tactics)
    spam_share = np.where(base == CELEBRITY, rnd.between(k, "spam-share", 0.03, 0.12), 0.0)

    tactics = params.tactics
    (churn_period, churn_hold, churn_size, churn_phase, churn_followback, churn_unfollowback,
     churn_limit) = _churn_waves(k, churn, following, tactics)
    event_day, event_len, event_size = _following_events(k, base, churn, following, H, tactics)

    n_posts, posts_from, posts_to = _post_windows(k, base, created, obs, day0)
    eng_rate = (PLATFORM_ENGAGEMENT[platform] * ENGAGEMENT_FACTOR[base]
                * rnd.lognormal(k, "eng-rate", 1.0, 0.6))
    final_real = followers + growth * (H - first_day) + viral_size
    pool = np.where(base == COMMUNITY, rnd.log_between(k, "pool-tight", 15, 60),
                    np.clip(final_real * rnd.log_between(k, "pool-share", 0.05, 0.25), 10, 2e5))
    pool_skew = np.where(base == COMMUNITY, 1.3, rnd.between(k, "pool-skew", 1.5, 2.5))
    delay_mu = rnd.normal(k, "delay-mu") * DELAY_LOG_SD_BETWEEN + DELAY_LOG_MEAN
    verified = (base == CELEBRITY) | ((followers > 5e4) & rnd.chance(k, "verified", 0.3))

    ring_speed = rnd.log_between(ring_keys, "speed", *tactics.pod_delay_seconds)
    ring_jitter = rnd.between(ring_keys, "jitter", *tactics.pod_jitter)
    ring_window = np.where(rnd.chance(ring_keys, "window-rule", tactics.pod_window_share),
                           rnd.log_between(ring_keys, "window", *tactics.pod_window_seconds), 0.0)

    account_id = txt.person_ids(rnd.bits(k, "id"), platform)
    if pc.count_distinct(account_id).as_py() != n:  # 64-bit ids: never by chance
        raise RuntimeError("account id collision; change the seed")

    pairs = world_pairs(seed, k, platform, base, purchase, ring, community, churn, followers,
                        n_posts, tactics)
    return Plan(
        seed=seed, params=params, observed_at=obs, day0=day0, key=k, account_id=account_id,
        platform=platform, base=base, purchase=purchase, ring=ring, community=community,
        lot=lot, churn=churn, created=created, first_day=first_day,
        followers_start=np.rint(followers), growth=growth, following_start=np.rint(following),
        viral_day=viral_day, viral_size=viral_size, spike_boost=spike_boost, buy_day=buy_day,
        buy_len=buy_len, buy_size=buy_size, purge_day=purge_day, purge_share=purge_share,
        spam_share=spam_share,
        churn_period=churn_period, churn_hold=churn_hold, churn_size=churn_size,
        churn_phase=churn_phase, churn_followback=churn_followback,
        churn_unfollowback=churn_unfollowback, churn_limit=churn_limit, event_day=event_day,
        event_len=event_len, event_size=event_size, n_posts=n_posts, posts_from=posts_from,
        posts_to=posts_to, eng_rate=eng_rate, pool=np.rint(pool).astype(np.int64),
        pool_skew=pool_skew, delay_mu=delay_mu, verified=verified, ring_speed=ring_speed,
        ring_jitter=ring_jitter, ring_window=ring_window,
        pairs=pairs,
    )


def _members_take(group: np.ndarray, per_group: np.ndarray, default: np.ndarray) -> np.ndarray:
    """A group's value for its members, ``default`` for everyone else."""
    if len(per_group) == 0:
        return default
    return np.where(group >= 0, per_group[np.maximum(group, 0)], default).astype(default.dtype)


def _groups(members: np.ndarray, k: np.ndarray, seed: int, what: str,
            size_range: tuple[int, int]) -> np.ndarray:
    """Cut the members, in a random order, into groups of random sizes; -1 = no group."""
    n = len(k)
    group = np.full(n, -1, dtype=np.int32)
    m = len(members)
    if m < MIN_GROUP:
        return group
    shuffled = members[np.argsort(rnd.bits(k[members], f"{what}-order"), kind="stable")]
    sizes = np.rint(rnd.log_between(rnd.key(seed, what, "size", np.arange(m)), "size",
                                    *size_range)).astype(np.int64)
    ends = np.cumsum(sizes)
    n_groups = int(np.searchsorted(ends, m)) + 1
    ends = np.minimum(ends[:n_groups], m)
    if n_groups > 1 and m - ends[-2] < size_range[0]:
        ends = np.delete(ends, -2)  # a short last group joins the one before it
    group[shuffled] = np.searchsorted(ends, np.arange(m), side="right").astype(np.int32)
    return group


def _lots(purchase: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The stock lot each purchase is served from; buyers of one lot share fake followers."""
    lot = np.full(len(purchase), -1, dtype=np.int32)
    for market in np.unique(purchase[purchase != NO_MARKET]):  # a handful of markets
        buyers = purchase == market
        n_lots = max(1, int(np.ceil(buyers.sum() / BUYERS_PER_LOT)))
        lot[buyers] = rnd.integers(k[buyers], "lot", n_lots)
    return lot


def _churn_waves(k: np.ndarray, churn: np.ndarray, following: np.ndarray,
                 tactics: TacticRanges) -> tuple[np.ndarray, ...]:
    """Each churner's cycle: period, hold, wave size, phase, follow-back rates, daily limit.

    A wave follows ``size`` accounts at the tool's daily limit, holds them
    ``hold`` days from the wave's start and unfollows the rest at the same
    pace; a wave must fit in its period, so a small limit caps its size.
    """
    period = np.rint(rnd.between(k, "churn-period", *tactics.churn_period_days))
    period = np.maximum(period, 2)
    hold = np.clip(np.rint(period * rnd.between(k, "churn-hold", *tactics.churn_hold_share)),
                   1, period - 1)
    limit = rnd.log_between(k, "churn-limit", *tactics.churn_daily_limit)
    wanted = np.maximum(20.0, following * rnd.log_between(k, "churn-size",
                                                          *tactics.churn_wave_share))
    ramp_days = np.maximum(1, np.minimum(hold, period - hold))
    size = np.minimum(wanted, limit * ramp_days)
    phase = rnd.integers(k, "churn-phase", period.astype(np.int64))
    return (np.where(churn, period, 0).astype(np.int32),
            np.where(churn, hold, 0).astype(np.int32),
            np.where(churn, np.rint(size), 0.0),
            np.where(churn, phase, 0).astype(np.int32),
            np.where(churn, rnd.between(k, "churn-fb", *tactics.churn_followback), 0.0),
            np.where(churn, rnd.between(k, "churn-ufb", *tactics.churn_unfollowback), 0.0),
            np.where(churn, limit, 0.0))


def _following_events(k: np.ndarray, base: np.ndarray, churn: np.ndarray,
                      following: np.ndarray, H: int, tactics: TacticRanges
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The organic look-alike of churn: one follow spree or one clean-up, never a cycle."""
    can = np.isin(base, [STEADY, COMMUNITY, VIRAL]) & ~churn & (H > 10)
    has = can & rnd.chance(k, "following-event", tactics.following_event_chance)
    day = 3 + rnd.integers(k, "following-event-day", max(H - 6, 1))
    length = 1 + rnd.integers(k, "following-event-len", 3)
    share = rnd.between(k, "following-event-share", *tactics.following_event_share)
    spree = rnd.chance(k, "following-event-spree", 0.5)
    size = np.where(spree, np.maximum(20.0, following * share),
                    -np.rint(following * np.minimum(share, 0.8)))
    return (np.where(has, day, -1).astype(np.int32), np.where(has, length, 0).astype(np.int32),
            np.where(has, np.rint(size), 0.0))


def _purchases(k: np.ndarray, purchase: np.ndarray, followers: np.ndarray,
               first_day: np.ndarray, H: int, tactics: TacticRanges
               ) -> tuple[np.ndarray, ...]:
    """When each purchase is delivered, how many fakes, and whether a purge follows."""
    bought = purchase != NO_MARKET
    drip = purchase == DRIP
    premium = purchase == PREMIUM
    lo = np.maximum(5, first_day + 2)
    length = np.rint(np.select(
        [drip, premium],
        [rnd.log_between(k, "drip-len", *tactics.drip_days),
         rnd.between(k, "premium-len", *tactics.premium_days)],
        rnd.between(k, "bulk-len", *tactics.bulk_days),
    )).astype(np.int64)
    # A long drip starts early enough to be mostly delivered by the observation.
    hi = np.maximum(lo, np.where(drip, H - np.minimum(length, H - 20) // 2 - 10, H - 15))
    day = np.minimum(lo + rnd.integers(k, "buy-day", hi - lo + 1), H - 2)
    length = np.maximum(np.minimum(length, H - day), 1)
    scale = np.select([drip, premium], [rnd.log_between(k, "drip-size", 0.15, 1.5),
                                        rnd.log_between(k, "premium-size", 0.1, 0.8)],
                      rnd.log_between(k, "bulk-size", 0.15, 4.0))
    floor = np.select([drip, premium], [200, 200], 400)
    size = np.where(bought, np.minimum(np.maximum(followers * scale, floor), 2e5), 0.0)
    p_purge = np.zeros(len(k))
    share_lo = np.zeros(len(k))
    share_hi = np.zeros(len(k))
    for market, (p, s_lo, s_hi) in PURGE.items():
        sel = purchase == market
        p_purge[sel], share_lo[sel], share_hi[sel] = p, s_lo, s_hi
    purge_day = day + length + np.rint(rnd.log_between(k, "purge-after", 5, 45)).astype(np.int64)
    purged = bought & rnd.chance(k, "purge", p_purge) & (purge_day < H)
    purge_day = np.where(purged, purge_day, -1)
    share = np.where(purged, rnd.between(k, "purge-share", share_lo, share_hi), 0.0)
    return (np.where(bought, day, -1).astype(np.int32), np.where(bought, length, 0).astype(
        np.int32), np.rint(size), purge_day.astype(np.int32), share)


def _post_windows(k: np.ndarray, base: np.ndarray, created: np.ndarray, obs: int, day0: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many recent posts each account has, and the period they fall in."""
    per_window = (obs - day0) / (POSTS_WINDOW_DAYS * DAY)
    n_posts = np.rint(rnd.lognormal(k, "posts", POSTS[base, 0] * per_window, POSTS[base, 1]))
    age_days = (obs - created) / DAY
    thin = base == NEW_THIN
    n_posts = np.where(thin, np.minimum(rnd.poisson(k, "thin-posts", age_days / 12), 8), n_posts)
    n_posts = np.where(base == DORMANT, rnd.integers(k, "dormant-posts", 4), n_posts)
    n_posts = np.clip(n_posts, 0, 400).astype(np.int32)
    start = np.maximum(day0, created + 3600)
    end = np.full(len(k), obs - 600, dtype=np.int64)
    dormant = base == DORMANT
    start = np.where(dormant, np.maximum(created + DAY, obs - 700 * DAY), start)
    end = np.where(dormant, obs - 150 * DAY, end)
    end = np.maximum(end, start + 3600)
    return n_posts, start.astype(np.int64), end.astype(np.int64)


RING_GROUP = "ring-"  # group_labels' prefix of a ring / pod


def pod_windows(plan: Plan, group_ids: Sequence[str | None]) -> np.ndarray:
    """Per group id (as ``group_labels`` writes it): its pod's window rule in seconds;
    0 for a pod that runs in rounds and for any id that is not a pod's."""
    return np.array([plan.ring_window[int(g.removeprefix(RING_GROUP))]
                     if g and g.startswith(RING_GROUP) else 0.0 for g in group_ids])


def group_labels(plan: Plan, idx: np.ndarray) -> pa.Array:
    """The group an account belongs to, for grouped cross-validation: its ring, else its
    purchase lot, else its genuine community; null for everyone else."""
    def numbered(prefix: pa.Array | str, values: np.ndarray, width: int) -> pa.Array:
        text = pc.utf8_lpad(txt.number_text(np.maximum(values, 0)), width, "0")
        return txt.where(values >= 0, txt.join(prefix, text), None)

    market = pa.array(MARKETS).take(pa.array(np.maximum(plan.purchase[idx], 0).astype(np.int64)))
    return pc.coalesce(
        numbered(RING_GROUP, plan.ring[idx], 5),
        numbered(txt.join(market, "-lot-"), plan.lot[idx], 4),
        numbered("community-", plan.community[idx], 5),
    )
