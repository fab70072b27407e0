"""Do values come in rounds?  The share of their variation that lies between rounds.

Engagements of a pod arrive in *rounds*: the pod is called to a post at one
moment, so when the call comes late every member is late.  Given values (log
delays) grouped into *cells* (one post's values), and cells grouped into
*units* (an account, a ring group), the one-way ANOVA intraclass correlation
of each unit says how much of its values' variation lies between cells
rather than within them: about 0 when each value comes on its own time,
towards 1 when the cell decides.  Used by lockstep groups that engage late
(``graph.lockstep``) and by ``benchmarks/real_rounds.py``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def between_cell_share(values: np.ndarray, cell: np.ndarray, unit_of_cell: np.ndarray,
                       n_units: int, *, min_cell: int, min_cells: int) -> np.ndarray:
    """Intraclass correlation of ``values`` by ``cell``, per unit, clipped to [0, 1].

    As ``between_cell_test`` without the p-value.
    """
    return between_cell_test(values, cell, unit_of_cell, n_units, min_cell=min_cell,
                             min_cells=min_cells)[0]


def between_cell_test(values: np.ndarray, cell: np.ndarray, unit_of_cell: np.ndarray,
                      n_units: int, *, min_cell: int, min_cells: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Intraclass correlation per unit (clipped to [0, 1]) and the ANOVA F-test's p-value.

    The p-value is the chance of a between-cell share at least this large if
    cells made no difference: a small group can show a large share by luck,
    so a decision needs both.

    ``cell`` numbers each value's cell (0..len(unit_of_cell)-1) and
    ``unit_of_cell`` each cell's unit (0..n_units-1).  Cells with fewer than
    ``min_cell`` values are left out; a unit with fewer than ``min_cells``
    cells left gets NaN.  Sums of squares around each cell's mean: one pass of
    ``np.bincount``, no sort, the same cost for one unit and a million.
    """
    n_cells = len(unit_of_cell)
    size = np.bincount(cell, minlength=n_cells).astype(np.float64)
    total = np.bincount(cell, weights=values, minlength=n_cells)
    ok = size >= min_cell
    mean = np.nan_to_num(_ratio(total, size))
    within_cell = np.bincount(cell, weights=(values - mean[cell]) ** 2, minlength=n_cells)

    def per_unit(v: np.ndarray) -> np.ndarray:
        return np.bincount(unit_of_cell, weights=np.where(ok, v, 0.0), minlength=n_units)

    cells = per_unit(np.ones(n_cells))
    n = per_unit(size)
    grand = np.nan_to_num(_ratio(per_unit(total), n))
    between = per_unit(size * (mean - grand[unit_of_cell]) ** 2)
    ms_between = _ratio(between, cells - 1)
    ms_within = _ratio(per_unit(within_cell), n - cells)
    # The average cell size, corrected for unequal cells (n0 of the ANOVA estimator).
    n0 = _ratio(n - _ratio(per_unit(size**2), n), cells - 1)
    icc = _ratio(ms_between - ms_within, ms_between + (n0 - 1) * ms_within)
    enough = cells >= min_cells
    with np.errstate(invalid="ignore"):
        p = stats.f.sf(_ratio(ms_between, ms_within), cells - 1, n - cells)
    return (np.where(enough, np.clip(icc, 0.0, 1.0), np.nan),
            np.where(enough, np.nan_to_num(p, nan=1.0), np.nan))
