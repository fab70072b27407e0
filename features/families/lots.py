"""Bought-follower lots: many followers whose accounts were created in the same short window.

Vendors create stock accounts in batches and deliver them in lots.  On
cresci-2015 (Twitter) 66% of one market's fakes were created in a single
calendar week (100% within four), 84% of another's; hand-checked humans put at
most 1.8% of a group in any one week, spread over hundreds of weeks.  So
inside ONE account's follower sample a lot shows as a creation week far more
crowded than the sample's own creation-date density around it predicts, even
when no per-follower classifier ever met that market.

``find_lots`` bins each account's dated followers by creation week and tests
every crowded week against a background estimated from the same account's
sample around it, never from the week itself or its immediate neighbours: the
densest of the mean over the sample's span, the mean over half a year either
side, and the median week of the six weeks on each side (so a months-long
organic surge of new accounts is its own background, while a lot of one to
three weeks is not).  Flagged weeks within ``LOT_MERGE_GAP_WEEKS`` of each
other form one lot.  A lot's *excess* (its count minus the background
expectation) is what the account's lot share sums, so an organic audience
reads about 0 and an organic follower who happens to share a lot's week
counts only as background.  All accounts are handled in the same numpy passes
over packed (account, week) keys.

Known limits: a platform-wide signup wave with a sharp onset that decays
within weeks (a platform's sudden growth) reads like a lot in some samples:
only a reference of the platform's own creation-week density could tell the
two apart.  Several dense lots within about six weeks can mask each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import pdtrc

from trueclout.features.families.fingerprints import wilson_interval
from trueclout.features.kernels.columns import SECONDS_PER_DAY
from trueclout.features.kernels.grouping import group_rows
from trueclout.features.kernels.segments import Segments

if TYPE_CHECKING:  # audience imports this module
    from trueclout.features.families.audience import ShareEstimate

WEEK_SECONDS = 7 * SECONDS_PER_DAY
# Background weeks: up to half a year either side of the week tested, so slow
# organic changes in density (an account's growth, a platform's growth) set the
# expectation, but never the week itself nor the LOT_GUARD_WEEKS on each side
# (a lot created over two or three weeks must not become its own background).
LOT_WINDOW_WEEKS = 26
LOT_GUARD_WEEKS = 1
# Near rings (weeks LOT_GUARD_WEEKS+1 .. LOT_RING_WEEKS on each side, six weeks
# each, split in a near and a far half for the trend): the expectation is the
# densest of the wide window, the whole support and either ring's median week,
# so a smooth surge of new accounts lasting months (viral growth, a young
# platform) is its own background at its edges, while a lot of one to three
# weeks is not; the median ignores up to two crowded weeks of the same lot.
LOT_RING_WEEKS = 7
# A ring cut short by the support (or by lot weeks left out) speaks only with
# this many weeks left: the median of one or two weeks is one of the lot's own.
LOT_RING_MIN_WEEKS = 3
# The trend needs a dense ring to be read: in a sparse sample the halves
# medians are mostly noise (0 or 1), and growth piling up at the edge is a
# concern only where many followers are created each week.
LOT_TREND_MIN_WEEKLY = 2.0
# One pseudo-follower in the wide window and in the support: a week with no
# neighbours still has a small non-zero background, never an impossible zero.
LOT_PRIOR_FOLLOWERS = 1.0
# A week is a lot when it holds at least LOT_MIN_MEMBERS followers and a
# Poisson count at the background rate reaches it with probability at most
# LOT_P divided by the weeks between the sample's oldest and newest creation
# (Bonferroni over every week a lot could have shown in, not only the occupied
# ones, and halved again for the pair test below): at most about 1 organic
# account in 10,000 shows a false lot (none in 44,000 simulated ones).
LOT_MIN_MEMBERS = 3
LOT_P = 1e-4
# A week next to a lot joins it at a looser level (only one or two neighbours
# are tested per lot, and a lot's spill-over week is weaker evidence on its own).
LOT_EXTEND_MIN = 2
LOT_EXTEND_P = 0.01
# Two consecutive weeks are also tested as one where the background is at most
# this many followers a week: there a lot of a dozen split over a week boundary
# would lose half its evidence; on a dense background the pair test would
# mostly measure how well the background follows the shape of a surge.
LOT_PAIR_MAX_WEEKLY = 2.0
# Passes of flagging: each leaves the weeks flagged so far out of the
# backgrounds, so weeks of a lot that masked each other surface one after the
# other; four reach every week of a lot spread over four or five weeks (FSF's
# 100% came within four).
LOT_PASSES = 4
# Flagged weeks this close (in weeks) are one lot: a batch created over two or
# three weeks, possibly with a quiet week in between.
LOT_MERGE_GAP_WEEKS = 2
# Below this many dated followers a single crowded week is not evidence of
# anything (five followers, three from one week, prove nothing): unknown.
LOT_MIN_DATED = 20
# Lot members delivered together follow within days of each other.
COARRIVAL_DAYS = 7.0

# Weeks are shifted so that week +- window stays positive and inside 32 bits.
_WEEK_OFFSET = 1 << 30
_LOW32 = np.int64(0xFFFFFFFF)


@dataclass(frozen=True)
class LotEvidence:
    """What ``find_lots`` found: per follower row and per account.

    ``in_lot``: per row, 1 when the follower's creation week belongs to a lot,
    0 when not, NaN where its creation date is unknown or its account has
    fewer than ``LOT_MIN_DATED`` dated followers (nothing to judge by).
    Per account: ``share`` is the lots' excess over the background as a share
    of the ``known`` (dated) sample, with a 95% Wilson interval
    (``low``/``high``) that treats the excess as binomial hits;
    ``largest`` the largest lot's excess share; ``lots`` the number of lots;
    ``co_arrival`` the share of lot members with a follow date who followed
    within ``COARRIVAL_DAYS`` of their lot's median follow date (NaN where
    none is known).  Shares are NaN where the account has too few dated
    followers.
    """

    in_lot: np.ndarray
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    largest: np.ndarray
    lots: np.ndarray
    known: np.ndarray
    co_arrival: np.ndarray


@dataclass(frozen=True)
class _Weeks:
    """Occupied (account, week) bins of the judged rows, sorted by account then week."""

    keys: np.ndarray
    counts: np.ndarray
    account: np.ndarray
    week: np.ndarray
    first: np.ndarray  # first and last occupied week of the bin's account: the
    last: np.ndarray  # support, so windows never count weeks the sample cannot reach
    first_bin: np.ndarray  # the account's bins are first_bin:end_bin
    end_bin: np.ndarray

    def at(self, bins: np.ndarray, offset: int) -> np.ndarray:
        """Per bin of ``bins``: the first bin at or after its week + ``offset`` (same account)."""
        return np.searchsorted(self.keys, self.keys[bins] + np.int64(offset), side="left")


def find_lots(created_s: np.ndarray, seg: Segments, followed_s: np.ndarray | None = None, *,
              p_value: float = LOT_P, min_dated: int = LOT_MIN_DATED) -> LotEvidence:
    """Creation-week lots in each account's follower sample (see the module docstring)."""
    created_s = np.asarray(created_s, dtype=np.float64)
    dated = ~np.isnan(created_s)
    known = seg.count(dated)
    judged = known >= min_dated
    rows = np.flatnonzero(dated & judged[seg.ids])
    in_lot = np.full(len(seg), np.nan)
    weeks, codes = _weeks(created_s[rows], seg.ids[rows])
    flagged, excess = _flag(weeks, p_value)
    in_lot[rows] = flagged[codes]
    # Lots: flagged weeks of one account at most LOT_MERGE_GAP_WEEKS apart.
    fw = np.flatnonzero(flagged)
    acc, wk = weeks.account[fw], weeks.week[fw]
    starts = np.ones(len(fw), dtype=bool)
    starts[1:] = (acc[1:] != acc[:-1]) | (wk[1:] - wk[:-1] > LOT_MERGE_GAP_WEEKS)
    lot_of = np.cumsum(starts) - 1
    lot_excess = np.bincount(lot_of, weights=excess[fw], minlength=int(starts.sum()))
    lot_account = acc[starts]
    total = np.bincount(acc, weights=excess[fw], minlength=seg.n)
    lots = np.bincount(lot_account, minlength=seg.n).astype(np.float64)
    largest = np.zeros(seg.n)
    np.maximum.at(largest, lot_account, lot_excess)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(judged, total / np.maximum(known, 1), np.nan)
        largest = np.where(judged, largest / np.maximum(known, 1), np.nan)
    low, high = wilson_interval(total, np.where(judged, known, 0))
    lot_rows = np.full(len(seg), -1, dtype=np.int64)
    lot_index = np.full(len(flagged), -1, dtype=np.int64)
    lot_index[fw] = lot_of
    lot_rows[rows] = lot_index[codes]
    co_arrival = _co_arrival(followed_s, lot_rows, seg, len(lot_excess))
    return LotEvidence(in_lot, share, low, high, largest, np.where(judged, lots, np.nan), known,
                       co_arrival)


