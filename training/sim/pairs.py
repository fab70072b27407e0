"""The world's engagement graph: which accounts of the world engage which others' posts.

Four relations, all between accounts of the world and on one platform:

- ``ring``: every ordered pair of members of a ring / pod (fast, in bursts);
- ``community``: every ordered pair of members of a genuine community
  (human pace: the hard negative for ring detectors);
- ``camouflage``: each ring member engages a few popular genuine accounts
  (``TacticRanges.pod_outsiders``);
- ``fan``: 30% of established accounts engage 1-3 popular accounts.

A relation is kept per (pair, post) with its ``rate``; ``sim.engagement``
draws that decision identically from both ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trueclout.training.sim import randomness as rnd
from trueclout.training.sim.params import (
    CELEBRITY,
    NEW_THIN,
    NO_MARKET,
    PLATFORMS,
    VIRAL,
    TacticRanges,
)

# Pair classes of the world engagement graph.
RING, COMMUNITY_TIE, CAMOUFLAGE, FAN = range(4)
PAIR_CLASSES = ("ring", "community", "camouflage", "fan")
# Probability that a member engages one post of the other (drawn per ring,
# community or pair from these ranges; rings from ``TacticRanges.pod_participation``).
COMMUNITY_RATE = (0.25, 0.6)
CAMOUFLAGE_RATE = (0.1, 0.4)
FAN_RATE = (0.03, 0.15)
FAN_SHARE = 0.3  # of established accounts are fans of 1-3 popular ones
POPULAR_FOLLOWERS = 2e4  # a genuine account this big (or viral, or a celebrity) is popular


@dataclass(frozen=True)
class Pairs:
    """Directed "actor engages target's posts" relations between world accounts.

    Sorted by (target, actor); ``by_actor`` is the permutation sorted by actor.
    Each (pair, post) is kept with probability ``rate``.
    """

    actor: np.ndarray
    target: np.ndarray
    cls: np.ndarray
    rate: np.ndarray
    by_actor: np.ndarray

    def for_targets(self, start: int, stop: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.target, [start, stop])
        return np.arange(lo, hi)

    def for_actors(self, start: int, stop: int) -> np.ndarray:
        sorted_actor = self.actor[self.by_actor]
        lo, hi = np.searchsorted(sorted_actor, [start, stop])
        return self.by_actor[lo:hi]


def world_pairs(seed: int, k: np.ndarray, platform: np.ndarray, base: np.ndarray,
                purchase: np.ndarray, ring: np.ndarray, community: np.ndarray,
                churn: np.ndarray, followers: np.ndarray, n_posts: np.ndarray,
                tactics: TacticRanges) -> Pairs:
    """Who engages whom among world accounts: rings, communities, camouflage and fans."""
    parts = [
        _group_pairs(ring, RING, rnd.between(rnd.key(seed, "ring-rate", np.arange(
            max(int(ring.max()) + 1, 1))), "r", *tactics.pod_participation)),
        _group_pairs(community, COMMUNITY_TIE, rnd.between(rnd.key(seed, "community-rate",
                     np.arange(max(int(community.max()) + 1, 1))), "r", *COMMUNITY_RATE)),
    ]
    genuine = (purchase == NO_MARKET) & (ring < 0) & ~churn
    big = (base == CELEBRITY) | (base == VIRAL) | (followers > POPULAR_FOLLOWERS)
    popular = genuine & big & (n_posts > 0)
    members = np.flatnonzero(ring >= 0)
    low, high = tactics.pod_outsiders
    outsiders = np.rint(rnd.between(k[members], "camo-n", low, high)).astype(np.int64)
    parts.append(_pick_popular(k, members, outsiders, popular,
                               platform, CAMOUFLAGE, "camo", *CAMOUFLAGE_RATE))
    fans = np.flatnonzero((base != NEW_THIN) & rnd.chance(k, "fan", FAN_SHARE))
    parts.append(_pick_popular(k, fans, 1 + rnd.integers(k[fans], "fan-n", 3), popular,
                               platform, FAN, "fan", *FAN_RATE))
    actor = np.concatenate([p[0] for p in parts])
    target = np.concatenate([p[1] for p in parts])
    cls = np.concatenate([p[2] for p in parts])
    rate = np.concatenate([p[3] for p in parts])
    keep = actor != target
    actor, target, cls, rate = actor[keep], target[keep], cls[keep], rate[keep]
    # One relation per ordered pair: the strongest class (lowest code) wins.
    order = np.lexsort((cls, actor, target))
    actor, target, cls, rate = actor[order], target[order], cls[order], rate[order]
    first = np.ones(len(actor), dtype=bool)
    first[1:] = (actor[1:] != actor[:-1]) | (target[1:] != target[:-1])
    actor, target, cls, rate = actor[first], target[first], cls[first], rate[first]
    return Pairs(actor=actor, target=target, cls=cls.astype(np.int8), rate=rate,
                 by_actor=np.argsort(actor, kind="stable"))


def _group_pairs(group: np.ndarray, cls: int, group_rate: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered pair of distinct members of the same group."""
    members = np.flatnonzero(group >= 0)
    if len(members) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    members = members[np.argsort(group[members], kind="stable")]
    g = group[members]
    size = np.bincount(g)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    pos = np.arange(len(members)) - start[g]
    reps = size[g] - 1
    target_pos = np.repeat(np.arange(len(members)), reps)
    r = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    tg = g[target_pos]
    actor_pos = start[tg] + (pos[target_pos] + 1 + r) % size[tg]
    return (members[actor_pos], members[target_pos], np.full(len(r), cls),
            group_rate[tg])


def _pick_popular(k: np.ndarray, choosers: np.ndarray, n_picks: np.ndarray,
                  popular: np.ndarray, platform: np.ndarray, cls: int, what: str,
                  rate_lo: float, rate_hi: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each chooser engages a few popular accounts of its own platform."""
    pop = np.flatnonzero(popular)
    pop = pop[np.argsort(platform[pop], kind="stable")]
    count = np.bincount(platform[pop], minlength=len(PLATFORMS))
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    actor = np.repeat(choosers, n_picks)
    slot = np.arange(len(actor)) - np.repeat(np.cumsum(n_picks) - n_picks, n_picks)
    pk = rnd.key(k[actor], what, slot)
    p = platform[actor]
    has = count[p] > 0
    actor, pk, p, slot = actor[has], pk[has], p[has], slot[has]
    target = pop[start[p] + rnd.integers(pk, "pick", count[p])] if len(pop) else actor
    rate = rnd.between(pk, "rate", rate_lo, rate_hi)
    return actor, target, np.full(len(actor), cls), rate
