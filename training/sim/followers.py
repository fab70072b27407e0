"""The follower sample of each account and its ground truth.

Each account shows ``followers_sample`` followers (fewer if it has fewer),
drawn at random from its whole audience and listed newest first, as audit
tools sample an audience.  The sample is stratified: its composition (real,
viral newcomers, organic spam, purchased) matches the audience to within one
follower, and its follow dates spread over the days the history says each
component arrived.  Person ids come from the same key spaces as engagers, so a
sampled fan may also be seen engaging.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trueclout.training.sim import people
from trueclout.training.sim import randomness as rnd
from trueclout.training.sim import text as txt
from trueclout.training.sim.history import Histories
from trueclout.training.sim.params import MARKETS, NO_MARKET, ORGANIC_SPAM
from trueclout.training.sim.plan import DAY, Plan

REAL, VIRAL_FAN, SPAM, MARKET = range(4)
SPAM_STOCK = 5_000_000  # spam bots per platform
LOT_SIZE = 250_000  # fakes per market lot
DELIVERY_HOURS = 4  # a delivery batch lands within a few hours


@dataclass(frozen=True)
class FollowerSample:
    """Rows of the ``followers`` table (without account columns) and their truth."""

    account: np.ndarray  # row -> chunk-local account index
    position: np.ndarray
    person: np.ndarray  # person keys
    followed_at: np.ndarray
    is_fake: np.ndarray
    market: np.ndarray  # market id, or NO_MARKET
    follower_id: pa.Array
    profile: dict


def real_person_key(plan: Plan, account: np.ndarray, j: np.ndarray) -> np.ndarray:
    """A genuine member of an account's audience (also used for engagers)."""
    return rnd.key(plan.key[account], "audience", j)


def viral_person_key(plan: Plan, account: np.ndarray, j: np.ndarray) -> np.ndarray:
    return rnd.key(plan.key[account], "viral-crowd", j)


def sample_followers(plan: Plan, idx: np.ndarray, hist: Histories) -> FollowerSample:
    n, H = hist.real.shape
    real_now, spam_now, market_now = hist.real[:, -1], hist.spam[:, -1], hist.market[:, -1]
    total = real_now + spam_now + market_now
    m = np.minimum(plan.params.followers_sample, total).astype(np.int64)
    acc = np.repeat(np.arange(n), m)
    slot = np.arange(len(acc)) - np.repeat(np.cumsum(m) - m, m)
    ak = plan.key[idx]
    sk = rnd.key(ak[acc], "follower-slot", slot)

    # Weights over [before the window, day 0 .. day H-1] for each component.
    weights = np.zeros((n, 4, H + 1))
    weights[:, REAL, 0] = hist.real_before
    weights[:, REAL, 1:] = hist.real_gain
    weights[:, VIRAL_FAN, 1:] = hist.viral_gain
    weights[:, SPAM, 0] = hist.spam_before
    weights[:, SPAM, 1:] = hist.spam_gain
    weights[:, MARKET, 1:] = hist.market_gain
    mass = weights.sum(axis=2)
    fan_part = np.where(mass[:, REAL] + mass[:, VIRAL_FAN] > 0,
                        mass[:, VIRAL_FAN] / np.maximum(mass[:, REAL] + mass[:, VIRAL_FAN], 1), 0)
    counts = np.stack([real_now * (1 - fan_part), real_now * fan_part, spam_now, market_now], 1)

    # Systematic sampling: exact composition, components in slot order.
    shift = rnd.uniform(ak, "composition")
    cum = np.cumsum(counts, axis=1) / np.maximum(total, 1)[:, None]
    q = (slot + shift[acc]) / np.maximum(m[acc], 1)
    comp = np.minimum((q[:, None] >= cum[acc]).sum(axis=1), 3)
    group = acc * 4 + comp
    boundary = np.ones(len(group), dtype=bool)
    boundary[1:] = group[1:] != group[:-1]
    group_start = np.maximum.accumulate(np.where(boundary, np.arange(len(group)), 0))
    rank = np.arange(len(group)) - group_start
    group_size = np.bincount(group, minlength=n * 4)[group]
    strata = (rank + rnd.uniform(sk, "stratum")) / np.maximum(group_size, 1)

    followed_at = _follow_times(plan, idx, weights, acc, comp, strata, sk)
    is_fake = comp >= SPAM
    market = np.where(comp == MARKET, plan.purchase[idx][acc],
                      np.where(comp == SPAM, ORGANIC_SPAM, NO_MARKET)).astype(np.int8)
    person, cls, lot_date = _persons(plan, idx, acc, comp, strata, counts)
    platform = plan.platform[idx][acc]
    profile = people.person_profiles(person, cls, platform, followed_at, lot_date,
                                     plan.observed_at)
    follower_id = txt.person_ids(rnd.bits(person, "id"), platform)

    # Newest follower first, as platforms list them.
    order = np.lexsort((slot, -followed_at, acc))
    position = np.arange(len(acc)) - np.repeat(np.cumsum(m) - m, m)
    take = pa.array(order)
    return FollowerSample(
        account=acc[order], position=position.astype(np.int32), person=person[order],
        followed_at=followed_at[order], is_fake=is_fake[order], market=market[order],
        follower_id=follower_id.take(take),
        profile={c: (v.take(take) if isinstance(v, pa.Array) else v[order])
                 for c, v in profile.items()},
    )


