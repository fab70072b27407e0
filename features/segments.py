"""Reductions over rows grouped by account: the building blocks of every feature kernel.

A ``Segments`` maps each row of a child table (followers, posts, ...) to the
index of its account in ``profiles``.  Every reduction is one numpy call over
all rows (``np.bincount``, ``ufunc.at``, one sort), so it costs microseconds
for one account and stays linear for a million.  Accounts with no rows get
NaN (or 0 for counts): missing data is never evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def account_index(
    keys: pa.Array | pa.ChunkedArray, accounts: pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """Position of each key in ``accounts`` (-1 where absent), vectorised in Arrow."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = pc.index_in(keys, value_set=_as_array(accounts))
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


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

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows per account (where ``mask`` holds, if given)."""
        ids = self.ids if mask is None else self.ids[mask]
        return np.bincount(ids, minlength=self.n).astype(np.float64)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum per account, NaN values skipped; 0 for accounts with no rows."""
        v = np.asarray(values, dtype=np.float64)
        ok = ~np.isnan(v)
        return np.bincount(self.ids[ok], weights=v[ok], minlength=self.n)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean per account over non-NaN values; NaN where there are none."""
        v = np.asarray(values, dtype=np.float64)
        ok = ~np.isnan(v)
        total = np.bincount(self.ids[ok], weights=v[ok], minlength=self.n)
        cnt = np.bincount(self.ids[ok], minlength=self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)

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

    def quantile(self, values: np.ndarray, q: float) -> np.ndarray:
        """The ``q`` quantile per account (linear interpolation), NaN values skipped."""
        v = np.asarray(values, dtype=np.float64)
        ok = ~np.isnan(v)
        ids, v = self.ids[ok], v[ok]
        out = np.full(self.n, np.nan)
        if len(v) == 0:
            return out
        o = np.lexsort((v, ids))
        ids, v = ids[o], v[o]
        cnt = np.bincount(ids, minlength=self.n)
        start = np.concatenate(([0], np.cumsum(cnt)[:-1]))
        has = cnt > 0
        pos = start[has] + q * (cnt[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, start[has] + cnt[has] - 1)
        frac = pos - lo
        out[has] = v[lo] * (1 - frac) + v[hi] * frac
        return out

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


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is 0 or missing."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((den > 0) & ~np.isnan(den), num / np.where(den > 0, den, 1.0), np.nan)
