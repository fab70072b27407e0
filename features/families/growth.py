"""Growth family: bursts, step changes, purges and churn in the follower history.

A purchase of followers leaves a burst of daily gains with nothing else
changing; a viral post also brings a burst, but together with engagement on
the posts of those days.  So besides robust (median/MAD) burst scores this
family measures the *mismatch* between a burst and the engagement of the
posts published around it, the hard negative being organic viral growth.
Histories too short to judge give NaN, never a reassuring zero.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.frame import FamilyResult
from trueclout.features.kernels.columns import SECONDS_PER_DAY, SnapshotColumns, to_days
from trueclout.features.kernels.history import (
    DailyGrid,
    Observations,
    resample_daily,
    window_observations,
)
from trueclout.features.kernels.segments import Segments

WINDOW_DAYS = 365
MIN_HISTORY_DAYS = 14
MIN_OBSERVATIONS = 7
MAD_TO_SIGMA = 1.4826
BURST_Z = 6.0
MAX_BURST_DAYS = 7
# A burst day must also be a real gain, not a blip on a tiny account.
MIN_BURST_GAIN = 10.0
MIN_BURST_RELATIVE = 0.002
TOP_DAYS = 3
# Relative jumps are measured against at least this many followers.
JUMP_FLOOR = 10.0
PURGE_WINDOW_DAYS = 30
MIN_DAYS_AFTER_BURST = 3
CHURN_PERIOD_DAYS = 30
# A move of the following count counts as a wave when it reaches this many
# accounts and this share of the count.  Day-to-day drift is a few follows and a
# person follows or tidies up a handful to a dozen at a sitting; a churn tool
# follows dozens to hundreds a wave.  (At 10, organic sittings made 3-4 "cycles" in
# about 1 in 200 genuine accounts of a simulated world, and two such accounts were
# flagged `high`; at 15, none reached 3.)
REVERSAL_FLOOR = 15.0
# Scales (days) at which the fastest stretch of growth is set against its engagement.
WINDOW_SCALES = (7, 30)
REVERSAL_SHARE = 0.02
# A rise of the following count is "undone" when the next wave-sized fall takes back
# this share of it.  A churn tool unfollows those who did not follow back (70-98% of
# a wave at the follow-back rates sold); the account's own follows and unfollows
# between waves, and an unfollow phase that spills into the next wave, move the
# observed fall either way, so the band is wide: 40-150% of the rise.
UNDONE_SHARE = (0.4, 1.5)


def _nan_where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(mask, values, np.nan)


def _share(num: np.ndarray, den: np.ndarray, empty: float = np.nan) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


class _Daily:
    """Daily deltas of the grid and their robust per-account statistics."""

    def __init__(self, grid: DailyGrid, n: int) -> None:
        self.grid = grid
        self.seg = Segments(grid.account, n)
        self.delta, self.before = grid.deltas()
        self.gain = np.clip(np.nan_to_num(self.delta), 0, None)
        self.sorted = self.seg.sorted(self.delta)
        median = self.sorted.quantile(0.5)
        mad = self.seg.median(np.abs(self.delta - median[grid.account]))
        # Counts are noisy by about their square root even when MAD is 0
        # (interpolated gaps, perfectly steady growth).
        self.scale = np.maximum(MAD_TO_SIGMA * mad, np.sqrt(np.maximum(np.abs(median), 1.0)))
        self.median = median
        self.z = (self.delta - median[grid.account]) / self.scale[grid.account]
        self.rank = np.full(len(grid), np.iinfo(np.int64).max)
        self.rank[self.sorted.rows] = self.sorted.rank_from_top()
        self.total_gain = self.seg.sum(self.gain)

    def top_row(self) -> np.ndarray:
        return self.sorted.last_row()

    def bottom_row(self) -> np.ndarray:
        out = np.full(self.seg.n, -1, dtype=np.int64)
        has = self.sorted.count > 0
        out[has] = self.sorted.rows[self.sorted.start[has]]
        return out

    def burst_days(self) -> np.ndarray:
        floor = np.maximum(MIN_BURST_GAIN, MIN_BURST_RELATIVE * np.nan_to_num(self.before))
        with np.errstate(invalid="ignore"):
            return (self.z >= BURST_Z) & (self.delta >= floor) & (self.rank < MAX_BURST_DAYS)


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows] with NaN where rows is -1."""
    out = np.full(len(rows), np.nan)
    ok = rows >= 0
    out[ok] = values[rows[ok]]
    return out


