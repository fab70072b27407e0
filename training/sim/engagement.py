"""Who engaged with which post and when, and the reposts each account made.

Two sources of engagement:

- the audience: people with stable ids drawn from the account's own pool
  (heavy engagers first, so the same fans return), a platform-wide pool
  shared by all accounts, and, around a viral post, the viral crowd.  Counts
  per post are Poisson around followers x engagement rate; post totals keep
  the full count while the rows are a sample capped per post.  Delays are
  log-normal (fitted to real retweet timings), truncated at observation.
- world accounts (``sim.pairs.Pairs``): ring members in rounds that start
  seconds to hours after publication (``TacticRanges.pod_delay_seconds``),
  members close to each other within a round; communities, fans and camouflage with
  human delays of hours.  The same keyed draw decides each (pair, post) from
  the author's side (an engagement row) and from the engager's side (a
  ``reposts_made`` row), so both tables agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy import special

from trueclout.training.sim import randomness as rnd
from trueclout.training.sim import text as txt
from trueclout.training.sim.followers import real_person_key, viral_person_key
from trueclout.training.sim.pairs import COMMUNITY_TIE, RING
from trueclout.training.sim.params import DELAY_LOG_MEAN, DELAY_LOG_SD_WITHIN, TIKTOK, TWITTER
from trueclout.training.sim.plan import Plan
from trueclout.training.sim.posts import PostSchedule, post_ids, post_schedule

# Engagement kinds in contract.ENGAGEMENT_KINDS order: repost, like, reply, quote.
REPOST, LIKE, REPLY, QUOTE = range(4)
AUDIENCE_MIX = np.array([[0.15, 0.75, 0.07, 0.03], [0, 0.9, 0.1, 0], [0.07, 0.85, 0.08, 0],
                         [0, 0.9, 0.1, 0]])
RING_MIX = np.array([[0.4, 0.5, 0.1, 0], [0, 0.6, 0.4, 0], [0.25, 0.6, 0.15, 0], [0, 0.7, 0.3, 0]])
COMMUNITY_MIX = np.array([[0.2, 0.55, 0.2, 0.05], [0, 0.75, 0.25, 0], [0.15, 0.7, 0.15, 0],
                          [0, 0.8, 0.2, 0]])
GLOBAL_POOL = 2_000_000  # active users per platform who engage across accounts
GLOBAL_SHARE = 0.1
VIRAL_CROWD_SHARE = 0.8  # of the viral post's engagers
AFTERGLOW_CROWD_SHARE = 0.4
# Audience rows per account at most, leaving room for world rows under the
# contract's 100,000 engagements per snapshot whatever engagement_scale asks.
AUDIENCE_ROWS_LIMIT = 75_000
SPIKE_ENGAGEMENT = 1.0  # engagements on a spike post per follower it brought
COMMUNITY_DELAY = (9.0, 1.3)  # log-seconds: about two and a half hours, spread over a day
EXTERNAL_REPOSTS_PER_POST = 0.4


@dataclass(frozen=True)
class Engagements:
    """Engagement rows of a chunk (grouped by account, chronological) and post totals."""

    account: np.ndarray  # global index of the post's author
    post_row: np.ndarray  # row in the chunk's PostSchedule
    actor_id: pa.Array
    kind: np.ndarray
    at: np.ndarray
    totals: np.ndarray  # per post: repost, like, reply, quote


def _delay_cdf(age: np.ndarray, mu: np.ndarray) -> np.ndarray:
    return special.ndtr((np.log(np.maximum(age, 1.0)) - mu) / DELAY_LOG_SD_WITHIN)


def chunk_engagements(plan: Plan, sched: PostSchedule, real_now: np.ndarray, start: int
                      ) -> Engagements:
    """Engagements on the posts of accounts ``start ..`` (``sched`` holds their posts)."""
    audience = _audience(plan, sched, real_now, start)
    world = pair_edges(plan, plan.pairs.for_targets(start, start + len(sched.first)), sched)
    totals = audience["totals"]
    np.add.at(totals, (world["post_row"], world["kind"]), 1)
    post_row = np.concatenate([audience["post_row"], world["post_row"]])
    at = np.concatenate([audience["at"], world["at"]])
    kind = np.concatenate([audience["kind"], world["kind"]])
    owner = sched.owner[post_row]
    order = _by_account_then_time(owner - start, at)
    actor_ids = pa.concat_arrays([
        txt.person_ids(rnd.bits(audience["person"], "id"), plan.platform[sched.owner[
            audience["post_row"]]]),
        plan.account_id.take(pa.array(world["actor"], pa.int64())),
    ]).take(pa.array(order))
    return Engagements(account=owner[order], post_row=post_row[order], actor_id=actor_ids,
                       kind=kind[order].astype(np.int8), at=at[order], totals=totals)


def _by_account_then_time(account: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Row order grouped by (chunk-local) account, chronological; ties keep generation order."""
    if len(at) == 0:
        return np.zeros(0, dtype=np.int64)
    combined = (account.astype(np.int64) << 40) | (at - at.min())
    return np.argsort(combined, kind="stable")


