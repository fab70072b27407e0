"""Grouping rows by integer keys with sorts rather than hash tables.

Feature kernels group engagements by (account, actor), (account, post),
(account, creation day) and so on.  Each pair is packed into one int64 key
(the account in the high bits, a 64-bit code of the other part below), and
groups are found with one numpy sort: on this hardware that is several times
faster than hashing millions of mostly distinct keys, and it costs
microseconds for one account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def group_bits(n_groups: int) -> int:
    """Bits that hold a group number below ``n_groups`` (at least 1)."""
    return max(int(n_groups - 1).bit_length(), 1)


def pack(group: np.ndarray, n_groups: int, code: np.ndarray) -> np.ndarray:
    """``(group, code)`` as one non-negative sortable int64 key.

    ``group`` (< ``n_groups``) takes the high bits and the top remaining bits
    of the 64-bit ``code`` (a hash) fill the rest, so keys sort by group
    first.  With a million groups 43 code bits remain: two distinct codes of
    one group collide with odds below 1e-7 even for 1,000 items per group.
    """
    bits = 63 - group_bits(n_groups)
    high = np.asarray(group, dtype=np.int64) << np.int64(bits)
    low = (np.asarray(code, dtype=np.uint64) >> np.uint64(64 - bits)).astype(np.int64)
    return high | low


@dataclass(frozen=True)
class KeyGroups:
    """Rows grouped by equal keys: ``codes[row]`` indexes ``keys`` and ``sizes``."""

    codes: np.ndarray
    keys: np.ndarray
    sizes: np.ndarray

    @property
    def n(self) -> int:
        return len(self.keys)

    def row_sizes(self) -> np.ndarray:
        """How many rows share each row's key."""
        return self.sizes[self.codes]


def group_rows(keys: np.ndarray) -> KeyGroups:
    """Group rows by key (ascending key order) with one argsort."""
    keys = np.asarray(keys, dtype=np.int64)
    if len(keys) == 0:
        empty = np.zeros(0, np.int64)
        return KeyGroups(empty, empty, empty)
    order = np.argsort(keys)
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    group_of_sorted = np.cumsum(new) - 1
    codes = np.empty(len(keys), dtype=np.int64)
    codes[order] = group_of_sorted
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(keys)))
    return KeyGroups(codes, ordered[starts], sizes)


def unique_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (ascending) and how often each occurs, without a row mapping."""
    keys = np.sort(np.asarray(keys, dtype=np.int64))
    if len(keys) == 0:
        return keys, np.zeros(0, np.int64)
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return keys[starts], np.diff(np.append(starts, len(keys)))


def isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values in sorted_set`` for a sorted int64 set, by binary search."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_set, values)
    pos = np.minimum(pos, len(sorted_set) - 1)
    return sorted_set[pos] == values