def _post_burst_drop(d: _Daily, top: np.ndarray, max_gain: np.ndarray) -> np.ndarray:
    grid = d.grid
    top_of_row = top[grid.account]
    rows = np.arange(len(grid))
    after = (top_of_row >= 0) & (rows > top_of_row) & (rows <= top_of_row + PURGE_WINDOW_DAYS)
    low_after = d.seg.min(np.where(after, grid.value, np.nan))
    days_after = d.seg.count(after)
    drop = (_at(grid.value, top) - low_after) / np.where(max_gain > 0, max_gain, np.nan)
    ok = (max_gain > 0) & (days_after >= MIN_DAYS_AFTER_BURST)
    return _nan_where(ok, np.clip(drop, 0, 1))


def _engagement_by_day(cols: SnapshotColumns, d: _Daily) -> tuple[np.ndarray, np.ndarray]:
    """(engagement drawn by the posts of each grid day, whether the posts cover that day)."""
    grid = d.grid
    posts = cols.segments("posts")
    post_day = np.floor(cols.post_created / SECONDS_PER_DAY).astype(np.int64)
    a = posts.ids
    last_day = grid.first_day + grid.span - 1
    inside = grid.eligible[a] & (post_day >= grid.first_day[a]) & (post_day <= last_day[a])
    grid_row = grid.start[a[inside]] + post_day[inside] - grid.first_day[a[inside]]
    engagement = np.bincount(grid_row, weights=cols.post_engagement[inside], minlength=len(grid))
    first_post = posts.min(post_day.astype(np.float64))
    covered = grid.day >= np.fmax(first_post, grid.first_day)[grid.account]  # NaN -> False
    return engagement, covered


def _mismatch(d: _Daily, burst: np.ndarray, engagement: np.ndarray,
              covered: np.ndarray) -> dict[str, np.ndarray]:
    """Share of gains on burst days minus share of engagement of posts from those days."""
    grid = d.grid
    window = burst.copy()
    if len(grid) > 1:
        window[:-1] |= burst[1:] & (grid.account[:-1] == grid.account[1:])
    covered_gain = d.seg.sum(np.where(covered, d.gain, 0.0))
    burst_gain = d.seg.sum(np.where(covered & burst, d.gain, 0.0))
    covered_eng = d.seg.sum(np.where(covered, engagement, 0.0))
    window_eng = d.seg.sum(np.where(covered & window, engagement, 0.0))
    covered_days = d.seg.count(covered)
    covered_bursts = d.seg.count(covered & burst)
    all_bursts = d.seg.count(burst)
    followers_share = _share(burst_gain, covered_gain, empty=0.0)
    engagement_share = _share(window_eng, covered_eng, empty=0.0)
    mismatch = np.where(covered_bursts > 0, followers_share - engagement_share, 0.0)
    unknown = (covered_days == 0) | ((covered_bursts == 0) & (all_bursts > 0)) | ~grid.eligible
    return {
        "mismatch": _nan_where(~unknown, mismatch),
        "followers_share": _nan_where(~unknown, followers_share),
        "engagement_share": _nan_where(~unknown, engagement_share),
        "covered_gain": _nan_where(~unknown, covered_gain),
        "covered_bursts": _nan_where(~unknown, covered_bursts),
    }