def _sampled_rows(plan: Plan, sched: PostSchedule, totals: np.ndarray, pk: np.ndarray
                  ) -> np.ndarray:
    """Rows kept per post and kind (never more than the total of that kind).

    One sampling rate per account, so the rows keep the shape of the totals (a
    viral post stays the peak), within a budget of ``max_engagements_per_post``
    rows per post on average, times ``engagement_scale``.
    """
    n = len(sched.accounts)
    pos = np.repeat(np.arange(n), sched.count)
    account_total = np.bincount(pos, weights=totals.sum(axis=1), minlength=n)
    budget = plan.params.max_engagements_per_post * sched.count
    rate = np.minimum(1.0, budget / np.maximum(account_total, 1)) * plan.params.engagement_scale
    rate = np.minimum(rate, AUDIENCE_ROWS_LIMIT / np.maximum(account_total, 1))
    u = rnd.uniform(rnd.key(pk[:, None], np.arange(totals.shape[1])), "sample-round")
    kept = np.floor(totals * rate[pos, None] + u)
    return np.minimum(kept, totals).astype(np.int64)


def _audience(plan: Plan, sched: PostSchedule, real_now: np.ndarray, start: int) -> dict:
    owner = sched.owner
    pk = sched.key(plan)
    platform = plan.platform[owner]
    age = plan.observed_at - sched.created
    # A cascade is fast: a spike post's engagement arrives within hours at most.
    mu = np.where(sched.viral, np.minimum(plan.delay_mu[owner], DELAY_LOG_MEAN),
                  plan.delay_mu[owner])
    seen = _delay_cdf(age, mu)
    mult = np.where(sched.viral, 1.0, rnd.lognormal(pk, "post-mult", 1.0, 0.8)) * sched.boost
    expected = real_now[owner - start] * plan.eng_rate[owner] * mult
    # The new followers of a spike came through that post: many engaged with it.
    expected = (expected + np.where(sched.viral, plan.viral_size[owner] * SPIKE_ENGAGEMENT, 0.0)
                ) * seen
    totals = rnd.poisson(rnd.key(pk[:, None], np.arange(4)), "total",
                         expected[:, None] * AUDIENCE_MIX[platform]).astype(np.int64)
    rows = _sampled_rows(plan, sched, totals, pk).ravel()  # (post, kind) cells

    cell = np.repeat(np.arange(len(rows)), rows)
    post_row, kind = cell // 4, cell % 4
    r = np.arange(len(cell)) - np.repeat(np.cumsum(rows) - rows, rows)
    ek = rnd.key(pk[post_row], "engagement", kind, r)
    a = owner[post_row]

    crowd_share = np.where(sched.viral, VIRAL_CROWD_SHARE,
                           np.where(sched.boost > 1.0, AFTERGLOW_CROWD_SHARE, 0.0))[post_row]
    u = rnd.uniform(ek, "source")
    source = np.select([u < crowd_share, u < crowd_share + GLOBAL_SHARE * (1 - crowd_share)],
                       [0, 1], 2)
    person = np.empty(len(ek), dtype=np.uint64)
    crowd, pool, fans = source == 0, source == 1, source == 2
    person[crowd] = viral_person_key(plan, a[crowd], rnd.integers(
        ek[crowd], "crowd", np.maximum(plan.viral_size[a[crowd]], 1).astype(np.int64)))
    global_j = np.floor(GLOBAL_POOL * rnd.uniform(ek[pool], "global") ** 3).astype(np.int64)
    person[pool] = rnd.key(plan.seed, "global", plan.platform[a[pool]], global_j)
    local_j = np.floor(plan.pool[a[fans]] * rnd.uniform(ek[fans], "fan")
                       ** plan.pool_skew[a[fans]]).astype(np.int64)
    person[fans] = real_person_key(plan, a[fans], local_j)
    # Delay given that the engagement happened before observation.
    q = rnd.uniform(ek, "delay") * seen[post_row]
    delay = np.exp(mu[post_row] + DELAY_LOG_SD_WITHIN * special.ndtri(np.clip(q, 1e-300, 1)))
    at = sched.created[post_row] + np.clip(np.rint(delay), 1, age[post_row]).astype(np.int64)

    # A person likes (or reposts) a post at most once: keep the first draw.
    same = rnd.key(person, post_row, kind)
    order = np.argsort(same, kind="stable")
    dup = np.zeros(len(order), bool)
    dup[1:] = same[order][1:] == same[order][:-1]
    keep = np.sort(order[~dup])
    return {"post_row": post_row[keep], "person": person[keep], "kind": kind[keep],
            "at": at[keep], "totals": totals}