def _weeks(created_s: np.ndarray, account: np.ndarray) -> tuple[_Weeks, np.ndarray]:
    """Occupied (account, week) bins and each row's bin, from one sort of packed keys."""
    week = np.floor(created_s / WEEK_SECONDS)
    week = np.clip(week + _WEEK_OFFSET, 4 * LOT_WINDOW_WEEKS, 2**31).astype(np.int64)
    groups = group_rows((account.astype(np.int64) << np.int64(32)) | week)
    keys = groups.keys
    bin_account = keys >> np.int64(32)
    new = np.ones(len(keys), dtype=bool)
    new[1:] = bin_account[1:] != bin_account[:-1]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, len(keys)))
    first_bin = np.repeat(starts, lengths)
    end_bin = first_bin + np.repeat(lengths, lengths)
    bin_week = keys & _LOW32
    return _Weeks(keys, groups.sizes.astype(np.float64), bin_account, bin_week,
                  bin_week[first_bin], bin_week[np.maximum(end_bin - 1, 0)], first_bin,
                  end_bin), groups.codes


class _Background:
    """Followers expected in the week of each of ``bins`` from the account's sample around it.

    Which weeks lie where is found once; only which bins are left out
    (flagged lot weeks) changes between passes.  The expectation is the
    densest of: the mean over the whole support and over the wide window
    (each with one pseudo-follower), and the *median* week of each side's
    ring (robust to up to two crowded weeks of the same lot in it).  Where
    the support cuts the newer ring short (its newest weeks, the last one
    often partial), the older ring's linear trend carried to the week stands
    in too, so a density still rising at the edge (platform or account
    growth up to the observation) is not taken for a lot.  The week and its
    LOT_GUARD_WEEKS neighbours never count.
    """

    def __init__(self, weeks: _Weeks, bins: np.ndarray) -> None:
        g, r, wide = LOT_GUARD_WEEKS, LOT_RING_WEEKS, LOT_WINDOW_WEEKS
        w = weeks.week[bins]
        lo, hi = weeks.first[bins], weeks.last[bins] + 1
        # Window edges as week offsets: a window runs from one edge up to the next.
        self.edges = (-wide, -g, g + 1, wide + 1)
        self.at = {d: weeks.at(bins, d) for d in self.edges}
        self.at["first"], self.at["end"] = weeks.first_bin[bins], weeks.end_bin[bins]
        self.weeks = {d: np.clip(w + d, lo, hi) for d in self.edges}
        self.weeks["first"], self.weeks["end"] = lo, hi
        # Ring weeks, oldest first: -r .. -g-1, then g+1 .. r.  Each is the bin that
        # holds it (-1: an empty week of the support, -2: outside the support).
        offsets = np.r_[-r:-g, g + 1:r + 1]
        self.ring = np.full((len(bins), len(offsets)), -1, dtype=np.int64)
        for k, d in enumerate(offsets):
            at = np.minimum(weeks.at(bins, int(d)), len(weeks.keys) - 1)
            held = weeks.keys[at] == weeks.keys[bins] + np.int64(d)
            self.ring[:, k] = np.where(held, at, -1)
            self.ring[(w + d < lo) | (w + d >= hi), k] = -2
        self.side = r - g  # ring weeks per side
        self.counts = weeks.counts

    def expected(self, excluded: np.ndarray) -> np.ndarray:
        """Expectation per bin with the ``excluded`` bins (of all bins) left out."""
        kept = np.concatenate(([0.0], np.cumsum(np.where(excluded, 0.0, self.counts))))
        gone = np.concatenate(([0], np.cumsum(excluded)))

        def total(a: int | str, b: int | str) -> tuple[np.ndarray, np.ndarray]:
            """Followers kept and weeks not left out, from edge a up to edge b."""
            pa, pb = self.at[a], self.at[b]
            return kept[pb] - kept[pa], (self.weeks[b] - self.weeks[a]) - (gone[pb] - gone[pa])

        guard, guard_weeks = total(-LOT_GUARD_WEEKS, LOT_GUARD_WEEKS + 1)
        rates = []
        for a, b in (("first", "end"), (-LOT_WINDOW_WEEKS, LOT_WINDOW_WEEKS + 1)):
            kept_sum, weeks = total(a, b)
            rates.append((kept_sum - guard + LOT_PRIOR_FOLLOWERS)
                         / np.maximum(weeks - guard_weeks, 1))
        inside = np.where(self.ring >= 0, self.counts[np.maximum(self.ring, 0)], 0.0)
        inside[self.ring == -2] = np.nan  # outside the support
        ring = inside.copy()
        ring[(self.ring >= 0) & excluded[np.maximum(self.ring, 0)]] = np.nan
        n, half = self.side, (self.side + 1) // 2
        older_median, newer_median = (
            _ring_median(ring[:, part], inside[:, part]) for part in (np.s_[:n], np.s_[n:]))
        older = ring[:, :n]
        # The older ring's linear trend carried to the week: its near half (centred
        # half as far away as the far half) twice, less the far half; flat where the
        # far half holds no week to judge the slope by.
        near, far = older[:, n - half:], older[:, :n - half]
        near_median = _row_median(near)
        trend = np.where((~np.isnan(far)).any(axis=1), 2 * near_median - _row_median(far),
                         near_median)
        trend = np.where(older_median >= LOT_TREND_MIN_WEEKLY, trend, 0.0)
        cut = (self.ring[:, n:] == -2).any(axis=1)
        rates += [older_median, np.where(cut, np.maximum(newer_median, trend), newer_median)]
        return np.maximum.reduce(rates)


