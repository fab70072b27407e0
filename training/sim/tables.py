"""Arrow tables of a generated chunk: the six contract tables and the two label tables.

Columns come out of the generators as numpy arrays (times in epoch seconds)
and Arrow string arrays; this module only assembles them with the exact
schemas of ``trueclout.tables.SCHEMAS`` and of the label tables below.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.contract import ENGAGEMENT_KINDS, POST_KINDS
from trueclout.tables import SCHEMAS, TS, SnapshotTables
from trueclout.training.sim import people
from trueclout.training.sim import randomness as rnd
from trueclout.training.sim.engagement import LIKE, QUOTE, REPLY, REPOST, Engagements, RepostsMade
from trueclout.training.sim.followers import FollowerSample, follower_labels_columns
from trueclout.training.sim.history import Histories
from trueclout.training.sim.params import (
    BASE_KINDS,
    BULK_CRUDE,
    BULK_FARM,
    INSTAGRAM,
    MARKETS,
    NO_MARKET,
    PLATFORMS,
    PREMIUM,
    YOUTUBE,
)
from trueclout.training.sim.plan import DAY, Plan, group_labels
from trueclout.training.sim.posts import PostSchedule

LABEL_SCHEMA = pa.schema([
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("bought_followers", pa.int8(), nullable=False),
    pa.field("engagement_ring", pa.int8(), nullable=False),
    pa.field("growth_burst", pa.int8(), nullable=False),
    pa.field("group_id", pa.string()),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("base_kind", pa.string(), nullable=False),
    pa.field("market", pa.string()),
    pa.field("fake_share", pa.float64(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
])
FOLLOWER_LABEL_SCHEMA = pa.schema([
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("position", pa.int32(), nullable=False),
    pa.field("follower_id", pa.string(), nullable=False),
    pa.field("is_fake", pa.int8(), nullable=False),
    pa.field("market", pa.string()),
])


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, TS)


def _mean_per_account(values: np.ndarray, sched: PostSchedule, n: int) -> np.ndarray:
    pos = np.repeat(np.arange(n), sched.count)
    total = np.bincount(pos, weights=values, minlength=n)
    return np.where(sched.count > 0, total / np.maximum(sched.count, 1), 0.0)


def _raw_score(k: np.ndarray, followers: np.ndarray, per_post: np.ndarray) -> np.ndarray:
    """A Klout-style score the platform would publish: it believes every follower and like."""
    score = (9 * np.log10(1 + followers) + 7 * np.log10(1 + per_post)
             + 3 * rnd.normal(k, "raw-score-noise"))
    return np.round(np.clip(score, 1, 99), 1)


def _profiles(plan: Plan, idx: np.ndarray, ids: pa.Array, followers: np.ndarray,
              following: np.ndarray, sched: PostSchedule, per_post: np.ndarray) -> pa.Table:
    k = plan.key[idx]
    cols = people.account_profiles(plan, idx, followers, following, sched.count)
    schema = SCHEMAS["profiles"]
    platform_names = pa.array(PLATFORMS).take(pa.array(plan.platform[idx].astype(np.int64)))
    data = {
        "account_id": ids,
        "platform": platform_names,
        "observed_at": _ts(np.full(len(idx), plan.observed_at)),
        "raw_score": pa.array(_raw_score(k, followers, per_post)),
        **{c: cols[c] for c in people.PROFILE_COLUMNS},
    }
    data["created_at"] = _ts(data["created_at"])
    return pa.table({c: _cast(data[c], schema.field(c).type) for c in schema.names},
                    schema=schema)


def _cast(values: object, typ: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.cast(typ)
    return pa.array(np.asarray(values), typ)


def _history_table(plan: Plan, idx: np.ndarray, ids: pa.Array, hist: Histories) -> pa.Table:
    alive = hist.alive
    acc, day = np.nonzero(alive)
    following = hist.following[acc, day].astype(np.int64)
    no_following = plan.platform[idx][acc] == YOUTUBE
    return pa.table({
        "account_id": ids.take(pa.array(acc)),
        "date": pa.array((plan.day0 // DAY + day).astype(np.int32), pa.date32()),
        "followers": pa.array(hist.followers[acc, day]),
        "following": pa.array(following, mask=no_following),
    }, schema=SCHEMAS["follower_history"])


def _followers_table(ids: pa.Array, sample: FollowerSample) -> pa.Table:
    schema = SCHEMAS["followers"]
    data = {
        "account_id": ids.take(pa.array(sample.account)),
        "position": pa.array(sample.position, pa.int32()),
        "follower_id": sample.follower_id,
        **sample.profile,
        "followed_at": sample.followed_at,
    }
    data["created_at"] = _ts(data["created_at"])
    data["followed_at"] = _ts(data["followed_at"])
    return pa.table({c: _cast(data[c], schema.field(c).type) for c in schema.names},
                    schema=schema)


def _posts_table(plan: Plan, ids: pa.Array, sched: PostSchedule, totals: np.ndarray,
                 start: int) -> pa.Table:
    platform = plan.platform[sched.owner]
    no_reposts = (platform == INSTAGRAM) | (platform == YOUTUBE)
    return pa.table({
        "account_id": ids.take(pa.array(sched.owner - start)),
        "post_id": sched.post_ids(plan),
        "created_at": _ts(sched.created),
        "kind": pa.array(POST_KINDS).take(pa.array(sched.kind.astype(np.int64))),
        "reposts_count": pa.array(totals[:, REPOST] + totals[:, QUOTE], mask=no_reposts),
        "likes_count": pa.array(totals[:, LIKE]),
        "replies_count": pa.array(totals[:, REPLY]),
    }, schema=SCHEMAS["posts"])


def _engagements_table(plan: Plan, ids: pa.Array, sched: PostSchedule, eng: Engagements,
                       start: int
                       ) -> pa.Table:
    return pa.table({
        "account_id": ids.take(pa.array(eng.account - start)),
        "actor_id": eng.actor_id,
        "post_id": pc.take(sched.post_ids(plan), pa.array(eng.post_row)),
        "kind": pa.array(ENGAGEMENT_KINDS).take(pa.array(eng.kind.astype(np.int64))),
        "at": _ts(eng.at),
    }, schema=SCHEMAS["engagements"])


def _reposts_table(ids: pa.Array, reposts: RepostsMade, start: int) -> pa.Table:
    return pa.table({
        "account_id": ids.take(pa.array(reposts.account - start)),
        "target_account_id": reposts.target_id,
        "post_id": reposts.post_id,
        "at": _ts(reposts.at),
    }, schema=SCHEMAS["reposts_made"])


def _labels(plan: Plan, idx: np.ndarray, ids: pa.Array, fake_share: np.ndarray) -> pa.Table:
    market = plan.purchase[idx]
    bursty = np.isin(market, [BULK_CRUDE, BULK_FARM, PREMIUM]) | plan.churn[idx]
    market_names = np.array(MARKETS, dtype=object)
    return pa.table({
        "account_id": ids,
        "bought_followers": pa.array((market != NO_MARKET).astype(np.int8)),
        "engagement_ring": pa.array((plan.ring[idx] >= 0).astype(np.int8)),
        "growth_burst": pa.array(bursty.astype(np.int8)),
        "group_id": group_labels(plan, idx),
        "kind": plan.kind_names(idx),
        "base_kind": pa.array(BASE_KINDS).take(pa.array(plan.base[idx].astype(np.int64))),
        "market": pa.array(np.where(market >= 0, market_names[np.maximum(market, 0)], None),
                           pa.string()),
        "fake_share": pa.array(np.round(fake_share, 6)),
        "platform": pa.array(PLATFORMS).take(pa.array(plan.platform[idx].astype(np.int64))),
    }, schema=LABEL_SCHEMA)


def assemble(plan: Plan, start: int, stop: int, hist: Histories, sample: FollowerSample,
             sched: PostSchedule, eng: Engagements, reposts: RepostsMade
             ) -> tuple[SnapshotTables, pa.Table, pa.Table]:
    """The contract tables, labels and follower labels of accounts ``start .. stop - 1``."""
    idx = np.arange(start, stop)
    ids = plan.account_id.slice(start, stop - start)
    per_post = _mean_per_account(eng.totals.sum(axis=1), sched, len(idx))
    tables = SnapshotTables(
        profiles=_profiles(plan, idx, ids, hist.followers_now, hist.following[:, -1], sched,
                           per_post),
        follower_history=_history_table(plan, idx, ids, hist),
        followers=_followers_table(ids, sample),
        posts=_posts_table(plan, ids, sched, eng.totals, start),
        engagements=_engagements_table(plan, ids, sched, eng, start),
        reposts_made=_reposts_table(ids, reposts, start),
    )
    flabels = follower_labels_columns(sample)
    follower_labels = pa.table({
        "account_id": ids.take(pa.array(sample.account)),
        "position": pa.array(sample.position, pa.int32()),
        "follower_id": sample.follower_id,
        "is_fake": pa.array(flabels["is_fake"], pa.int8()),
        "market": flabels["market"],
    }, schema=FOLLOWER_LABEL_SCHEMA)
    return tables, _labels(plan, idx, ids, hist.fake_share), follower_labels