def pair_edges(plan: Plan, pair_ids: np.ndarray, sched: PostSchedule) -> dict[str, np.ndarray]:
    """Engagements along world pairs on the posts in ``sched``.

    ``sched`` must have been requested for a sorted list of accounts holding
    every target of ``pair_ids``.
    """
    pairs = plan.pairs
    actor, target = pairs.actor[pair_ids], pairs.target[pair_ids]
    slot = np.searchsorted(sched.accounts, target)
    n_posts = sched.count[slot]
    pair_row = np.repeat(np.arange(len(pair_ids)), n_posts)
    within = np.arange(len(pair_row)) - np.repeat(np.cumsum(n_posts) - n_posts, n_posts)
    post_row = sched.first[slot][pair_row] + within
    actor, target = actor[pair_row], target[pair_row]
    cls = pairs.cls[pair_ids][pair_row]
    ek = rnd.key(plan.key[target], plan.key[actor], sched.ordinal[post_row])
    keep = rnd.uniform(ek, "engages") < pairs.rate[pair_ids][pair_row]
    actor, target, cls, ek, post_row = (actor[keep], target[keep], cls[keep], ek[keep],
                                        post_row[keep])

    platform = plan.platform[target]
    post_key = rnd.key(plan.key[target], "burst", sched.ordinal[post_row])
    ring_of = np.maximum(plan.ring[target], 0)
    burst = plan.ring_speed[ring_of] * rnd.lognormal(post_key, "start", 1.0, 0.5) if len(
        plan.ring_speed) else np.zeros(len(target))
    jitter = plan.ring_jitter[ring_of] if len(plan.ring_jitter) else np.zeros(len(target))
    window = plan.ring_window[ring_of] if len(plan.ring_window) else np.zeros(len(target))
    ring_delay = np.where(window > 0, 2.0 + window * rnd.uniform(ek, "window-moment"),
                          2.0 + burst * rnd.lognormal(ek, "jitter", 1.0, jitter))
    community_delay = rnd.lognormal(ek, "community-delay", np.exp(COMMUNITY_DELAY[0]),
                                    COMMUNITY_DELAY[1])
    human_delay = rnd.lognormal(ek, "human-delay", np.exp(plan.delay_mu[target]),
                                DELAY_LOG_SD_WITHIN)
    delay = np.select([cls == RING, cls == COMMUNITY_TIE], [ring_delay, community_delay],
                      human_delay)
    mix = np.where((cls == RING)[:, None], RING_MIX[platform],
                   np.where((cls == COMMUNITY_TIE)[:, None], COMMUNITY_MIX[platform],
                            AUDIENCE_MIX[platform]))
    kind = rnd.choice_rows(ek, "kind", mix)
    at = sched.created[post_row] + np.rint(delay).astype(np.int64)
    ok = at <= plan.observed_at
    return {"actor": actor[ok], "target": target[ok], "post_row": post_row[ok],
            "kind": kind[ok].astype(np.int8), "at": at[ok], "cls": cls[ok]}


@dataclass(frozen=True)
class RepostsMade:
    account: np.ndarray
    target_id: pa.Array
    post_id: pa.Array
    at: np.ndarray


def chunk_reposts(plan: Plan, start: int, stop: int) -> RepostsMade:
    """Reposts made by accounts ``start .. stop``: of world accounts' posts and of outsiders."""
    pid = plan.pairs.for_actors(start, stop)
    targets = np.unique(plan.pairs.target[pid])
    sched = post_schedule(plan, targets)
    edges = pair_edges(plan, pid, sched)
    is_repost = edges["kind"] == REPOST
    w_actor, w_target = edges["actor"][is_repost], edges["target"][is_repost]
    w_row, w_at = edges["post_row"][is_repost], edges["at"][is_repost]

    idx = np.arange(start, stop)
    reposting = (plan.platform[idx] == TWITTER) | (plan.platform[idx] == TIKTOK)
    k = plan.key[idx]
    n_ext = np.where(reposting, rnd.poisson(k, "external-reposts",
                                            plan.n_posts[idx] * EXTERNAL_REPOSTS_PER_POST), 0)
    e_acc = np.repeat(idx, n_ext)
    e_slot = np.arange(len(e_acc)) - np.repeat(np.cumsum(n_ext) - n_ext, n_ext)
    ek = rnd.key(plan.key[e_acc], "external-repost", e_slot)
    target_key = rnd.key(plan.seed, "global", plan.platform[e_acc],
                         np.floor(GLOBAL_POOL * rnd.uniform(ek, "target") ** 3).astype(np.int64))
    e_target = txt.person_ids(rnd.bits(target_key, "id"), plan.platform[e_acc])
    e_post = txt.where(rnd.chance(ek, "has-post", 0.7),
                       txt.join(e_target, ":p", txt.number_text(rnd.integers(ek, "post", 500))),
                       None)
    lo = plan.posts_from[e_acc].astype(np.float64)
    e_at = (lo + (plan.observed_at - lo) * rnd.uniform(ek, "at")).astype(np.int64)

    account = np.concatenate([w_actor, e_acc])
    at = np.concatenate([w_at, e_at])
    target_id = pa.concat_arrays([plan.account_id.take(pa.array(w_target, pa.int64())),
                                  e_target])
    post_id = pa.concat_arrays([post_ids(plan, sched.owner[w_row], sched.ordinal[w_row]),
                                e_post])
    order = np.lexsort((np.arange(len(at)), at, account))
    take = pa.array(order)
    return RepostsMade(account=account[order], target_id=target_id.take(take),
                       post_id=post_id.take(take), at=at[order])

