"""What "the same run" means for two batch outputs: equal rows, equal features (NaN = NaN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def assert_same_run(out_a: Path, out_b: Path, features_a: Path, features_b: Path) -> None:
    """Every assessment row and every feature value equal, in the same order."""
    assert pq.read_table(out_a).equals(pq.read_table(out_b))
    frame_a, frame_b = pq.read_table(features_a), pq.read_table(features_b)
    assert frame_a.column_names == frame_b.column_names
    for name in frame_a.column_names:  # NaN (unknown) equals NaN here
        assert np.array_equal(frame_a.column(name).to_numpy(), frame_b.column(name).to_numpy(),
                              equal_nan=name != "account_id"), name
