"""Reductions over rows grouped by account: the building blocks of every feature kernel.

A ``Segments`` maps each row of a child table (followers, posts, ...) to the
index of its account in ``profiles``.  Every reduction is one numpy call over
all rows (``np.bincount``, ``ufunc.at``, one sort), so it costs microseconds
for one account and stays linear for a million.  Accounts with no rows get
NaN (or 0 for counts): missing data is never evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.kernels.dictionary import decoded, is_encoded, per_value
from trueclout.features.kernels.strings import string_bytes


def account_index(
    keys: pa.Array | pa.ChunkedArray, accounts: pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """Position of each key in ``accounts`` (-1 where absent), vectorised in Arrow."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    if is_encoded(keys):
        value_set = _as_array(accounts)
        return per_value(keys, lambda values: _positions(values, value_set), np.int64)
    keys = decoded(keys)
    if len(accounts) == 1:
        return _index_of_one(keys, accounts)
    return _positions(keys, _as_array(accounts))


def _positions(keys: pa.Array | pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    idx = pc.index_in(keys, value_set=value_set)
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _index_of_one(
    keys: pa.Array | pa.ChunkedArray, accounts: pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """``account_index`` for one account (the online path): no hash join.

    Usually every key is that account: then the keys' bytes are the account's
    bytes over and over, which two comparisons confirm.
    """
    account = _as_array(accounts)[0]
    sb = string_bytes(keys)
    want = np.frombuffer(account.as_py().encode(), dtype=np.uint8)
    if (sb.valid.all() and len(sb.data) == sb.n * len(want)
            and (sb.offsets == np.arange(sb.n + 1) * len(want)).all()
            and (sb.data.reshape(sb.n, len(want)) == want).all()):
        return np.zeros(sb.n, dtype=np.int64)
    distinct = pc.unique(keys)
    if len(distinct) == 1 and distinct[0] == account:
        return np.zeros(len(keys), dtype=np.int64)
    same = pc.equal(keys, account).fill_null(False).to_numpy(zero_copy_only=False)
    return np.where(np.asarray(same, dtype=bool), 0, -1).astype(np.int64)


def _as_array(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


@dataclass(frozen=True)
class Segments:
    """Row -> account index, for ``n`` accounts; rows need not be sorted."""

    ids: np.ndarray
    n: int

    @classmethod
    def of(cls, table: pa.Table, accounts: pa.Array | pa.ChunkedArray) -> Segments:
        """Segments of a child table against the ``account_id`` column of ``profiles``."""
        ids = account_index(table.column("account_id"), accounts)
        if (ids < 0).any():
            raise ValueError("a row names an account_id that is not in profiles")
        return cls(ids, len(accounts))

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Rows per account (int64)."""
        return np.bincount(self.ids, minlength=self.n)

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows per account (where ``mask`` holds, if given)."""
        if mask is None:
            return self.sizes.astype(np.float64)
        if len(self.ids) >= _FEW_ROWS and self.in_order:
            return run_sums(mask, self.sizes).astype(np.float64)
        return np.bincount(self.ids[mask], minlength=self.n).astype(np.float64)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum per account, NaN values skipped; 0 for accounts with no rows."""
        v = np.asarray(values, dtype=np.float64)
        ok = v == v  # not NaN, without a separate isnan pass
        if ok.all():
            return np.bincount(self.ids, weights=v, minlength=self.n)
        return np.bincount(self.ids[ok], weights=v[ok], minlength=self.n)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean per account over non-NaN values; NaN where there are none."""
        v = np.asarray(values, dtype=np.float64)
        ok = v == v
        ids = self.ids if ok.all() else self.ids[ok]
        total = np.bincount(ids, weights=v[ok] if len(ids) != len(v) else v, minlength=self.n)
        cnt = np.bincount(ids, minlength=self.n)
        return np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)

    def mean_columns(self, matrix: np.ndarray) -> np.ndarray:
        """``mean`` of every column of an (rows x k) matrix at once: (accounts x k)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape[1] == 0:
            return np.zeros((self.n, 0))
        return np.column_stack([self.mean(column) for column in m.T])

    @cached_property
    def in_order(self) -> bool:
        """Rows come grouped by account, accounts ascending (as tables are written)."""
        return bool((self.ids[1:] >= self.ids[:-1]).all())

    def flag_means(self, flags: list[np.ndarray]) -> np.ndarray:
        """``mean`` of several columns holding only 1, 0 or NaN (unknown): (accounts x k).

        Sums of ones are whole numbers, exact in any order, so rows grouped by
        account are summed a block at a time (``add.reduceat`` over a small
        integer matrix) instead of one ``bincount`` per column; the shares are
        the ones ``mean`` gives.
        """
        if not self.in_order or len(self.ids) == 0:
            return self.mean_columns(np.column_stack(flags) if flags else
                                     np.zeros((len(self.ids), 0)))
        counts = self.sizes
        has = counts > 0
        starts = (np.cumsum(counts) - counts)[has]
        marks = np.empty((len(self.ids), 2 * len(flags)), dtype=np.int8)
        for j, f in enumerate(flags):
            np.equal(f, 1.0, out=marks[:, 2 * j].view(bool))
            np.equal(f, f, out=marks[:, 2 * j + 1].view(bool))
        sums = np.add.reduceat(marks, starts, axis=0, dtype=np.int64)
        hits, known = np.zeros((self.n, len(flags))), np.zeros((self.n, len(flags)), np.int64)
        hits[has], known[has] = sums[:, 0::2], sums[:, 1::2]
        return np.where(known > 0, hits / np.maximum(known, 1), np.nan)

    def std(self, values: np.ndarray) -> np.ndarray:
        """Population standard deviation per account over non-NaN values."""
        v = np.asarray(values, dtype=np.float64)
        mu = self.mean(v)
        dev = v - mu[self.ids]
        var = self.mean(dev * dev)
        return np.sqrt(var)

    def max(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        out = np.full(self.n, -np.inf)
        ok = ~np.isnan(v)
        np.maximum.at(out, self.ids[ok], v[ok])
        out[np.isneginf(out)] = np.nan
        return out

    def min(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        out = np.full(self.n, np.inf)
        ok = ~np.isnan(v)
        np.minimum.at(out, self.ids[ok], v[ok])
        out[np.isposinf(out)] = np.nan
        return out

    def order(self, values: np.ndarray) -> np.ndarray:
        """Row order sorted by (account, value), NaN last within each account."""
        v = np.asarray(values, dtype=np.float64)
        return np.lexsort((v, self.ids))

    def sorted(self, values: np.ndarray) -> SortedSegments:
        """Non-NaN values sorted within each account (accounts in index order)."""
        v = np.asarray(values, dtype=np.float64)
        ok = ~np.isnan(v)
        ids, v = self.ids[ok], v[ok]
        rows = _segment_sort(ids, v)
        count = np.bincount(ids, minlength=self.n)
        start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
        return SortedSegments(v[rows], ids[rows], start, count, np.flatnonzero(ok)[rows])

    def quantile(self, values: np.ndarray, q: float) -> np.ndarray:
        """The ``q`` quantile per account (linear interpolation), NaN values skipped."""
        return self.sorted(values).quantile(q)

    def int_quantile(self, values: np.ndarray, q: float) -> np.ndarray:
        """``quantile`` for integers in [0, 2**32): one sort of packed int64 keys, no argsort."""
        return self.int_quantiles(values, (q,))[0]

    def int_quantiles(self, values: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
        """Several quantiles of integers in [0, 2**32) from one sort of packed keys.

        Only the few sorted values each quantile reads are unpacked; the
        interpolation is ``SortedSegments.quantile``'s, number for number.
        """
        v = np.asarray(values, dtype=np.int64)
        if len(v) and (v.min() < 0 or v.max() >= 2**32 or self.n >= 2**31):
            ordered = self.sorted(v.astype(np.float64))
            return [ordered.quantile(q) for q in qs]
        keys = np.sort((self.ids.astype(np.int64) << np.int64(32)) | v)
        count = self.sizes
        has = count > 0
        out = np.full((len(qs), self.n), np.nan)
        if has.any():
            first = (count.cumsum() - count)[has]
            # All quantiles at once: (quantile, account) arrays.
            pos = first + np.array(qs)[:, None] * (count[has] - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, first + count[has] - 1)
            frac = pos - lo
            low = (keys[lo] & np.int64(0xFFFFFFFF)).astype(np.float64)
            high = (keys[hi] & np.int64(0xFFFFFFFF)).astype(np.float64)
            out[:, has] = low * (1 - frac) + high * frac
        return list(out)

    def median(self, values: np.ndarray) -> np.ndarray:
        return self.quantile(values, 0.5)

    def nunique(self, codes: np.ndarray) -> np.ndarray:
        """Distinct integer codes per account."""
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) == 0:
            return np.zeros(self.n)
        pairs = np.unique(np.stack([self.ids, codes], axis=1), axis=0)
        return np.bincount(pairs[:, 0], minlength=self.n).astype(np.float64)

    def broadcast(self, per_account: np.ndarray) -> np.ndarray:
        """An account-level value repeated onto each of its rows."""
        return np.asarray(per_account)[self.ids]

    def subset(self, mask: np.ndarray) -> Segments:
        return Segments(self.ids[mask], self.n)


@dataclass(frozen=True)
class SortedSegments:
    """Values sorted ascending within each account; account ``a`` owns
    ``values[start[a] : start[a] + count[a]]``; ``rows`` are their original rows."""

    values: np.ndarray
    ids: np.ndarray
    start: np.ndarray
    count: np.ndarray
    rows: np.ndarray

    def quantile(self, q: float) -> np.ndarray:
        """The ``q`` quantile per account (linear interpolation); NaN where empty."""
        out = np.full(len(self.count), np.nan)
        has = self.count > 0
        if not has.any():
            return out
        pos = self.start[has] + q * (self.count[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.start[has] + self.count[has] - 1)
        frac = pos - lo
        out[has] = self.values[lo] * (1 - frac) + self.values[hi] * frac
        return out

    def rank_from_top(self) -> np.ndarray:
        """0 for each account's largest value, 1 for the next, ... (per sorted position)."""
        end = (self.start + self.count)[self.ids]
        return end - 1 - np.arange(len(self.values))

    def top_sum(self, k: np.ndarray | int) -> np.ndarray:
        """Sum of each account's ``k`` largest values (``k`` per account or one for all)."""
        k = np.broadcast_to(np.asarray(k), self.count.shape)
        take = self.rank_from_top() < k[self.ids]
        return np.bincount(self.ids[take], weights=self.values[take], minlength=len(self.count))

    def last_row(self) -> np.ndarray:
        """Original row of each account's largest value (-1 where empty)."""
        out = np.full(len(self.count), -1, dtype=np.int64)
        has = self.count > 0
        out[has] = self.rows[self.start[has] + self.count[has] - 1]
        return out


def run_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of whole numbers (or flags) over consecutive runs of rows, ``counts[i]`` rows
    in run ``i`` (0 for an empty run), as int64.

    For rows grouped by account (actors, rows of tables written in account
    order): one ``add.reduceat``, several times cheaper than a weighted
    ``bincount``.  Whole numbers add up exactly in any order, so the sums are
    the ones ``bincount`` gives.
    """
    counts = np.asarray(counts)
    if len(values) < _FEW_ROWS:  # few rows: one weighted bincount is fewer calls
        runs = np.repeat(np.arange(len(counts)), counts)
        return np.bincount(runs, weights=values, minlength=len(counts)).astype(np.int64)
    out = np.zeros(len(counts), dtype=np.int64)
    has = counts > 0
    if has.any():
        values = np.asarray(values)
        if values.dtype == bool:
            values = values.view(np.int8)
        out[has] = np.add.reduceat(values, (np.cumsum(counts) - counts)[has], dtype=np.int64)
    return out


# Below this many rows, fixed costs per numpy call dominate: kernels that have a
# one-call formulation for small inputs use it (same results, fewer calls).
_FEW_ROWS = 4_096
_LEXSORT_BELOW = _FEW_ROWS


def _segment_sort(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row order by (id, value) without ``lexsort``.

    Values are replaced by their global rank and packed under the id into one
    int64, so a single sort of integers does the work of a two-key
    lexicographic sort, several times faster on large inputs.  Ties keep their
    row order (as ``lexsort`` does), so which of two equal values counts as
    "largest" never depends on the other accounts in the call.
    """
    n = len(values)
    if n < _LEXSORT_BELOW or n >= 2**32 or int(ids.max()) >= 2**31:
        return np.lexsort((values, ids))  # the same order: one call wins on small inputs
    by_value = np.argsort(values, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[by_value] = np.arange(n, dtype=np.int64)
    key = (ids.astype(np.int64) << np.int64(32)) | rank
    key.sort()
    return by_value[key & np.int64(0xFFFFFFFF)]


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is 0 or missing."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((den > 0) & ~np.isnan(den), num / np.where(den > 0, den, 1.0), np.nan)
