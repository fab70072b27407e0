"""Each check rejects a subject broken in exactly its way, and passes the same subject unbroken.

A check that cannot fail proves nothing; these mutants keep every check honest
as the checks and their comparison helper change (scikit-learn tests its
estimator checks on broken estimators the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conformance import checks
from tests.conformance.checks import ITEM, Outputs, Subject


class Centroids(Subject):
    """A nearest-centroid scorer on random data; ``defect`` names the one thing it gets wrong."""

    persists = True
    order_tolerance = 1e-12  # means of the same rows summed in another order

    def __init__(self, defect: str | None = None) -> None:
        super().__init__()
        self.name = f"centroids[{defect}]"
        self.defect = defect
        rng = np.random.default_rng(0)
        self.y = rng.integers(0, 2, 200)
        self.x = rng.normal(self.y[:, None], 1.0, (200, 3))
        self.items = rng.normal(0.5, 1.0, (30, 3))
        self.n_items = len(self.items)

    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> dict[str, Any]:
        order = np.arange(len(self.y)) if shuffle is None else shuffle.permutation(len(self.y))
        x, y = self.x[order], self.y[order]
        weight = np.ones(len(y))
        if self.defect == "order_sensitive":
            weight[0] = 3.0  # the first row counts more
        rng = np.random.default_rng(None if self.defect == "unseeded" else seed)
        centroids = np.array([np.average(x[y == k], axis=0, weights=weight[y == k])
                              for k in (0, 1)])
        return {"centroids": centroids + rng.normal(0, 1e-3, centroids.shape)}

    def outputs(self, fitted: dict[str, Any], items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        x = self.items[items]
        if self.defect == "batch_statistics":
            x = x - x.mean(axis=0)
        d = np.linalg.norm(x[:, None, :] - fitted["centroids"][None], axis=2)
        score = d[:, 0] - d[:, 1]
        if self.defect == "position_in_batch":
            score = score + 1e-3 * np.arange(len(score))
        return {ITEM: np.asarray(items), "score": score, "flag": score > 0}

    def round_trip(self, fitted: dict[str, Any], folder: Path) -> dict[str, Any]:
        path = folder / "centroids.npy"
        centroids = fitted["centroids"]
        np.save(path, centroids.round(2) if self.defect == "lossy_save" else centroids)
        return {"centroids": np.load(path)}


def _round_trip(subject: Subject) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        checks.check_round_trip(subject, Path(folder))


CAUGHT_BY: dict[str, tuple[Callable[[Subject], None], str]] = {
    "seed_idempotence": (checks.check_seed_idempotence, "unseeded"),
    "training_order": (checks.check_training_order, "order_sensitive"),
    "scoring_order": (checks.check_scoring_order, "position_in_batch"),
    "round_trip": (_round_trip, "lossy_save"),
    "one_in_many": (checks.check_one_in_many, "batch_statistics"),
}


@pytest.mark.parametrize("check", sorted(CAUGHT_BY))
def test_a_sound_subject_passes(check: str) -> None:
    CAUGHT_BY[check][0](Centroids())


@pytest.mark.parametrize("check", sorted(CAUGHT_BY))
def test_the_subject_broken_in_its_way_fails(check: str) -> None:
    run, defect = CAUGHT_BY[check]
    with pytest.raises(AssertionError):
        run(Centroids(defect))
