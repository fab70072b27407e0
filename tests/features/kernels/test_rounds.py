"""Between-cell share: rounds show as variation between posts, independent timing does not."""

from __future__ import annotations

import numpy as np

from trueclout.features.kernels.rounds import between_cell_share, between_cell_test


def cells_of(rng: np.random.Generator, n_cells: int, size: int, between: float,
             within: float) -> tuple[np.ndarray, np.ndarray]:
    cell = np.repeat(np.arange(n_cells), size)
    values = rng.normal(0, between, n_cells)[cell] + rng.normal(0, within, len(cell))
    return values, cell


def test_a_shared_start_per_cell_gives_its_share_and_a_tiny_p_value() -> None:
    rng = np.random.default_rng(0)
    values, cell = cells_of(rng, 200, 8, between=1.0, within=1.0)
    share, p = between_cell_test(values, cell, np.zeros(200, dtype=np.int64), 1,
                                 min_cell=3, min_cells=3)
    assert abs(share[0] - 0.5) < 0.08  # 1 / (1 + 1) of the variance lies between cells
    assert p[0] < 1e-20


def test_independent_values_give_a_share_near_zero_and_no_evidence() -> None:
    rng = np.random.default_rng(1)
    values, cell = cells_of(rng, 200, 8, between=0.0, within=1.0)
    share, p = between_cell_test(values, cell, np.zeros(200, dtype=np.int64), 1,
                                 min_cell=3, min_cells=3)
    assert share[0] < 0.05
    assert p[0] > 1e-3


def test_units_are_judged_apart_and_thin_units_get_nan() -> None:
    rng = np.random.default_rng(2)
    pod, pod_cell = cells_of(rng, 30, 6, between=1.0, within=0.3)
    crowd, crowd_cell = cells_of(rng, 30, 6, between=0.0, within=1.0)
    values = np.r_[pod, crowd, [1.0, 2.0, 3.0]]
    cell = np.r_[pod_cell, crowd_cell + 30, [60, 60, 61]]
    unit_of_cell = np.r_[np.zeros(30), np.ones(30), [2, 2]].astype(np.int64)
    share, p = between_cell_test(values, cell, unit_of_cell, 3, min_cell=3, min_cells=3)
    assert share[0] > 0.8 and p[0] < 1e-10
    assert share[1] < 0.1 and p[1] > 1e-4
    assert np.isnan(share[2]) and np.isnan(p[2])  # one usable cell: no verdict
    assert np.array_equal(between_cell_share(values, cell, unit_of_cell, 3, min_cell=3,
                                             min_cells=3), share, equal_nan=True)
