"""Contributions are computed only for accounts whose reasons are shown (risk >= 0.5).

Skipping TreeSHAP for the others must not change a single assessment: the
same snapshots scored with contributions for every account give the same
contract objects (apart from the fresh ``assessment_id``), on both sides of
the 0.5 line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.service.model_support import sample, sample_doc, shipped_model, with_fake_followers
from trueclout.contract import AccountSnapshot
from trueclout.data import SAMPLES_DIR
from trueclout.features.pipeline import compute_features
from trueclout.files import utc_now
from trueclout.models.account_model import Prediction
from trueclout.models.artifact import Artifact
from trueclout.service.scoring.assess import assess_snapshots
from trueclout.service.scoring.reasons import DEFAULT_POLICY
from trueclout.tables import snapshots_to_tables


class ExplainEveryRow:
    """The shipped model, asked for contributions of every row whatever ``explain_from`` says."""

    def __init__(self, artifact: Artifact) -> None:
        self._artifact = artifact

    def __getattr__(self, name: str) -> Any:
        return getattr(self._artifact, name)

    def predict(self, frame: Any, **options: Any) -> Prediction:
        return self._artifact.predict(frame, **{**options, "explain_from": 0.0})


def snapshots() -> list[AccountSnapshot]:
    samples = [sample(p.stem) for p in sorted(SAMPLES_DIR.glob("*.json"))]
    # A genuine account with bought followers added, under its own id (one row per account).
    raised = AccountSnapshot.model_validate({
        **with_fake_followers(sample_doc("genuine_steady"), 60), "account_id": "raised-steady"})
    return [*samples, raised]


def without_ids(assessments: list[Any]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json", exclude={"assessment_id"}) for a in assessments]


def test_assessments_match_the_path_that_explains_every_account() -> None:
    model = shipped_model()
    batch = snapshots()
    scored_at = utc_now()
    fast = assess_snapshots(batch, model, graph=None, scored_at=scored_at)
    reference = assess_snapshots(batch, ExplainEveryRow(model),  # type: ignore[arg-type]
                                 graph=None, scored_at=scored_at)
    assert without_ids(fast) == without_ids(reference)
    risks = [a.risk.probability for a in fast]
    # Both sides of the line are covered, and reasons appear only above it.
    assert min(risks) < DEFAULT_POLICY.min_probability <= max(risks)
    assert all(a.reasons for a in fast if a.risk.probability >= 0.5 and a.risk.level == "high")
    assert not any(a.reasons for a in fast if a.risk.probability < 0.5)


def test_contributions_are_computed_only_for_explained_rows() -> None:
    model = shipped_model()
    frame = compute_features(snapshots_to_tables(snapshots()),
                             audience_scorer=model.follower_model)
    every = model.predict(frame, contributions="exact")
    some = model.predict(frame, contributions="exact", explain_from=0.5)
    explained = every.risk >= 0.5
    assert explained.any() and not explained.all()
    np.testing.assert_array_equal(some.contributions[explained], every.contributions[explained])
    np.testing.assert_array_equal(some.bias[explained], every.bias[explained])
    assert np.isnan(some.contributions[~explained]).all()
    none = model.predict(frame, contributions="exact", explain_from=1.1)
    assert np.isnan(none.contributions).all()
