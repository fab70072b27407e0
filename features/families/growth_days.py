"""Which calendar days the growth signals call follower bursts, per account.

The growth family measures *how much* growth came in bursts
(``growth_burst_share``); pages and analysts also need to know *which days*
(the trust-check page marks them on the follower curve).  This lays the
history on the growth family's own daily grid and applies its own burst rule
(``growth._Daily.burst_days``: robust z >= ``BURST_Z``, a real gain, among the
``MAX_BURST_DAYS`` largest), so a day is listed exactly when it counts
towards ``growth_burst_share``.  Nothing here changes a feature value.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.families.growth import (
    MIN_HISTORY_DAYS,
    MIN_OBSERVATIONS,
    WINDOW_DAYS,
    _Daily,
)
from trueclout.features.kernels.columns import SnapshotColumns, to_days
from trueclout.features.kernels.history import resample_daily, window_observations
from trueclout.tables import SnapshotTables


def burst_days(tables: SnapshotTables) -> list[np.ndarray]:
    """Per account (``profiles`` order), the sorted burst days as ``datetime64[D]`` arrays.

    Accounts whose history is too short for the growth family (its features
    are NaN) get an empty array: no burst is claimed where none was measured.
    """
    cols = SnapshotColumns(tables)
    n = cols.n
    if n == 0:
        return []
    hist = cols.segments("follower_history")
    day = to_days(cols.column("follower_history", "date"))
    obs = window_observations(hist.ids, day, cols.number("follower_history", "followers"), n,
                              WINDOW_DAYS)
    grid = resample_daily(obs, n, min_days=MIN_HISTORY_DAYS, min_observations=MIN_OBSERVATIONS)
    rows = np.flatnonzero(_Daily(grid, n).burst_days())
    # Grid rows run account by account, days ascending: one split gives sorted days each.
    owners = grid.account[rows]
    cuts = np.searchsorted(owners, np.arange(1, n))
    return np.split(grid.day[rows].astype("datetime64[D]"), cuts)