def _ring_median(kept: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """A ring's median week: 0 with fewer than LOT_RING_MIN_WEEKS weeks in the support;
    over the weeks not left out, or over all of them when too few are left (a lot
    left out must not leave its neighbours judged by a sliver of ring)."""
    enough = (~np.isnan(kept)).sum(axis=1) >= LOT_RING_MIN_WEEKS
    median = np.where(enough, _row_median(kept), _row_median(inside))
    return np.where((~np.isnan(inside)).sum(axis=1) >= LOT_RING_MIN_WEEKS, median, 0.0)


def _row_median(values: np.ndarray) -> np.ndarray:
    """Median of each row's non-NaN values (0 where none): one sort, NaN sorting last."""
    ordered = np.sort(values, axis=1)
    known = (~np.isnan(values)).sum(axis=1)
    lo = np.take_along_axis(ordered, np.maximum((known - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(ordered, np.maximum(known // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(known > 0, (lo + hi) / 2, 0.0)


def _flag(weeks: _Weeks, p_value: float) -> tuple[np.ndarray, np.ndarray]:
    """Lot weeks and each week's excess over its background.

    Only weeks with at least LOT_EXTEND_MIN followers can be lot weeks, so
    only they are tested (few, in an organic sample).  A few passes: weeks
    already flagged are left out of every background in the next pass, so
    one lot never hides another nearby (a vendor's lots of consecutive
    weeks).  A crowded week within LOT_MERGE_GAP_WEEKS of a lot week joins
    the lot at the looser LOT_EXTEND_P, tested with the lot and the other
    weeks beside it left out of its background: two crowded weeks of one lot
    would otherwise stand in each other's rings.  Only weeks beside a core
    week (one found on its own) join, never beside a joined one, so a lot
    never creeps along an organic surge.  Flags only accumulate.
    """
    counts = weeks.counts
    flagged = np.zeros(len(counts), dtype=bool)
    excess = np.zeros(len(counts))
    bins = np.flatnonzero(counts >= min(LOT_EXTEND_MIN, LOT_MIN_MEMBERS))
    if len(bins) == 0:
        return flagged, excess
    background = _Background(weeks, bins)
    c = counts[bins]
    alpha = p_value / (weeks.last[bins] - weeks.first[bins] + 1)
    # Candidate j + 1 is within the merge gap after candidate j, in the same account.
    same = weeks.account[bins[1:]] == weeks.account[bins[:-1]]
    gap = weeks.week[bins[1:]] - weeks.week[bins[:-1]]
    close = np.zeros(len(bins), dtype=bool)
    close[:-1] = same & (gap <= LOT_MERGE_GAP_WEEKS)
    # A batch created over ten days always straddles a week boundary: on a sparse
    # background two consecutive weeks are also tested as one (see
    # LOT_PAIR_MAX_WEEKLY), so a split lot is not lost.
    pair = np.zeros(len(bins), dtype=bool)
    pair[:-1] = same & (gap == 1)
    alpha = alpha / 2  # Bonferroni over single weeks and pairs
    found = np.zeros(len(bins), dtype=bool)
    core = np.zeros(len(bins), dtype=bool)  # lot weeks found on their own, not by joining
    accepted = np.full(len(bins), np.inf)  # the background each lot week was found against
    for _ in range(LOT_PASSES):
        flagged[bins] = found
        expected = background.expected(flagged)
        new = (c >= LOT_MIN_MEMBERS) & (pdtrc(c - 1, expected) <= alpha)
        pair_expected = expected[:-1] + expected[1:]
        both = (pair[:-1] & (pair_expected <= 2 * LOT_PAIR_MAX_WEEKLY)
                & (pdtrc(c[:-1] + c[1:] - 1, pair_expected) <= alpha[:-1]))
        new[:-1] |= both
        new[1:] |= both
        new &= ~found
        accepted = np.where(new, expected, accepted)
        core |= new
        lot = found | new
        # Crowded weeks beside a core week (no chains: a lot never creeps along an
        # organic surge), tested with the lot and each other left out.
        beside = np.zeros(len(bins), dtype=bool)
        beside[1:] |= close[:-1] & core[:-1]
        beside[:-1] |= close[:-1] & core[1:]
        beside &= ~lot & (c >= LOT_EXTEND_MIN)
        flagged[bins] = lot | beside
        expected = background.expected(flagged)
        joins = beside & (pdtrc(c - 1, expected) <= LOT_EXTEND_P)
        accepted = np.where(joins, expected, accepted)
        if not (new | joins).any():
            break
        found = lot | joins
    flagged[bins] = found
    # Excess over the lower of the background a week was found against and the
    # one with every lot week left out: a lot week's own members never raise either.
    expected = np.minimum(accepted, background.expected(flagged))
    excess[bins] = np.where(found, np.maximum(c - expected, 0.0), 0.0)
    return flagged, excess


def _co_arrival(followed_s: np.ndarray | None, lot_rows: np.ndarray, seg: Segments,
                n_lots: int) -> np.ndarray:
    """Share of lot members (with a follow date) who followed near their lot's median."""
    out = np.full(seg.n, np.nan)
    if followed_s is None or n_lots == 0:
        return out
    followed_s = np.asarray(followed_s, dtype=np.float64)
    rows = np.flatnonzero((lot_rows >= 0) & ~np.isnan(followed_s))
    if len(rows) == 0:
        return out
    median = Segments(lot_rows[rows], n_lots).median(followed_s[rows])
    close = np.abs(followed_s[rows] - median[lot_rows[rows]]) <= COARRIVAL_DAYS * SECONDS_PER_DAY
    return Segments(seg.ids[rows], seg.n).mean(close.astype(np.float64))


def combine_share(model: ShareEstimate, lot_share: np.ndarray, lot_low: np.ndarray,
                  lot_high: np.ndarray) -> ShareEstimate:
    """The follower model's fake-share estimate joined with the creation-lot share.

    Lot members are bought; not every bought follower is in a lot, so the lot
    share is a lower bound on the fake share that holds even for a market the
    model never met (premium fakes with genuine-looking counts, created
    together).  Where the lot share exceeds the model's estimate the two
    disagree: the share becomes the lot share and the top of the interval
    the higher of the two tops (it widens upward).  The bottom stays the
    model's: the adjusted score discounts by it, and a lot's share is a share
    of the sample, so one more fake outside the lot dilutes it; had the
    lot's bound entered, adding a fake follower could raise the adjusted
    score (hypothesis found such a case).  ``lot_low`` stays in the
    signature, the one place this rule would change.  Where the lot share
    does not exceed the model's the model's estimate stands unchanged.  NaN
    where the model's estimate is NaN (no follower model: the lot has its
    own feature); the model's estimate where the lot share is unknown.
    """
    lot_share, lot_high = (np.asarray(a, dtype=np.float64) for a in (lot_share, lot_high))
    above = lot_share > model.share  # False wherever either is NaN
    share = np.where(above, lot_share, model.share)
    low = model.low
    high = np.where(above, np.fmax(model.high, lot_high), model.high)
    return replace(model, share=share, low=np.fmin(low, share), high=np.fmax(high, share))