def _follow_times(plan: Plan, idx: np.ndarray, weights: np.ndarray, acc: np.ndarray,
                  comp: np.ndarray, strata: np.ndarray, sk: np.ndarray) -> np.ndarray:
    """Follow time of each sampled follower, by inverse CDF over its component's days."""
    n, _, width = weights.shape
    flat = weights.reshape(n * 4, width)
    row_total = flat.sum(axis=1, keepdims=True)
    cdf = np.cumsum(flat, axis=1) / np.where(row_total > 0, row_total, 1)
    cdf[row_total[:, 0] == 0, :] = np.linspace(1.0 / width, 1.0, width)
    offset = np.arange(n * 4)[:, None] * 2.0
    row = acc * 4 + comp
    col = np.searchsorted((cdf + offset).ravel(), row * 2.0 + np.clip(strata, 1e-12, 1.0),
                          side="left") - row * width
    col = np.clip(col, 0, width - 1)
    created = plan.created[idx][acc].astype(np.float64)
    window_start = plan.day0 + plan.first_day[idx][acc].astype(np.float64) * DAY
    u = rnd.uniform(sk, "follow-time")
    before = created + (window_start - created) * np.sqrt(u)
    day = col - 1
    day_start = plan.day0 + day.astype(np.float64) * DAY
    batch_hour = rnd.integers(rnd.key(plan.key[idx][acc], day), "batch-hour",
                              24 - DELIVERY_HOURS)
    delivered = day_start + batch_hour * 3600.0 + u * DELIVERY_HOURS * 3600
    anytime = day_start + u * DAY
    at = np.where(col == 0, before, np.where(comp == MARKET, delivered, anytime))
    at = np.clip(at, created + 60, plan.observed_at - 1)
    return at.astype(np.int64)


def _persons(plan: Plan, idx: np.ndarray, acc: np.ndarray, comp: np.ndarray,
             strata: np.ndarray, counts: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person key, person class and (for fakes) lot creation date of each sampled follower."""
    account = idx[acc]
    j = np.floor(strata * np.maximum(counts[acc, comp], 1)).astype(np.int64)
    platform = plan.platform[account]
    market = plan.purchase[account]
    lot = plan.lot[account]
    start = rnd.integers(plan.key[account], "stock-start", LOT_SIZE)
    spam_start = rnd.integers(plan.key[account], "spam-start", SPAM_STOCK)
    person = np.select(
        [comp == REAL, comp == VIRAL_FAN, comp == SPAM],
        [real_person_key(plan, account, j), viral_person_key(plan, account, j),
         rnd.key(plan.seed, "spam", platform, (spam_start + j) % SPAM_STOCK)],
        rnd.key(plan.seed, "market", market, platform, lot, (start + j) % LOT_SIZE),
    )
    cls = np.select([comp == REAL, comp == VIRAL_FAN, comp == SPAM],
                    [people.HUMAN, people.NEWCOMER, ORGANIC_SPAM], market).astype(np.int64)
    lot_date = people.lot_created(plan.seed, market, lot, platform, plan.observed_at,
                                  plan.days)
    return person.astype(np.uint64), cls, lot_date


def follower_labels_columns(sample: FollowerSample) -> dict:
    names = np.array(MARKETS, dtype=object)
    market = pa.array(np.where(sample.market >= 0, names[np.maximum(sample.market, 0)], None),
                      pa.string())
    return {"is_fake": sample.is_fake.astype(np.int8), "market": market}
