"""A feature frame saved to disk reads back equal, through plain arrays only."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_a_saved_frame_reads_back_equal_without_pickles(tmp_path: Path) -> None:
    """How a batch run keeps features between its workers' tasks."""
    from trueclout.features.frame import FeatureFrame
    from trueclout.features.pipeline import compute_features
    from trueclout.training.sim.world import simulate_world

    frame = compute_features(simulate_world(30, seed=3).tables)
    frame.save(tmp_path / "frame.npz")
    back = FeatureFrame.load(tmp_path / "frame.npz")
    assert back.account_ids.tolist() == frame.account_ids.tolist()
    assert all(type(a) is str for a in back.account_ids)
    np.testing.assert_array_equal(back.values, frame.values)  # NaN where NaN
    assert back.names == frame.names
    for saved, read in ((frame.sufficiency, back.sufficiency), (frame.context, back.context)):
        assert list(read) == list(saved)
        for key in saved:
            np.testing.assert_array_equal(read[key], saved[key])
