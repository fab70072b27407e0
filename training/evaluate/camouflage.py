"""Camouflage a cheater can buy, applied to snapshot tables: what it costs to evade detection.

A detector that any cheater slips past for free protects no one, so issue 14
(item 4) asks what evasion *costs*.  Each transform here rewrites the snapshot
tables of some accounts as the platform would report them had the cheater
bought camouflage of a given *grade*, mechanism by mechanism:

================  ==================  ==========================================================
transform         tactic              grade (identity)
================  ==================  ==========================================================
``mix_in``        bought followers    real-looking followers added, k x the bought amount (0)
``drip``          bought followers    the bought followers re-delivered evenly over D days (0)
``premium``       bought followers    share of bought followers upgraded to genuine-looking (0)
``pod_delay``     rings / pods        pod engagement late by up to h hours (0)
``outsiders``     rings / pods        outsiders' engagement added, k x the pod's volume (0)
``reciprocity``   rings / pods        share of each other's posts pod members still engage (1)
``smoothing``     follow/unfollow     following series as a trailing mean over w days (0, 1)
================  ==================  ==========================================================

What a cheater knows about its own accounts (which sampled followers it
bought, who is in its pod) and what it can buy (genuine-looking profiles and
engagement) comes in a ``Truth``; ``truth_from_world`` takes it from the
simulator's labels.  Every transform is a pure function of (tables, grade,
truth, seed): the identity grade returns the tables untouched, and the
output keeps the contract's schema and its rules (engagement never before
its post nor after ``observed_at``; a profile's count is the last point of
its history), rows grouped by account in ``profiles`` order, followers
newest first, history by date, engagements and reposts by time.  Decisions
about a pod pair's engagement on a post are keyed by (actor, target, post),
so the engaged account's ``engagements`` and the engager's ``reposts_made``
agree, and a ring table over the transformed world sees one story.

``TRANSFORMS`` lists them with their grades (ordered by what they cost the
cheater) and what each grade costs per account, in the cheater's units;
``benchmarks/evasion.py`` scores them with the shipped model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.kernels.segments import account_index
from trueclout.features.kernels.strings import hash64, mix64
from trueclout.tables import SCHEMAS, TS, SnapshotTables

DAY_S = 86_400
_US = 1_000_000
_DAY_US = DAY_S * _US
# Real-looking followers "spread like organic growth" arrive over the history
# window; accounts with no history get this many days before observation.
DEFAULT_WINDOW_DAYS = 120
# Premium fakes are young accounts registered together: a lot made 30-180 days
# before the first of them follows, its accounts within a week of each other.
PREMIUM_AGE_DAYS = (30.0, 180.0)
PREMIUM_LOT_SPREAD_DAYS = 7.0
# Bought followers arrive in the same ``is_fake`` classes as the simulator's markets.
MARKETS = ("bulk_crude", "bulk_farm", "drip", "premium")
# Profile columns a genuine-looking follower borrows (everything but its age).
PROFILE_COLUMNS: tuple[str, ...] = (
    "username", "display_name", "followers_count", "following_count", "posts_count",
    "listed_count", "likes_count", "verified", "default_avatar", "bio", "url", "location")
DONOR_COLUMNS: tuple[str, ...] = ("follower_id", *PROFILE_COLUMNS, "created_at")
# Which platform total an engagement of each kind counts towards.
COUNT_OF_KIND: dict[str, str] = {"repost": "reposts_count", "quote": "reposts_count",
                                 "like": "likes_count", "reply": "replies_count"}


# ---------------------------------------------------------------------------------------------
# What the cheater knows and can buy


def _empty(columns: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([], typ) for name, typ in columns.items()})


@dataclass(frozen=True)
class Truth:
    """What a cheater knows about its own accounts, and the stock camouflage is bought from.

    ``bought``: (account_id, follower_id) of sampled followers the account bought.
    ``pods``: (account_id, pod) of pod members; engagement between two members of
    one pod is pod engagement.  ``donors``: genuine follower profiles (``DONOR_COLUMNS``
    and ``platform``) that real-looking and premium followers are drawn from.
    ``outsiders``: genuine engagement (actor_id, kind, delay_s after the post, platform)
    that bought outsider engagement is drawn from.
    """

    bought: pa.Table = field(default_factory=lambda: _empty(
        {"account_id": pa.string(), "follower_id": pa.string()}))
    pods: pa.Table = field(default_factory=lambda: _empty(
        {"account_id": pa.string(), "pod": pa.string()}))
    donors: pa.Table = field(default_factory=lambda: _empty(
        {**{c: SCHEMAS["followers"].field(c).type for c in DONOR_COLUMNS},
         "platform": pa.string()}))
    outsiders: pa.Table = field(default_factory=lambda: _empty(
        {"actor_id": pa.string(), "kind": pa.string(), "delay_s": pa.int64(),
         "platform": pa.string()}))


def truth_from_world(tables: SnapshotTables, labels: pa.Table, follower_labels: pa.Table
                     ) -> Truth:
    """The truth of a simulated world (``sim.world``): its labels say who bought and who pods.

    Donors are the sampled followers of genuine accounts (no tactic) that are
    not fakes; outsiders are the people (not accounts of the world) engaging
    genuine accounts' posts, with their delays after publication.
    """
    fl = follower_labels
    market = fl.column("market")
    is_bought = pc.and_(pc.equal(fl.column("is_fake"), 1),
                        pc.is_in(market, value_set=pa.array(MARKETS)).fill_null(False))
    bought = fl.filter(is_bought).select(["account_id", "follower_id"])

    ring = pc.equal(labels.column("engagement_ring"), 1)
    pods = labels.filter(pc.and_(ring, pc.is_valid(labels.column("group_id"))))
    pods = pa.table({"account_id": pods.column("account_id"), "pod": pods.column("group_id")})

    genuine_mask = pc.and_(pc.and_(pc.equal(labels.column("bought_followers"), 0), pc.invert(
        ring)), pc.equal(labels.column("growth_burst"), 0))
    genuine = labels.filter(genuine_mask).column("account_id")
    platform_of = tables.profiles.select(["account_id", "platform"])

    followers = tables.followers
    fakes = fl.filter(pc.equal(fl.column("is_fake"), 1))
    fake_keys = _pair_key(fakes.column("account_id"), fakes.column("follower_id"))
    keep = pc.and_(pc.is_in(followers.column("account_id"), value_set=genuine),
                   pc.invert(pc.is_in(_pair_key(followers.column("account_id"),
                                                followers.column("follower_id")),
                                      value_set=fake_keys)))
    donors = followers.filter(keep)
    donors = donors.select(list(DONOR_COLUMNS)).append_column(
        "platform", _lookup(donors.column("account_id"), platform_of, "platform"))

    eng = tables.engagements
    world_ids = tables.profiles.column("account_id")
    keep = pc.and_(pc.is_in(eng.column("account_id"), value_set=genuine),
                   pc.invert(pc.is_in(eng.column("actor_id"), value_set=world_ids)))
    eng = eng.filter(keep)
    created = _micros(_lookup_post(eng, tables.posts, "created_at"))
    outsiders = pa.table({
        "actor_id": eng.column("actor_id"),
        "kind": eng.column("kind"),
        "delay_s": pa.array(np.maximum((_micros(eng.column("at")) - created) // _US, 0)),
        "platform": _lookup(eng.column("account_id"), platform_of, "platform"),
    })
    return Truth(bought=bought, pods=pods, donors=donors, outsiders=outsiders)


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers


def _pair_key(a: pa.Array | pa.ChunkedArray, b: pa.Array | pa.ChunkedArray) -> pa.Array:
    joined = pc.binary_join_element_wise(a, pc.fill_null(b, ""), "\0")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _lookup(keys: pa.Array | pa.ChunkedArray, table: pa.Table, column: str) -> pa.Array:
    """``table[column]`` at the row whose account_id is each key (null where none)."""
    index = pc.index_in(keys, value_set=table.column("account_id").combine_chunks())
    return table.column(column).combine_chunks().take(index)


def _lookup_post(rows: pa.Table, posts: pa.Table, column: str) -> pa.Array:
    index = pc.index_in(_pair_key(rows.column("account_id"), rows.column("post_id")),
                        value_set=_pair_key(posts.column("account_id"), posts.column("post_id")))
    return posts.column(column).combine_chunks().take(index)


def _micros(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (nulls: the minimum int64)."""
    values = pc.cast(column, pa.int64()).fill_null(np.iinfo(np.int64).min)
    return np.array(values.to_numpy(zero_copy_only=False), dtype=np.int64)  # writable


