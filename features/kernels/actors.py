"""Who engaged with what: engagements grouped by (account, actor) and (account, actor, post).

Concentration, overlap and reciprocity all need, for every engaging actor of
every account, how often it engaged and on how many distinct posts.  One
integer sort gives both: each engagement becomes a key packing its account
(high bits), a hash of the actor, and the post's index within the account
(low bits); runs of equal (account, actor) prefixes are the actors, runs of
equal keys the distinct posts.  Where the key is too short for a safe hash
(very many accounts or posts in one call), actors are first numbered
exactly and the same layout is reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trueclout.features.kernels.grouping import group_bits, group_rows

# Below this many hash bits per account, two actors of one large account
# could share a code; then actors are numbered exactly instead.
MIN_HASH_BITS = 40


@dataclass(frozen=True)
class ActorPosts:
    """Per (account, actor): engagements, distinct known posts, and a comparable key."""

    account: np.ndarray  # account index of each actor
    key: np.ndarray  # (account, actor code) packed: compare with ``actor_key``
    engagements: np.ndarray  # engagements the actor made on the account's posts
    posts: np.ndarray  # distinct known posts the actor engaged with
    hash_bits: int
    numbering: _Numbering | None = None  # set when actors were numbered exactly

    def actor_key(self, account: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Keys of other (account, actor code) pairs in the layout of ``key``."""
        if self.numbering is not None:
            code = self.numbering.codes_of(account, code)
        return _prefix(account, code, self.hash_bits)

    def rows_of(self, account: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Row of each (account, actor code) among the actors; -1 where it is not one."""
        keys = self.actor_key(account, code)
        if self.n == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.key, keys), self.n - 1)
        return np.where(self.key[at] == keys, at, -1)

    @property
    def n(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class _Numbering:
    """Exact actor numbers per account, replacing hashes that would be cut too short."""

    keys: np.ndarray  # sorted distinct (account, full hash) prefixes
    full_bits: int
    shift: int

    @classmethod
    def of(cls, account: np.ndarray, n: int, code: np.ndarray) -> tuple[_Numbering, np.ndarray]:
        full_bits = 63 - group_bits(n)
        groups = group_rows(_prefix(account, code, full_bits))
        numbering = cls(groups.keys, full_bits, 64 - group_bits(groups.n + 1))
        return numbering, numbering._code(groups.codes + 1)

    def _code(self, number: np.ndarray) -> np.ndarray:
        return np.asarray(number, dtype=np.uint64) << np.uint64(self.shift)

    def codes_of(self, account: np.ndarray, code: np.ndarray) -> np.ndarray:
        """The numbering's code of each (account, hash); 0 (no actor) where unseen."""
        probe = _prefix(account, code, self.full_bits)
        pos = np.minimum(np.searchsorted(self.keys, probe), max(len(self.keys) - 1, 0))
        seen = (self.keys[pos] == probe) if len(self.keys) else np.zeros(len(probe), bool)
        return np.where(seen, self._code(pos + 1), np.uint64(0))


def _prefix(account: np.ndarray, code: np.ndarray, hash_bits: int) -> np.ndarray:
    high = np.asarray(account, dtype=np.int64) << np.int64(hash_bits)
    low = (np.asarray(code, dtype=np.uint64) >> np.uint64(64 - hash_bits)).astype(np.int64)
    return high | low


def group_actor_posts(account: np.ndarray, n: int, actor_code: np.ndarray,
                      post_local: np.ndarray, n_local: int) -> ActorPosts:
    """Group engagements by actor and post within each account.

    ``post_local`` is the post's index within its account, or -1 where the
    post is unknown (the engagement still counts for its actor).
    """
    post_bits = group_bits(n_local + 1)
    hash_bits = 63 - group_bits(n) - post_bits
    numbering = None
    if hash_bits < MIN_HASH_BITS and len(actor_code):
        # Number actors exactly; their numbers then fit in the bits left.
        numbering, actor_code = _Numbering.of(account, n, actor_code)
        hash_bits = 64 - numbering.shift
        if group_bits(n) + hash_bits + post_bits > 63:
            raise ValueError("too many accounts, actors and posts for one call: split the "
                             "tables into chunks of accounts")
    unknown = np.int64((1 << post_bits) - 1)
    post = np.where(post_local >= 0, post_local, unknown).astype(np.int64)
    keys = np.sort((_prefix(account, actor_code, hash_bits) << np.int64(post_bits)) | post)
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ActorPosts(empty, empty, empty, empty, hash_bits, numbering)
    prefix = keys >> np.int64(post_bits)
    new_actor = np.empty(len(keys), dtype=bool)
    new_actor[0] = True
    np.not_equal(prefix[1:], prefix[:-1], out=new_actor[1:])
    new_post = np.empty(len(keys), dtype=bool)
    new_post[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_post[1:])
    new_post &= (keys & unknown) != unknown
    starts = np.flatnonzero(new_actor)
    ends = np.append(starts[1:], len(keys))
    counts = ends - starts
    # Distinct known posts per actor: new-post marks counted between its bounds.
    marks = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(new_post, out=marks[1:])
    posts = marks[ends] - marks[starts]
    actor_keys = prefix[starts]
    return ActorPosts(actor_keys >> np.int64(hash_bits), actor_keys, counts, posts, hash_bits,
                      numbering)
