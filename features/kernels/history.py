"""Follower histories resampled honestly onto a daily grid, for every account at once.

Platforms report follower counts irregularly: daily, weekly, with gaps.
Growth signals need daily deltas, so each account's last ``window_days`` of
history is laid on a grid of consecutive days and counts between two real
observations are interpolated linearly: a gain reported after a ten-day gap
is spread over those ten days rather than piled onto one (which would fake a
burst) or dropped.  The grid remembers which days were really observed, and
accounts with too few observations get no grid at all, so their growth
features are unknown rather than zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_DAY_BITS = np.int64(32)


@dataclass(frozen=True)
class Observations:
    """Real observations inside the window, sorted by (account, day), duplicates dropped."""

    account: np.ndarray
    day: np.ndarray
    value: np.ndarray
    rows: np.ndarray  # row in the source table

    def __len__(self) -> int:
        return len(self.day)


@dataclass(frozen=True)
class DailyGrid:
    """One row per (eligible account, day), accounts in index order, days ascending.

    Account ``a`` owns rows ``start[a] : start[a] + span[a]`` (``span`` 0 when
    it has no grid); ``observed`` marks days that were really reported, and
    ``observed_span`` is the days between first and last observation of every
    account, eligible or not.
    """

    account: np.ndarray
    day: np.ndarray
    value: np.ndarray
    observed: np.ndarray
    start: np.ndarray
    span: np.ndarray
    first_day: np.ndarray
    observed_span: np.ndarray
    n_observations: np.ndarray
    eligible: np.ndarray

    def __len__(self) -> int:
        return len(self.day)

    def deltas(self) -> tuple[np.ndarray, np.ndarray]:
        """(change since the previous day, level the previous day) per grid row; NaN on
        each account's first day."""
        delta = np.full(len(self), np.nan)
        before = np.full(len(self), np.nan)
        if len(self) > 1:
            same = self.account[1:] == self.account[:-1]
            delta[1:] = np.where(same, self.value[1:] - self.value[:-1], np.nan)
            before[1:] = np.where(same, self.value[:-1], np.nan)
        return delta, before


def window_observations(account: np.ndarray, day: np.ndarray, value: np.ndarray, n: int,
                        window_days: int) -> Observations:
    """The observations of each account's last ``window_days`` days, sorted, one per day."""
    if len(day) == 0:
        empty = np.zeros(0, np.int64)
        return Observations(empty, empty, np.zeros(0), empty)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, account, day)
    rows = np.flatnonzero(day > last[account] - window_days)
    origin = int(day[rows].min())
    key = (account[rows].astype(np.int64) << _DAY_BITS) | (day[rows] - origin)
    if len(key) > 1 and not (key[1:] >= key[:-1]).all():
        order = np.argsort(key, kind="stable")
        rows, key = rows[order], key[order]
    first_of_day = np.ones(len(key), dtype=bool)
    first_of_day[1:] = key[1:] != key[:-1]
    rows = rows[first_of_day]
    return Observations(account[rows], day[rows], value[rows].astype(np.float64), rows)


def resample_daily(obs: Observations, n: int, *, min_days: int,
                   min_observations: int) -> DailyGrid:
    """Interpolate each eligible account's observations onto consecutive days.

    Eligible: at least ``min_observations`` real points spanning at least
    ``min_days`` days.  NaN values (unknown counts) must be removed first.
    """
    n_obs = np.bincount(obs.account, minlength=n)
    obs_start = np.concatenate(([0], np.cumsum(n_obs)[:-1])).astype(np.int64)
    has = n_obs > 0
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    first[has] = obs.day[obs_start[has]]
    last[has] = obs.day[obs_start[has] + n_obs[has] - 1]
    observed_span = np.where(has, last - first + 1, 0)
    eligible = has & (n_obs >= min_observations) & (observed_span >= min_days)
    span = np.where(eligible, observed_span, 0)
    start = np.concatenate(([0], np.cumsum(span)[:-1])).astype(np.int64)
    total = int(span.sum())
    g_account = np.repeat(np.arange(n, dtype=np.int64), span)
    g_day = first[g_account] + (np.arange(total, dtype=np.int64) - start[g_account])

    keep = eligible[obs.account]
    o_account, o_day, o_value = obs.account[keep], obs.day[keep], obs.value[keep]
    value = np.zeros(total)
    observed = np.zeros(total, dtype=bool)
    if total:
        origin = int(o_day.min())
        o_key = (o_account << _DAY_BITS) | (o_day - origin)
        g_key = (g_account << _DAY_BITS) | (g_day - origin)
        prev = np.searchsorted(o_key, g_key, side="right") - 1
        nxt = np.minimum(prev + 1, len(o_key) - 1)
        observed = o_key[prev] == g_key
        gap = (o_day[nxt] - o_day[prev]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(observed | (gap <= 0), 0.0, (g_day - o_day[prev]) / gap)
        value = o_value[prev] + (o_value[nxt] - o_value[prev]) * frac
    return DailyGrid(g_account, g_day, value, observed, start, span, first, observed_span, n_obs,
                     eligible)