def _timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(micros, dtype=np.int64), TS, mask=mask)


def _ints(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _positions(table: pa.Table, profiles: pa.Table) -> np.ndarray:
    """Each row's account, as its index in ``profiles``."""
    return account_index(table.column("account_id"), profiles.column("account_id"))


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), values.cast(table.schema.field(i).type))


def _sorted(table: pa.Table, profiles: pa.Table, *keys: np.ndarray) -> pa.Table:
    """Rows grouped by account in ``profiles`` order, then by ``keys`` (first key first)."""
    if table.num_rows == 0:
        return table
    pos = _positions(table, profiles)
    order = np.lexsort((np.arange(table.num_rows), *reversed(keys), pos))
    return table.take(pa.array(order))


def _segment_starts(pos: np.ndarray) -> np.ndarray:
    """For rows sorted by account, the row where each row's account begins."""
    boundary = np.ones(len(pos), dtype=bool)
    boundary[1:] = pos[1:] != pos[:-1]
    return np.maximum.accumulate(np.where(boundary, np.arange(len(pos)), 0))


def _segment_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums restarting at each account (rows sorted by account)."""
    cs = np.cumsum(values, dtype=np.float64)
    return cs - (cs[starts] - values[starts])


def _rank_within(pos: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank of each row by ``key`` among the rows of its account (0 = smallest)."""
    order = np.lexsort((key, pos))
    ranks = np.empty(len(pos), dtype=np.int64)
    sorted_pos = pos[order]
    ranks[order] = np.arange(len(pos)) - _segment_starts(sorted_pos)
    return ranks


