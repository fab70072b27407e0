"""Each account's recent posts: a pure function of the plan, computable for any accounts.

Rings need the posts of accounts in other chunks (a member reposts another
member's post), so the schedule of an account never depends on which chunk
asks for it.  Posts fall on the account's active period at human hours (a
circadian profile shifted by a per-account time zone); a viral account has
one extra post on its viral day whose engagement, and that of the posts in
the next days, is multiplied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trueclout.training.sim import randomness as rnd
from trueclout.training.sim import text as txt
from trueclout.training.sim.params import TWITTER
from trueclout.training.sim.plan import DAY, Plan

# Share of posts by hour of day (local time): quiet at night, peaks at lunch and evening.
CIRCADIAN = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 4,
                      4.5, 4, 3.5, 3.5, 4, 4.5, 5, 5.5, 5.5, 5, 3.5, 2])
# Own-post kinds on Twitter/X (order of contract.POST_KINDS); other platforms post originals.
TWITTER_POST_KINDS = np.array([0.82, 0.05, 0.10, 0.03])
NON_ORIGINAL_ENGAGEMENT = 0.3
AFTERGLOW_DAYS = 5.0


@dataclass(frozen=True)
class PostSchedule:
    """Posts of the requested accounts, grouped by account in request order, oldest first."""

    owner: np.ndarray  # global account index
    ordinal: np.ndarray  # k in the post id ``<account_id>:p<k>``
    created: np.ndarray  # epoch seconds
    kind: np.ndarray  # index into contract.POST_KINDS
    boost: np.ndarray  # engagement multiplier (viral post and its afterglow)
    viral: np.ndarray
    accounts: np.ndarray  # the requested accounts, in request order
    first: np.ndarray  # first row of each requested account
    count: np.ndarray  # posts of each requested account

    def __len__(self) -> int:
        return len(self.owner)

    def key(self, plan: Plan) -> np.ndarray:
        return rnd.key(plan.key[self.owner], "post-id", self.ordinal)

    def post_ids(self, plan: Plan) -> pa.Array:
        return post_ids(plan, self.owner, self.ordinal)


def post_ids(plan: Plan, owner: np.ndarray, ordinal: np.ndarray) -> pa.Array:
    return txt.join(plan.account_id.take(pa.array(owner)), ":p", txt.number_text(ordinal))


def post_schedule(plan: Plan, accounts: np.ndarray) -> PostSchedule:
    accounts = np.asarray(accounts, dtype=np.int64)
    has_viral = plan.viral_day[accounts] >= 0
    count = plan.n_posts[accounts].astype(np.int64) + has_viral
    owner = np.repeat(accounts, count)
    pos = np.repeat(np.arange(len(accounts)), count)
    first = np.cumsum(count) - count
    slot = np.arange(len(owner)) - first[pos]
    pk = rnd.key(plan.key[owner], "post", slot)

    lo = plan.posts_from[owner].astype(np.float64)
    hi = plan.posts_to[owner].astype(np.float64)
    raw = lo + (hi - lo) * rnd.uniform(pk, "when")
    zone = rnd.integers(plan.key[owner], "time-zone", 24)
    hour = (rnd.choice(pk, "hour", CIRCADIAN) - zone) % 24
    t = np.floor(raw / DAY) * DAY + hour * 3600 + rnd.uniform(pk, "second") * 3600
    t = np.clip(t, lo, hi)

    is_viral = has_viral[pos] & (slot == count[pos] - 1)
    viral_at = (plan.day0 + plan.viral_day[owner].astype(np.float64) * DAY
                + rnd.between(plan.key[owner], "viral-hour", 9, 18) * 3600)
    t = np.where(is_viral, viral_at, t).astype(np.int64)

    kind = np.where(plan.platform[owner] == TWITTER,
                    rnd.choice(pk, "kind", TWITTER_POST_KINDS), 0)
    kind = np.where(is_viral, 0, kind).astype(np.int8)
    since = (t - viral_at) / DAY
    afterglow = has_viral[pos] & (since > 0) & (since < AFTERGLOW_DAYS)
    glow = np.minimum(plan.spike_boost[owner] / 10, 1.0)  # a small bump has a faint afterglow
    boost = np.where(afterglow, 1 + 2 * glow * np.exp(-since / 2), 1.0)
    boost = np.where(is_viral, plan.spike_boost[owner], boost)
    boost = boost * np.where(kind == 0, 1.0, NON_ORIGINAL_ENGAGEMENT)

    order = np.lexsort((slot, t, pos))
    ordinal = np.arange(len(owner)) - first[pos]
    return PostSchedule(owner=owner[order], ordinal=ordinal, created=t[order],
                        kind=kind[order], boost=boost[order], viral=is_viral[order],
                        accounts=accounts, first=first, count=count)
