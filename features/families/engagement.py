"""Engagement family: ring and pod patterns visible in a single snapshot.

An engagement pod shows as the same few accounts on every post
(concentration, overlap), arriving within seconds of publication and of each
other (synchrony), often reposting each other (reciprocity) and reposting
far more than liking.  A genuine community also returns on every post, but
over hours, not in one two-minute window: overlap and synchrony are
separate features so models can tell them apart.

A pod that waits before engaging is still a round: its members are called
to each post together (the pod's chat or app posts the link) and engage
within the round, so on one post they arrive close to *each other* however
late the round starts.  People who return to every post of an account each
come on their own time, minutes to days apart (per-person delays spread
over about two orders of magnitude in real retweet timings, data/README.md).
``engagement_core_round_spread`` measures that spread among the regular
engagers (on half the posts or more), on a log scale, so it reads the same
for a round at ten seconds and a round at three hours.

Accounts and actors are grouped with packed integer keys and sorts
(``features.grouping``), never with a loop or a pandas group-by.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.frame import FamilyResult
from trueclout.features.kernels.actors import ActorPosts, group_actor_posts
from trueclout.features.kernels.columns import SnapshotColumns
from trueclout.features.kernels.grouping import isin_sorted, unique_counts
from trueclout.features.kernels.segments import Segments, run_sums

TOP_ACTOR_FRACTION = 0.10
MIN_POSTS_OVERLAP = 3
CORE_COVERAGE = 0.8
FAST_SECONDS = 120
SYNC_WINDOW_SECONDS = 120
MIN_POST_ENGAGEMENTS = 5
MIN_SPREAD_ENGAGEMENTS = 10
# A post says something about a round when this many regular engagers engaged it,
# and an account when this many of its posts do.
MIN_ROUND_ENGAGEMENTS = 3
MIN_ROUND_POSTS = 3
# Regular engagers: on at least this share of the engaged posts (pods let members
# skip posts, so fewer than the core's).
ROUND_COVERAGE = 0.5
MAD_TO_SD = 1.4826
_LOW32 = np.int64(0xFFFFFFFF)
_SHIFT32 = np.int64(32)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _concentration(actors: ActorPosts, n_actors: np.ndarray,
                   total: np.ndarray) -> dict[str, np.ndarray]:
    """Top-actor share, Herfindahl index and Gini of engagement counts per actor.

    ``n_actors`` and ``total`` are each account's actors and engagements.  The
    sums are of whole numbers, exact in any order, so they run over each
    account's consecutive actors.
    """
    counts = actors.engagements
    hhi = _ratio(run_sums(counts * counts, n_actors).astype(np.float64), total**2)
    # Counts sorted ascending within each account, by one integer sort.
    c = np.sort((actors.account << _SHIFT32) | counts) & _LOW32
    start = np.cumsum(n_actors) - n_actors
    m = np.repeat(n_actors, n_actors)
    rank = np.arange(len(c)) - np.repeat(start, n_actors)  # 0 = least active
    top_k = np.ceil(TOP_ACTOR_FRACTION * n_actors).astype(np.int64)
    top = run_sums(np.where(rank >= m - np.repeat(top_k, n_actors), c, 0), n_actors)
    gini_num = run_sums((2 * (rank + 1) - m - 1) * c, n_actors)
    return {
        "top_share": _ratio(top.astype(np.float64), total),
        "hhi": hhi,
        "gini": _ratio(gini_num.astype(np.float64), n_actors * total),
        "actors": n_actors.astype(np.float64),
        "top_actors": top_k.astype(np.float64),
    }


def _overlap(cols: SnapshotColumns, actors: ActorPosts, n_actors: np.ndarray,
             total: np.ndarray) -> dict[str, np.ndarray]:
    """How often the same actors return across the account's engaged posts (``n_actors``,
    ``total``: each account's actors and engagements)."""
    n = cols.n
    engaged_posts = cols.segments("posts").count(cols.sampled_per_post > 0)
    coverage = _ratio(actors.posts, engaged_posts[actors.account])
    weighted = np.bincount(actors.account, weights=actors.engagements * np.nan_to_num(coverage),
                           minlength=n)
    core = coverage >= CORE_COVERAGE
    core_counts = run_sums(np.where(core, actors.engagements, 0), n_actors).astype(np.float64)
    core_actors = run_sums(core, n_actors).astype(np.float64)
    enough = engaged_posts >= MIN_POSTS_OVERLAP
    return {
        "overlap": np.where(enough, _ratio(weighted, total), np.nan),
        "core_share": np.where(enough, _ratio(core_counts, total), np.nan),
        "core_actors": np.where(enough, core_actors, np.nan),
        "posts": engaged_posts,
        "core_actor": core & enough[actors.account],  # per actor
        "regular_actor": ((coverage >= ROUND_COVERAGE) & (actors.posts >= MIN_POSTS_OVERLAP)
                          & enough[actors.account]),  # per actor
    }