def keyed_uniform(seed: int, tag: str, *columns: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A uniform in [0, 1) per row, fixed by the seed, the tag and the rows' strings alone.

    Decisions keyed this way come out the same wherever the same (actor,
    target, post) appears: in the target's engagements and in the actor's
    reposts, in any table order.
    """
    n = len(columns[0])
    h = mix64(np.full(n, seed & (2**64 - 1), dtype=np.uint64)
               ^ hash64(pa.array([tag], pa.string()))[0])
    for column in columns:
        h = mix64(h * np.uint64(0x9E3779B97F4A7C15) ^ hash64(pc.fill_null(column, "")))
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


def _draw(pool_platform: pa.Array | pa.ChunkedArray, want: pa.Array | pa.ChunkedArray,
          rng: np.random.Generator) -> np.ndarray:
    """Rows of a pool, one per wanted platform, drawn from the pool's rows of that platform
    (the whole pool where it has none of that platform).

    Draws go through one random permutation per platform and repeat only once
    it is used up, so consecutive requests (one account's) get distinct rows:
    a duplicated profile in a sample would read as a template, which no buyer
    of genuine-looking followers gets.
    """
    n_pool = len(pool_platform)
    if n_pool == 0:
        raise ValueError("the pool to draw camouflage from is empty")
    values = pc.unique(pool_platform)
    code = np.asarray(pc.index_in(pool_platform, value_set=values).to_numpy(
        zero_copy_only=False), dtype=np.int64)
    wanted = np.asarray(pc.index_in(want, value_set=values).fill_null(-1).to_numpy(
        zero_copy_only=False), dtype=np.int64)
    out = np.empty(len(wanted), dtype=np.int64)
    for c in np.unique(wanted):  # a handful of platforms
        rows = np.flatnonzero(wanted == c)
        members = np.flatnonzero(code == c) if c >= 0 else np.arange(n_pool)
        shuffled = members[rng.permutation(len(members))]
        out[rows] = shuffled[np.arange(len(rows)) % len(members)]
    return out


# ---------------------------------------------------------------------------------------------
# Followers: who was bought, and how many


def bought_rows(tables: SnapshotTables, truth: Truth) -> np.ndarray:
    """True for the sampled followers the account bought."""
    followers = tables.followers
    if followers.num_rows == 0 or truth.bought.num_rows == 0:
        return np.zeros(followers.num_rows, dtype=bool)
    keys = _pair_key(followers.column("account_id"), followers.column("follower_id"))
    wanted = _pair_key(truth.bought.column("account_id"), truth.bought.column("follower_id"))
    return np.asarray(pc.is_in(keys, value_set=wanted).to_numpy(zero_copy_only=False),
                      dtype=bool)


def bought_amount(tables: SnapshotTables, truth: Truth) -> np.ndarray:
    """Bought followers per account: the follower count times the bought share of its sample.

    The sample is drawn at random from the audience, so its bought share is
    the audience's (0 for an account without a sample: nothing to go on).
    """
    n = tables.num_accounts
    pos = _positions(tables.followers, tables.profiles)
    sampled = np.bincount(pos, minlength=n)
    bought = np.bincount(pos[bought_rows(tables, truth)], minlength=n)
    count = _ints(tables.profiles.column("followers_count"))
    return np.rint(count * bought / np.maximum(sampled, 1)).astype(np.int64)


def _reposition(followers: pa.Table, profiles: pa.Table) -> pa.Table:
    """Followers newest first per account (unknown follow times last), positions 0.. again."""
    if followers.num_rows == 0:
        return followers
    at = _micros(followers.column("followed_at"))
    known = pc.is_valid(followers.column("followed_at")).to_numpy(zero_copy_only=False)
    newest_first = np.where(known, -at, np.iinfo(np.int64).max)
    out = _sorted(followers, profiles, newest_first, _ints(followers.column("position")))
    pos = _positions(out, profiles)
    rank = np.arange(out.num_rows) - _segment_starts(pos)
    return _set(out, "position", pa.array(rank.astype(np.int32)))


def _history_days(history: pa.Table) -> np.ndarray:
    return np.asarray(pc.cast(history.column("date"), pa.int32()).to_numpy(
        zero_copy_only=False), dtype=np.int64)


def _window_start(tables: SnapshotTables) -> np.ndarray:
    """Start of each account's history window (its first history day; else the last
    ``DEFAULT_WINDOW_DAYS``), never before the account was created (microseconds)."""
    profiles = tables.profiles
    n = profiles.num_rows
    observed = _micros(profiles.column("observed_at"))
    start = observed - DEFAULT_WINDOW_DAYS * _DAY_US
    history = tables.follower_history
    if history.num_rows:
        pos = _positions(history, profiles)
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, pos, _history_days(history))
        has = np.bincount(pos, minlength=n) > 0
        start = np.where(has, first * _DAY_US, start)
    return np.maximum(start, _micros(profiles.column("created_at")))


# ---------------------------------------------------------------------------------------------
# Bought followers: mix-in, drip, premium


def mix_in(tables: SnapshotTables, k: float, truth: Truth, seed: int = 0) -> SnapshotTables:
    """Real-looking followers bought at ``k`` times the bought amount, arriving like organic
    growth over the history window.

    The follower count and every later history point rise by what has arrived
    (a day-to-day Poisson spread, exact in total); the sample keeps its size
    and a random share of it, the newcomers' share of the new audience, is now
    genuine profiles (drawn from ``truth.donors`` of the account's platform)
    followed at a time uniform over the window.  They do not engage: a bought
    audience, however real it looks, does not.
    """
    if k <= 0:
        return tables
    rng = np.random.default_rng(seed)
    profiles = tables.profiles
    n = profiles.num_rows
    count = _ints(profiles.column("followers_count"))
    add = np.rint(k * bought_amount(tables, truth)).astype(np.int64)

    history = _sorted(tables.follower_history, profiles, _history_days(tables.follower_history))
    if history.num_rows:
        pos = _positions(history, profiles)
        starts = _segment_starts(pos)
        rows = np.bincount(pos, minlength=n)
        gains = rng.poisson(add[pos] / np.maximum(rows[pos], 1)).astype(np.float64)
        cum = _segment_cumsum(gains, starts)
        total = np.bincount(pos, weights=gains, minlength=n)[pos]
        ramp = (np.arange(len(pos)) - starts + 1) / rows[pos]
        share = np.where(total > 0, cum / np.maximum(total, 1), ramp)
        arrived = np.rint(share * add[pos]).astype(np.int64)
        history = _set(history, "followers", pa.array(_ints(history.column("followers"))
                                                        + arrived))

    followers = tables.followers
    if followers.num_rows:
        pos = _positions(followers, profiles)
        sampled = np.bincount(pos, minlength=n)
        swap = np.rint(sampled * add / np.maximum(count + add, 1)).astype(np.int64)
        chosen = _rank_within(pos, rng.random(len(pos))) < swap[pos]
        if chosen.any():
            followers = _with_donors(followers, profiles, np.flatnonzero(chosen), truth,
                                     _window_start(tables), rng)
    profiles = _set(profiles, "followers_count", pa.array(count + add))
    return replace(tables, profiles=profiles, follower_history=history, followers=followers)


def _with_donors(followers: pa.Table, profiles: pa.Table, rows: np.ndarray, truth: Truth,
                 window_start: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """``followers`` with ``rows`` replaced by genuine profiles who followed within the window."""
    pos = _positions(followers, profiles)[rows]
    platform = profiles.column("platform").combine_chunks().take(pa.array(pos))
    donor = truth.donors.take(pa.array(_draw(truth.donors.column("platform"), platform, rng)))
    observed = _micros(profiles.column("observed_at"))[pos]
    start = window_start[pos]
    at = start + np.floor(rng.random(len(rows)) * np.maximum(observed - start, 1)).astype(
        np.int64)
    created = _micros(donor.column("created_at"))
    at = np.minimum(np.maximum(at, created + 60 * _US), observed - _US)
    new = {name: donor.column(name) for name in DONOR_COLUMNS}
    new["account_id"] = followers.column("account_id").take(pa.array(rows))
    new["position"] = followers.column("position").take(pa.array(rows))
    new["followed_at"] = _timestamps(at)
    added = pa.table({f.name: new[f.name].cast(f.type) for f in followers.schema},
                     schema=followers.schema)
    keep = np.ones(followers.num_rows, dtype=bool)
    keep[rows] = False
    return _reposition(pa.concat_tables([followers.filter(pa.array(keep)), added]), profiles)


def drip(tables: SnapshotTables, days: float, truth: Truth, seed: int = 0) -> SnapshotTables:
    """The bought followers re-delivered evenly over ``days`` days instead of as they came.

    The delivery is found where the account's bought followers say it was
    (the days its sampled bought followers followed, first to last); what the
    history gained on those days beyond its usual daily change (the median
    change on other days) is taken out and spread evenly over ``days`` days
    from the same start (earlier, where the history would end first).  The
    count today is unchanged; the sampled bought followers get follow times
    spread over the new delivery.  A platform's later purge stays in the
    history: the cheater cannot undo it.
    """
    if days <= 0:
        return tables
    rng = np.random.default_rng(seed)
    span_days = max(int(round(days)), 1)
    profiles = tables.profiles
    n = profiles.num_rows
    followers = tables.followers
    bought = bought_rows(tables, truth)
    if not bought.any():
        return tables
    fpos = _positions(followers, profiles)
    follow_day = _micros(followers.column("followed_at")) // _DAY_US
    big = np.iinfo(np.int64).max
    first_bought = np.full(n, big)
    last_bought = np.full(n, -big)
    known = bought & pc.is_valid(followers.column("followed_at")).to_numpy(zero_copy_only=False)
    np.minimum.at(first_bought, fpos[known], follow_day[known])
    np.maximum.at(last_bought, fpos[known], follow_day[known])
    has = first_bought <= last_bought

    observed_day = _micros(profiles.column("observed_at")) // _DAY_US
    history = _sorted(tables.follower_history, profiles, _history_days(tables.follower_history))
    last = observed_day - 1
    first = np.minimum(first_bought, last) - span_days
    if history.num_rows:
        pos = _positions(history, profiles)
        day = _history_days(history)
        starts = _segment_starts(pos)
        with_history = np.bincount(pos, minlength=n) > 0
        h_first = np.full(n, big)
        h_last = np.full(n, -big)
        np.minimum.at(h_first, pos, day)
        np.maximum.at(h_last, pos, day)
        first = np.where(with_history, h_first, first)
        last = np.where(with_history, h_last, last)
    began = np.where(has, first_bought, last)
    new_start = np.where(began + span_days - 1 <= last, began,
                         np.maximum(first, last - span_days + 1))
    span = np.clip(last - new_start + 1, 1, span_days)

    if history.num_rows:
        count = _ints(history.column("followers")).astype(np.float64)
        change = np.diff(count, prepend=0.0)
        opening = np.arange(len(pos)) == starts
        delivery = has[pos] & (day >= first_bought[pos]) & (day <= last_bought[pos]) & ~opening
        usual = _segment_median(change, pos, n, ~opening & ~delivery)
        moved = np.where(delivery, np.maximum(change - usual[pos], 0.0), 0.0)
        total = np.bincount(pos, weights=moved, minlength=n)
        redelivered = total[pos] * np.clip(day - new_start[pos] + 1, 0, span[pos]) / span[pos]
        new = np.maximum(np.rint(count - _segment_cumsum(moved, starts) + redelivered), 0)
        history = _set(history, "followers", pa.array(new.astype(np.int64)))

    rows = np.flatnonzero(known & has[fpos])
    p = fpos[rows]
    new_day = new_start[p] + np.minimum(np.floor(rng.random(len(rows)) * span[p]),
                                        span[p] - 1).astype(np.int64)
    at = new_day * _DAY_US + np.floor(rng.random(len(rows)) * _DAY_US).astype(np.int64)
    created = _micros(followers.column("created_at"))[rows]
    observed = _micros(profiles.column("observed_at"))[p]
    at = np.minimum(np.maximum(at, created + 60 * _US), observed - _US)
    all_at = _micros(followers.column("followed_at"))
    all_at[rows] = at
    valid = pc.is_valid(followers.column("followed_at")).to_numpy(zero_copy_only=False)
    followers = _reposition(_set(followers, "followed_at", _timestamps(all_at, valid)),
                            profiles)
    return replace(tables, follower_history=history, followers=followers)


def _segment_median(values: np.ndarray, pos: np.ndarray, n: int, mask: np.ndarray
                    ) -> np.ndarray:
    """Median of ``values[mask]`` per account (0 where an account has none)."""
    v, p = values[mask], pos[mask]
    order = np.lexsort((v, p))
    v, p = v[order], p[order]
    size = np.bincount(p, minlength=n)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    lo = start + np.maximum(size - 1, 0) // 2
    hi = start + size // 2
    out = np.zeros(n)
    ok = size > 0
    out[ok] = (v[lo[ok]] + v[hi[ok]]) / 2.0
    return out


def premium(tables: SnapshotTables, share: float, truth: Truth, seed: int = 0
            ) -> SnapshotTables:
    """A ``share`` of the bought followers upgraded to premium fakes: every count and
    profile field borrowed from a genuine follower of the platform, but young accounts
    registered together (a lot made 30-180 days before the first of them followed,
    within a week of each other).  Counts and follow times are unchanged."""
    if share <= 0:
        return tables
    rng = np.random.default_rng(seed)
    profiles = tables.profiles
    followers = tables.followers
    bought = bought_rows(tables, truth)
    if not bought.any():
        return tables
    pos = _positions(followers, profiles)
    n = profiles.num_rows
    per_account = np.bincount(pos[bought], minlength=n)
    upgrade = np.rint(share * per_account).astype(np.int64)
    rank = _rank_within(pos, np.where(bought, rng.random(len(pos)), 2.0))
    rows = np.flatnonzero(bought & (rank < upgrade[pos]))
    if len(rows) == 0:
        return tables
    p = pos[rows]
    platform = profiles.column("platform").combine_chunks().take(pa.array(p))
    donor = truth.donors.take(pa.array(_draw(truth.donors.column("platform"), platform, rng)))
    followed = _micros(followers.column("followed_at"))[rows]
    known = followed > np.iinfo(np.int64).min
    observed = _micros(profiles.column("observed_at"))[p]
    followed = np.where(known, followed, observed)
    first_follow = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_follow, p, followed)
    lot_age = rng.uniform(*PREMIUM_AGE_DAYS, size=n) * _DAY_US
    lot = first_follow - lot_age.astype(np.int64)
    created = lot[p] + np.floor(rng.random(len(rows)) * PREMIUM_LOT_SPREAD_DAYS * _DAY_US
                                ).astype(np.int64)
    created = np.minimum(created, followed - 60 * _US)

    index = np.arange(followers.num_rows)
    index[rows] = followers.num_rows + np.arange(len(rows))
    take = pa.array(index)
    columns = {name: donor.column(name) for name in PROFILE_COLUMNS}
    columns["created_at"] = _timestamps(created)
    for name, values in columns.items():
        typ = followers.schema.field(name).type
        merged = pa.concat_arrays([followers.column(name).combine_chunks().cast(typ),
                                   values.combine_chunks().cast(typ)
                                   if isinstance(values, pa.ChunkedArray) else values.cast(typ)])
        followers = _set(followers, name, merged.take(take))
    return replace(tables, followers=followers)


# ---------------------------------------------------------------------------------------------
# Pods: delay, outsiders, reciprocity


def _pod_codes(ids: pa.Array | pa.ChunkedArray, truth: Truth) -> np.ndarray:
    """The pod of each id as an integer (-1: in no pod)."""
    pods = truth.pods
    if len(ids) == 0 or pods.num_rows == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pod = pods.column("pod").combine_chunks()
    pod_code = pc.index_in(pod, value_set=pc.unique(pod))
    row = pc.index_in(ids, value_set=pods.column("account_id").combine_chunks())
    return np.asarray(pod_code.take(row).fill_null(-1).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def pod_engagements(tables: SnapshotTables, truth: Truth) -> np.ndarray:
    """True for engagement rows where a member of the account's own pod engaged."""
    eng = tables.engagements
    target = _pod_codes(eng.column("account_id"), truth)
    return (target >= 0) & (target == _pod_codes(eng.column("actor_id"), truth))


def pod_reposts(tables: SnapshotTables, truth: Truth) -> np.ndarray:
    """True for the account's reposts of its own pod members."""
    reposts = tables.reposts_made
    actor = _pod_codes(reposts.column("account_id"), truth)
    return (actor >= 0) & (actor == _pod_codes(reposts.column("target_account_id"), truth))


def _engagement_key(tables: SnapshotTables, tag: str, seed: int) -> np.ndarray:
    eng = tables.engagements
    return keyed_uniform(seed, tag, eng.column("actor_id"), eng.column("account_id"),
                         eng.column("post_id"))


def _repost_key(tables: SnapshotTables, tag: str, seed: int) -> np.ndarray:
    rep = tables.reposts_made
    return keyed_uniform(seed, tag, rep.column("account_id"), rep.column("target_account_id"),
                         rep.column("post_id"))


def _recount(posts: pa.Table, rows: pa.Table, sign: int) -> pa.Table:
    """Posts' platform totals moved by engagement ``rows`` added (+1) or withdrawn (-1)."""
    if rows.num_rows == 0 or posts.num_rows == 0:
        return posts
    index = pc.index_in(_pair_key(rows.column("account_id"), rows.column("post_id")),
                        value_set=_pair_key(posts.column("account_id"), posts.column("post_id")))
    index = np.asarray(index.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    kind = np.asarray(rows.column("kind").to_numpy(zero_copy_only=False), dtype=object)
    for column in sorted(set(COUNT_OF_KIND.values())):
        kinds = [k for k, c in COUNT_OF_KIND.items() if c == column]
        hit = (index >= 0) & np.isin(kind, kinds)
        delta = np.bincount(index[hit], minlength=posts.num_rows)
        if not delta.any():
            continue
        old = posts.column(column)
        valid = pc.is_valid(old).to_numpy(zero_copy_only=False)
        new = np.maximum(_ints(old) + sign * delta, 0)
        posts = _set(posts, column, pa.array(new, pa.int64(), mask=~valid))
    return posts


def _engagements(tables: SnapshotTables, engagements: pa.Table) -> pa.Table:
    return _sorted(engagements, tables.profiles, _micros(engagements.column("at")))


def _reposts(tables: SnapshotTables, reposts: pa.Table) -> pa.Table:
    return _sorted(reposts, tables.profiles, _micros(reposts.column("at")))


def pod_delay(tables: SnapshotTables, hours: float, truth: Truth, seed: int = 0
              ) -> SnapshotTables:
    """Pod members engage each other up to ``hours`` later: each pod engagement (and the
    member's matching repost) moves by a delay uniform in [0, hours], keyed by (actor,
    target, post).  What would land after ``observed_at`` has not happened yet: those rows
    go, and the posts' totals with them."""
    if hours <= 0:
        return tables
    shift = hours * 3600 * _US
    eng = tables.engagements
    pod = pod_engagements(tables, truth)
    at = _micros(eng.column("at")) + np.where(
        pod, np.rint(_engagement_key(tables, "pod-delay", seed) * shift), 0).astype(np.int64)
    observed = _micros(tables.profiles.column("observed_at"))
    late = at > observed[_positions(eng, tables.profiles)]
    posts = _recount(tables.posts, eng.filter(pa.array(late)), -1)
    eng = _set(eng, "at", _timestamps(at)).filter(pa.array(~late))

    rep = tables.reposts_made
    rpod = pod_reposts(tables, truth)
    rat = _micros(rep.column("at")) + np.where(
        rpod, np.rint(_repost_key(tables, "pod-delay", seed) * shift), 0).astype(np.int64)
    rlate = rat > observed[_positions(rep, tables.profiles)]
    rep = _set(rep, "at", _timestamps(rat)).filter(pa.array(~rlate))
    return replace(tables, posts=posts, engagements=_engagements(tables, eng),
                   reposts_made=_reposts(tables, rep))


def reciprocity(tables: SnapshotTables, share: float, truth: Truth, seed: int = 0
                ) -> SnapshotTables:
    """Pod members engage only a ``share`` of each other's posts: each (actor, target,
    post) of the pod is kept with that chance, on both sides, and the posts' totals lose
    what was withdrawn."""
    if share >= 1:
        return tables
    eng = tables.engagements
    drop = pod_engagements(tables, truth) & (_engagement_key(tables, "reciprocity", seed)
                                             >= share)
    posts = _recount(tables.posts, eng.filter(pa.array(drop)), -1)
    rep = tables.reposts_made
    rdrop = pod_reposts(tables, truth) & (_repost_key(tables, "reciprocity", seed) >= share)
    return replace(tables, posts=posts, engagements=eng.filter(pa.array(~drop)),
                   reposts_made=rep.filter(pa.array(~rdrop)))


def outsiders(tables: SnapshotTables, k: float, truth: Truth, seed: int = 0
              ) -> SnapshotTables:
    """Genuine-looking engagement bought from outsiders, ``k`` times the pod's volume.

    Each new row copies the post of a random pod engagement of the account
    (so each post gets outsiders in proportion to its pod engagement) and
    takes its actor, kind and delay after publication from ``truth.outsiders``
    of the account's platform (a delay that would land after observation is
    drawn uniformly over the post's age instead).  The posts' totals grow.
    """
    if k <= 0:
        return tables
    rng = np.random.default_rng(seed)
    profiles = tables.profiles
    n = profiles.num_rows
    eng = tables.engagements
    pod_rows = np.flatnonzero(pod_engagements(tables, truth))
    if len(pod_rows) == 0:
        return tables
    pos = _positions(eng, profiles)[pod_rows]
    order = np.argsort(pos, kind="stable")
    pod_rows, pos = pod_rows[order], pos[order]
    volume = np.bincount(pos, minlength=n)
    start = np.concatenate(([0], np.cumsum(volume)[:-1]))
    extra = np.rint(k * volume).astype(np.int64)
    owner = np.repeat(np.arange(n), extra)
    pick = np.minimum(np.floor(rng.random(len(owner)) * volume[owner]).astype(np.int64),
                      volume[owner] - 1)
    source = eng.take(pa.array(pod_rows[start[owner] + pick]))
    platform = profiles.column("platform").combine_chunks().take(pa.array(owner))
    drawn = truth.outsiders.take(pa.array(_draw(truth.outsiders.column("platform"), platform,
                                                rng)))
    created = _micros(_lookup_post(source, tables.posts, "created_at"))
    observed = _micros(profiles.column("observed_at"))[owner]
    at = created + _ints(drawn.column("delay_s")) * _US
    fallback = created + np.floor(rng.random(len(owner)) * np.maximum(observed - created, 0)
                                  ).astype(np.int64)
    at = np.where(at > observed, fallback, at)
    added = pa.table({
        "account_id": source.column("account_id"),
        "actor_id": drawn.column("actor_id"),
        "post_id": source.column("post_id"),
        "kind": drawn.column("kind"),
        "at": _timestamps(at),
    }, schema=eng.schema)
    return replace(tables, posts=_recount(tables.posts, added, +1),
                   engagements=_engagements(tables, pa.concat_tables([eng, added])))


# ---------------------------------------------------------------------------------------------
# Follow/unfollow churn: smoothing


def smoothing(tables: SnapshotTables, window: float, truth: Truth, seed: int = 0
              ) -> SnapshotTables:
    """The following series as its trailing mean over ``window`` days: waves of mass
    follows and unfollows spread out.  Accounts with a gap in their following series
    are left as they are; the profile's following count is the series' last point."""
    w = int(round(window))
    if w <= 1:
        return tables
    profiles = tables.profiles
    n = profiles.num_rows
    history = _sorted(tables.follower_history, profiles, _history_days(tables.follower_history))
    if history.num_rows == 0:
        return tables
    pos = _positions(history, profiles)
    starts = _segment_starts(pos)
    following = history.column("following")
    valid = pc.is_valid(following).to_numpy(zero_copy_only=False)
    whole = np.bincount(pos, weights=(~valid).astype(np.float64), minlength=n) == 0
    values = _ints(following).astype(np.float64)
    cum = _segment_cumsum(values, starts)
    within = np.arange(len(pos)) - starts
    back = np.arange(len(pos)) - w
    before = np.where(within >= w, cum[np.maximum(back, 0)], 0.0)
    mean = (cum - before) / np.minimum(within + 1, w)
    smooth = whole[pos]
    new = np.where(smooth, np.rint(mean), values).astype(np.int64)
    history = _set(history, "following", pa.array(new, pa.int64(), mask=~valid))
    last_row = np.full(n, -1)
    np.maximum.at(last_row, pos, np.arange(len(pos)))
    count = _ints(profiles.column("following_count"))
    has = (last_row >= 0) & whole
    count = np.where(has, new[np.maximum(last_row, 0)], count)
    profiles = _set(profiles, "following_count", pa.array(count))
    return replace(tables, profiles=profiles, follower_history=history)


# ---------------------------------------------------------------------------------------------
# The catalogue


Apply = Callable[[SnapshotTables, float, Truth, int], SnapshotTables]
Paid = Callable[[SnapshotTables, float, Truth], np.ndarray]


def _constant(tables: SnapshotTables, grade: float, truth: Truth) -> np.ndarray:
    return np.full(tables.num_accounts, float(grade))


def _times_bought(tables: SnapshotTables, grade: float, truth: Truth) -> np.ndarray:
    return np.rint(grade * bought_amount(tables, truth))


def _pod_volume(tables: SnapshotTables, truth: Truth) -> np.ndarray:
    pos = _positions(tables.engagements, tables.profiles)
    return np.bincount(pos[pod_engagements(tables, truth)],
                       minlength=tables.num_accounts).astype(np.float64)


@dataclass(frozen=True)
class Transform:
    """One kind of camouflage, its grades (cheapest first) and what a grade costs.

    ``cohort`` names the cheaters it is meant for (``bought_followers``,
    ``engagement_ring``, ``churn``); ``paid(tables, grade, truth)`` is what the
    grade costs each account, in ``paid_unit``; ``graph`` says the transform changes
    the engagement graph (a ring table must be found again to see it).
    """

    name: str
    cohort: str
    description: str
    grade_label: str  # how a grade reads: "{g:g}x bought", "{g:g} days", ...
    grades: tuple[float, ...]
    identity: float
    apply: Apply
    paid: Paid
    paid_unit: str
    graph: bool = False

    def label(self, grade: float) -> str:
        return self.grade_label.format(g=grade)


TRANSFORMS: tuple[Transform, ...] = (
    Transform("mix_in", "bought_followers", "real-looking followers mixed in",
              "{g:g}x bought", (0.5, 1.0, 2.0, 3.0, 5.0), 0.0, mix_in, _times_bought,
              "real-looking followers"),
    Transform("drip", "bought_followers", "bought followers dripped over D days",
              "{g:g} days", (7.0, 14.0, 30.0, 60.0), 0.0, drip, _constant, "days of delivery"),
    Transform("premium", "bought_followers", "bought followers upgraded to premium fakes",
              "{g:.0%} upgraded", (0.25, 0.5, 1.0), 0.0, premium, _times_bought,
              "premium followers"),
    Transform("pod_delay", "engagement_ring", "pod engagement delayed by up to h hours",
              "{g:g} h", (0.25, 1.0, 3.0, 6.0), 0.0, pod_delay, _constant,
              "hours of delay", graph=True),
    Transform("outsiders", "engagement_ring", "outsider engagement, k x the pod's",
              "{g:g}x pod", (0.5, 1.0, 2.0, 3.0, 5.0), 0.0, outsiders,
              lambda t, g, tr: np.rint(g * _pod_volume(t, tr)), "outsider engagements",
              graph=True),
    Transform("reciprocity", "engagement_ring", "pod engages a share of each other's posts",
              "{g:.0%} kept", (0.7, 0.5, 0.3), 1.0, reciprocity,
              lambda t, g, tr: np.rint((1 - g) * _pod_volume(t, tr)), "pod engagements forgone",
              graph=True),
    Transform("smoothing", "churn", "following series smoothed over w days",
              "{g:g} days", (3.0, 7.0, 14.0), 0.0, smoothing, _constant, "days of smoothing"),
)
TRANSFORMS_BY_NAME: dict[str, Transform] = {t.name: t for t in TRANSFORMS}
