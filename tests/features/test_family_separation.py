"""On the synthetic world, each family alone separates its own tactic (ROC-AUC >= 0.8).

``benchmarks/feature_families.py`` prints the full table on a larger world;
this keeps the design requirement from regressing.
"""

from __future__ import annotations

import numpy as np
import pytest

from trueclout.features.pipeline import compute_features
from trueclout.features.registry import FEATURES_BY_FAMILY, GRAPH_FEATURES

OWN_TACTIC = {"audience": "bought_followers", "growth": "growth_burst",
              "engagement": "engagement_ring"}


@pytest.fixture(scope="module")
def world_features():
    simulate = pytest.importorskip("trueclout.training.sim.world")
    world = simulate.simulate_world(1_500, seed=11)
    frame = compute_features(world.tables)
    labels = world.labels.to_pandas().set_index("account_id").loc[list(frame.account_ids)]
    return frame, labels


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(OWN_TACTIC))
def test_family_alone_separates_its_tactic(world_features, family: str) -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, labels = world_features
    cols = [frame.names.index(n) for n in FEATURES_BY_FAMILY[family] if n not in GRAPH_FEATURES]
    y = labels[OWN_TACTIC[family]].to_numpy()
    groups = labels["group_id"].fillna(labels.index.to_series()).to_numpy()
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(), LogisticRegression(max_iter=5_000))
    p = cross_val_predict(model, frame.values[:, cols], y, groups=groups,
                          cv=StratifiedGroupKFold(5, shuffle=True, random_state=0),
                          method="predict_proba")[:, 1]
    assert y.sum() >= 30, "too few positives in the world to judge"
    assert roc_auc_score(y, p) >= 0.8
    assert np.isfinite(p).all()
