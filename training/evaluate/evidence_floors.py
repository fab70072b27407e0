"""Measure evidence floors: what genuine accounts of a seeded synthetic world show.

The service keeps the floors (``service.scoring.evidence``) and never
simulates; ``trueclout dev evidence-floors`` composes the two and writes the
figures the service reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

TACTIC_LABELS = ("bought_followers", "growth_burst", "engagement_ring")


def measure_floors(names: Sequence[str], *, percentile: float, n_accounts: int, seed: int
                   ) -> dict[str, Any]:
    """The ``percentile``-th percentile of each feature over a world's genuine accounts."""
    from trueclout.features.pipeline import compute_features
    from trueclout.training.sim.world import simulate_world

    world = simulate_world(n_accounts, seed)
    frame = compute_features(world.tables)
    manipulated = np.column_stack([np.asarray(world.labels.column(c)).astype(bool)
                                   for c in TACTIC_LABELS]).any(axis=1)
    floors = {}
    for name in names:
        values = frame.column(name)[~manipulated]
        values = values[~np.isnan(values)]
        if len(values):
            floors[name] = round(float(np.percentile(values, percentile)), 4)
    return {"percentile": percentile, "world_accounts": n_accounts, "seed": seed,
            "genuine_accounts": int((~manipulated).sum()), "floors": floors}