def _delay_quartiles(eng: Segments, seconds: np.ndarray,
                     timed_count: np.ndarray) -> list[np.ndarray]:
    """First, second and third quartile of delays per account, in whole seconds (one
    integer sort); NaN below ``MIN_SPREAD_ENGAGEMENTS`` timed engagements for the outer two.

    ``eng`` holds the timed engagements, ``seconds`` their delays."""
    q1, q2, q3 = eng.int_quantiles(seconds, (0.25, 0.5, 0.75))
    enough = timed_count >= MIN_SPREAD_ENGAGEMENTS
    return [np.where(enough, q1, np.nan), q2, np.where(enough, q3, np.nan)]


def _synchrony(cols: SnapshotColumns, post_row: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Engagement-weighted share of each post's engagements in its busiest window
    (``post_row`` and ``seconds``: post and delay of each timed engagement)."""
    n = cols.n
    keys = np.sort((post_row << _SHIFT32) | seconds)
    out = np.full(n, np.nan)
    if len(keys) == 0:
        return out
    in_window = _window_counts(keys, SYNC_WINDOW_SECONDS)
    post = keys >> _SHIFT32
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(post[1:], post[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    busiest = np.maximum.reduceat(in_window, starts)
    size = np.diff(np.append(starts, len(keys)))
    account = cols.segments("posts").ids[post[starts]]
    ok = size >= MIN_POST_ENGAGEMENTS
    inside = np.bincount(account[ok], weights=busiest[ok], minlength=n)
    total = np.bincount(account[ok], weights=size[ok], minlength=n)
    return _ratio(inside, total)


def _window_counts(keys: np.ndarray, width: int, block: int = 4_096) -> np.ndarray:
    """For sorted ``keys``, how many keys lie in ``[key, key + width]`` from each one on.

    The answer for a block of keys lies just after the block, so each block
    is searched in that short stretch (cache-resident) rather than in all keys.
    """
    out = np.empty(len(keys), dtype=np.int64)
    for a in range(0, len(keys), block):
        b = min(a + block, len(keys))
        end = b + int(np.searchsorted(keys[b:], keys[b - 1] + width, side="right"))
        out[a:b] = np.searchsorted(keys[a:end], keys[a:b] + width, side="right")
    out -= np.arange(len(keys)) % block
    return out


def _round_spread(cols: SnapshotColumns, actors: ActorPosts, actor_row: np.ndarray,
                  regular: np.ndarray, post_row: np.ndarray, delay: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Mean over posts of the robust spread of log10 delays among the regular actors.

    ``actor_row``, ``post_row`` and ``delay`` are per engagement (-1 / NaN where
    unknown); ``regular`` marks the actors on many posts (``_overlap``).
    """
    n = cols.n
    nan = np.full(n, np.nan)
    if actors.n == 0 or not regular.any():
        return {"spread": nan, "posts": np.zeros(n), "actors": np.zeros(n)}
    is_regular = (actor_row >= 0) & regular[actor_row]
    use = is_regular & (post_row >= 0) & ~np.isnan(delay)
    row = post_row[use]
    log_delay = np.log10(1.0 + delay[use])
    n_posts = len(cols.post_created)
    # Robust spread per post (scaled median absolute deviation): a few fans among
    # the regulars of a pod's posts do not hide the round.
    per_post = Segments(row, n_posts)
    middle = per_post.median(log_delay)
    spread_of_post = MAD_TO_SD * per_post.median(np.abs(log_delay - middle[row]))
    ok = per_post.count() >= MIN_ROUND_ENGAGEMENTS
    posts = cols.segments("posts")
    rounds = posts.count(ok)
    spread = posts.sum(np.where(ok, spread_of_post, 0.0))
    return {"spread": np.where(rounds >= MIN_ROUND_POSTS, _ratio(spread, rounds), np.nan),
            "posts": rounds.astype(np.float64),
            "actors": np.bincount(actors.account, weights=regular, minlength=n)}


def _reciprocity(cols: SnapshotColumns, actors: ActorPosts, n_actors: np.ndarray,
                 engagements: np.ndarray) -> dict[str, np.ndarray]:
    """Overlap between who engages with the account and whom the account reposts."""
    n = cols.n
    made = cols.segments("reposts_made")
    made_count = made.count()
    if len(made) == 0:
        nan = np.full(n, np.nan)
        return {"reciprocity": nan, "reciprocal_share": nan.copy(), "made": made_count,
                "reposted_actor": np.zeros(actors.n, dtype=bool)}
    made_keys = actors.actor_key(made.ids, cols.actor_and_target_codes[1])
    targets, _ = unique_counts(made_keys)
    # Actor keys are sorted and distinct: look the (fewer) targets up among them.
    at = np.searchsorted(actors.key, targets)
    found = at < actors.n
    found[found] = actors.key[at[found]] == targets[found]
    reposted_actor = np.zeros(actors.n, dtype=bool)
    reposted_actor[at[found]] = True
    from_reposted = run_sums(np.where(reposted_actor, actors.engagements, 0), n_actors)
    to_engager = isin_sorted(made_keys, actors.key).astype(np.float64)
    has_made = made_count > 0
    return {
        "reciprocity": np.where(has_made, _ratio(from_reposted.astype(np.float64), engagements),
                                np.nan),
        "reciprocal_share": np.where(has_made, made.mean(to_engager), np.nan),
        "made": made_count,
        "reposted_actor": reposted_actor,  # per actor
    }


def _ring_like_share(eng: Segments, actor_row: np.ndarray, delay: np.ndarray,
                     engagements: np.ndarray, over: dict[str, np.ndarray],
                     recip: dict[str, np.ndarray]) -> np.ndarray:
    """Share of sampled engagement that the snapshot's own ring evidence points at.

    An engagement counts when its actor is in the core (on at least
    ``CORE_COVERAGE`` of the engaged posts, known from ``MIN_POSTS_OVERLAP``
    engaged posts) or is an account the account reposts (repost for repost), or
    when it arrived within ``FAST_SECONDS`` of publication (synchrony).  A
    union, each engagement counted once, so a pod (the same accounts within
    seconds on every post) added to any snapshot never lowers it.  ``actor_row``
    and ``delay`` are each engagement's actor row (-1: none) and delay in
    seconds (NaN: post unknown).  NaN without engagements.
    """
    ring_actor = over["core_actor"] | recip["reposted_actor"]
    fast = np.nan_to_num(delay, nan=np.inf) <= FAST_SECONDS
    if ring_actor.any():
        fast |= (actor_row >= 0) & ring_actor[actor_row]
    return _ratio(eng.count(fast), engagements)


def _repost_like(cols: SnapshotColumns, eng: Segments,
                 n_engagements: np.ndarray) -> dict[str, np.ndarray]:
    """Reposts and likes from the platform's post totals, else from sampled engagements."""
    posts = cols.segments("posts")
    reposts = cols.number("posts", "reposts_count")
    likes = cols.number("posts", "likes_count")
    both = ~np.isnan(reposts) & ~np.isnan(likes)
    reported = posts.count(both) > 0
    r = posts.sum(np.where(both, reposts, np.nan))
    lk = posts.sum(np.where(both, likes, np.nan))
    if not reported.all():  # count the sample's kinds only where some account needs them
        r = np.where(reported, r, eng.count(cols.kind_is("engagements", "repost")))
        lk = np.where(reported, lk, eng.count(cols.kind_is("engagements", "like")))
    known = reported | (n_engagements > 0)
    r, lk = np.where(known, r, np.nan), np.where(known, lk, np.nan)
    return {"ratio": np.log10((1 + r) / (1 + lk)), "reposts": r, "likes": lk}


def compute_engagement(cols: SnapshotColumns) -> FamilyResult:
    n = cols.n
    eng = cols.segments("engagements")
    n_engagements = eng.count()
    post_row = cols.engagement_post
    valid = post_row >= 0
    delay = np.full(len(eng), np.nan)
    delay[valid] = np.clip(cols.engagement_at[valid] - cols.post_created[post_row[valid]], 0,
                           None)
    timed = ~np.isnan(delay)

    post_local = (np.where(valid, cols.post_local[np.maximum(post_row, 0)], -1)
                  if len(cols.post_local) else np.full(len(eng), -1))
    most_posts = int(cols.segments("posts").count().max()) if n else 0
    actors = group_actor_posts(eng.ids, n, cols.actor_and_target_codes[0], post_local,
                               most_posts)
    n_actors = np.bincount(actors.account, minlength=n)
    conc = _concentration(actors, n_actors, n_engagements)
    over = _overlap(cols, actors, n_actors, n_engagements)
    recip = _reciprocity(cols, actors, n_actors, n_engagements)
    rl = _repost_like(cols, eng, n_engagements)
    # Each engagement's actor, looked up once for every per-engagement signal below.
    actor_row = actors.rows_of(eng.ids, cols.actor_and_target_codes[0])
    rounds = _round_spread(cols, actors, actor_row, over["regular_actor"], post_row, delay)
    # Delays in whole seconds, of the engagements whose post is known.
    all_timed = bool(timed.all())
    seconds = np.clip(np.floor(delay if all_timed else delay[timed]), 0,
                      2**32 - 1).astype(np.int64)
    timed_eng = eng if all_timed else eng.subset(timed)
    timed_delay = delay if all_timed else delay[timed]
    timed_count = timed_eng.count()
    q1, median_delay, q3 = _delay_quartiles(timed_eng, seconds, timed_count)
    spread = np.log10(1 + q3) - np.log10(1 + q1)
    features = {
        "engagement_top_actor_share": conc["top_share"],
        "engagement_actor_hhi": conc["hhi"],
        "engagement_actor_gini": conc["gini"],
        "engagement_overlap": over["overlap"],
        "engagement_core_share": over["core_share"],
        "engagement_fast_share": _ratio(timed_eng.count(timed_delay <= FAST_SECONDS),
                                        timed_count),
        "engagement_synchrony": _synchrony(cols, post_row if all_timed else post_row[timed],
                                           seconds),
        "engagement_median_delay": np.log10(1 + median_delay),
        "engagement_delay_spread": spread,
        "engagement_core_round_spread": rounds["spread"],
        "engagement_reciprocity": recip["reciprocity"],
        "engagement_reciprocal_repost_share": recip["reciprocal_share"],
        "engagement_repost_like_ratio": rl["ratio"],
    }
    context = {
        "engagement_count": n_engagements,
        "engagement_posts": over["posts"],
        "engagement_actors": conc["actors"],
        "engagement_top_actors": conc["top_actors"],
        "engagement_effective_actors": _ratio(np.ones(n), conc["hhi"]),
        "engagement_core_actors": over["core_actors"],
        "engagement_median_delay_seconds": median_delay,
        "engagement_delay_spread_factor": 10**spread,
        "engagement_core_round_factor": 10 ** rounds["spread"],
        "engagement_round_posts": rounds["posts"],
        "engagement_regular_actors": rounds["actors"],
        "engagement_reposts": rl["reposts"],
        "engagement_likes": rl["likes"],
        "reposts_made_count": recip["made"],
        # What the adjusted score's ring discount rests on (service/scoring/adjustment.py).
        "engagement_ring_like_share": _ring_like_share(eng, actor_row, delay, n_engagements,
                                                       over, recip),
    }
    return FamilyResult(features, context, n_engagements)