def _window_mismatch(d: _Daily, engagement: np.ndarray, covered: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """The fastest stretch of growth against the engagement its days drew, at several scales.

    For each scale W (``WINDOW_SCALES``) the W days with the most new
    followers are found; their share of all new followers minus the share of
    engagement drawn by posts of those days (and the day before) is the
    mismatch.  Followers come through posts people see: growth its posts
    earned moves both shares together, a lot delivered over a week or a
    month moves only the first, however smoothly it was delivered.  The
    largest mismatch over the scales is kept, on histories at least twice
    the scale.
    """
    grid = d.grid
    n = d.seg.n
    gain = np.where(covered, d.gain, 0.0)
    eng = np.where(covered, engagement, 0.0)
    gain_sum = np.concatenate([[0.0], np.cumsum(gain)])
    eng_sum = np.concatenate([[0.0], np.cumsum(eng)])
    covered_gain = d.seg.sum(gain)
    covered_eng = d.seg.sum(eng)
    covered_days = d.seg.count(covered)
    row = np.arange(len(grid))
    first = grid.start[grid.account] if len(grid) else row
    best = np.full(n, np.nan)
    best_days = np.full(n, np.nan)
    best_followers = np.full(n, np.nan)
    best_engagement = np.full(n, np.nan)
    for days in WINDOW_SCALES:
        low = np.maximum(row - days + 1, first)
        window_gain = gain_sum[row + 1] - gain_sum[low]
        window_eng = eng_sum[row + 1] - eng_sum[np.maximum(low - 1, first)]
        top = d.seg.sorted(window_gain).last_row()
        ok = (top >= 0) & (covered_days >= 2 * days) & (covered_gain > 0) & (covered_eng > 0)
        followers_share = _share(_at(window_gain, top), covered_gain)
        engagement_share = _share(_at(window_eng, top), covered_eng)
        mismatch = np.where(ok, followers_share - engagement_share, np.nan)
        better = ok & ~(mismatch <= best)  # NaN best: any known value is better
        best = np.where(better, mismatch, best)
        best_days = np.where(better, days, best_days)
        best_followers = np.where(better, followers_share, best_followers)
        best_engagement = np.where(better, engagement_share, best_engagement)
    return {"mismatch": best, "days": best_days, "followers_share": best_followers,
            "engagement_share": best_engagement}


def _following_churn(cols: SnapshotColumns, obs: Observations, n: int) -> dict[str, np.ndarray]:
    """Follow/unfollow cycling from the real observations of the following count."""
    following = cols.number("follower_history", "following")[obs.rows]
    known = ~np.isnan(following)
    account, day, value = obs.account[known], obs.day[known], following[known]
    seg = Segments(account, n)
    step = np.full(len(value), np.nan)
    if len(value) > 1:
        same = account[1:] == account[:-1]
        step[1:] = np.where(same, value[1:] - value[:-1], np.nan)
    gross = seg.sum(np.abs(step))
    net = np.abs(seg.sum(step))
    days = seg.max(day.astype(np.float64)) - seg.min(day.astype(np.float64))
    ok = (seg.count() >= MIN_OBSERVATIONS) & (days >= MIN_HISTORY_DAYS - 1)
    cycled = gross - net
    mean = seg.mean(value)
    swings, undone = _waves(account, step, np.maximum(REVERSAL_FLOOR, REVERSAL_SHARE * mean), n)
    per_month = CHURN_PERIOD_DAYS / np.maximum(days, 1)
    return {
        "churned": _nan_where(ok, cycled / 2),
        "days": _nan_where(ok, days),
        "reversals": _nan_where(ok, swings * per_month),
        "swings": _nan_where(ok, swings),
        "cycles": _nan_where(ok, undone),
    }


def _waves(account: np.ndarray, step: np.ndarray, floor: np.ndarray, n: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per account: turns between rises and falls of the following count, and rises undone.

    Consecutive steps of one sign make a leg; legs smaller than the account's
    ``floor`` are drift and are skipped, so a rise, a little wobble and a
    further rise is one wave, not three.  A turn is a wave followed by one of
    the other sign.  A rise is *undone* when the next wave is a fall of
    ``UNDONE_SHARE`` of it: a churn tool follows a wave and unfollows most of
    it days later, again and again, whatever the size of its waves, while an
    honest follow spree and a later clean-up seldom match in size.
    """
    moving = ~np.isnan(step) & (step != 0)
    account, step = account[moving], step[moving]
    if len(step) == 0:
        return np.zeros(n), np.zeros(n)
    sign = np.sign(step)
    new_leg = np.ones(len(step), dtype=bool)
    new_leg[1:] = (account[1:] != account[:-1]) | (sign[1:] != sign[:-1])
    leg = np.cumsum(new_leg) - 1
    size = np.bincount(leg, weights=np.abs(step))
    leg_account = account[new_leg]
    leg_sign = sign[new_leg]
    wave = size >= floor[leg_account]
    leg_account, leg_sign, size = leg_account[wave], leg_sign[wave], size[wave]
    # Waves of one sign in a row (drift between them skipped) are one wave.
    new_wave = np.ones(len(size), dtype=bool)
    new_wave[1:] = (leg_account[1:] != leg_account[:-1]) | (leg_sign[1:] != leg_sign[:-1])
    merged = np.cumsum(new_wave) - 1
    size = np.bincount(merged, weights=size)
    leg_account, leg_sign = leg_account[new_wave], leg_sign[new_wave]
    turn = leg_account[1:] == leg_account[:-1]  # merged waves alternate in sign
    swings = np.bincount(leg_account[1:][turn], minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        taken_back = size[1:] / size[:-1]
    undone = turn & (leg_sign[:-1] > 0) & (taken_back >= UNDONE_SHARE[0]) & (
        taken_back <= UNDONE_SHARE[1])
    return swings, np.bincount(leg_account[1:][undone], minlength=n).astype(np.float64)


def compute_growth(cols: SnapshotColumns) -> FamilyResult:
    n = cols.n
    hist = cols.segments("follower_history")
    day = to_days(cols.column("follower_history", "date"))
    obs = window_observations(hist.ids, day, cols.number("follower_history", "followers"), n,
                              WINDOW_DAYS)
    grid = resample_daily(obs, n, min_days=MIN_HISTORY_DAYS, min_observations=MIN_OBSERVATIONS)
    ok = grid.eligible
    d = _Daily(grid, n)
    top, bottom = d.top_row(), d.bottom_row()
    max_gain = _at(d.delta, top)
    burst_z = _at(d.z, top)
    # A purge removes followers: the worst day counts only where the count fell,
    # measured from zero (not from the median gain, which would read a slow day of
    # a fast-growing account as a loss) in units of the usual daily variation.
    max_loss = np.clip(-_at(d.delta, bottom), 0, None)
    loss_z = max_loss / d.scale
    burst = d.burst_days()
    burst_gain = d.seg.sum(np.where(burst, d.gain, 0.0))
    n_deltas = d.seg.count(~np.isnan(d.delta))
    take_top = d.rank < TOP_DAYS
    top_gain = d.seg.sum(np.where(take_top, d.gain, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        jump = d.seg.max(d.delta / np.maximum(d.before, JUMP_FLOOR))
    engagement, covered = _engagement_by_day(cols, d)
    mismatch = _mismatch(d, burst, engagement, covered)
    stretch = _window_mismatch(d, engagement, covered)
    churn = _following_churn(cols, obs, n)
    features = {
        "growth_burst_score": _nan_where(ok, np.log1p(np.clip(burst_z, 0, None))),
        "growth_burst_share": _nan_where(ok, _share(burst_gain, d.total_gain, empty=0.0)),
        "growth_top_days_share": _nan_where(ok, _share(top_gain, d.total_gain)),
        "growth_max_jump": _nan_where(ok, np.log10(1 + np.clip(jump, 0, None))),
        "growth_engagement_mismatch": mismatch["mismatch"],
        "growth_window_mismatch": stretch["mismatch"],
        "growth_post_burst_drop": _nan_where(ok, _post_burst_drop(d, top, max_gain)),
        "growth_drop_score": _nan_where(ok, np.log1p(np.clip(loss_z, 0, None))),
        "growth_following_reversals": churn["reversals"],
        "growth_following_cycles": churn["cycles"],
    }
    context = {
        "growth_history_days": np.where(grid.n_observations > 0, grid.observed_span, np.nan),
        "growth_observed_days": grid.n_observations.astype(np.float64),
        "growth_total_gain": _nan_where(ok, d.total_gain),
        "growth_max_gain": max_gain,
        "growth_burst_z": burst_z,
        "growth_burst_days": _nan_where(ok, d.seg.count(burst)),
        "growth_burst_gain": _nan_where(ok, burst_gain),
        "growth_top_days": _nan_where(ok, np.minimum(n_deltas, TOP_DAYS)),
        "growth_max_jump_share": jump,
        "growth_burst_followers_share": mismatch["followers_share"],
        "growth_burst_engagement_share": mismatch["engagement_share"],
        "growth_covered_gain": mismatch["covered_gain"],
        "growth_covered_burst_days": mismatch["covered_bursts"],
        "growth_window_days": stretch["days"],
        "growth_window_followers_share": stretch["followers_share"],
        "growth_window_engagement_share": stretch["engagement_share"],
        "growth_max_loss": max_loss,
        "growth_drop_z": loss_z,
        "growth_following_churned": churn["churned"],
        "growth_following_days": churn["days"],
        "growth_following_swings": churn["swings"],
    }
    return FamilyResult(features, context, grid.n_observations.astype(np.float64))
