"""The shipped default model: present, intact, built for today's features, and good enough.

`make run` scores with ``models/default`` and no other step, so a default left
stale by a change to the feature registry (it would be refused at start-up)
fails here first: rebuild it with `make model`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trueclout.models.artifact import SHIPPED_DIR, load_artifact, verify_files
from trueclout.models.registry import ModelRegistry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped():
    return load_artifact(SHIPPED_DIR)


def test_shipped_default_loads_with_the_running_pipeline(shipped) -> None:
    from trueclout.features.registry import FEATURE_NAMES, REGISTRY_VERSION

    assert shipped.feature_names == tuple(FEATURE_NAMES)
    assert shipped.registry_version == REGISTRY_VERSION
    assert shipped.follower_model is not None  # audience features as in training
    baselines, notes = shipped.load_baselines()  # for reports; nothing of it is unpickled
    assert set(baselines) == {"logistic_regression", "random_forest"} and not notes


def test_an_empty_registry_serves_the_shipped_default(tmp_path: Path) -> None:
    assert ModelRegistry(tmp_path / "models").active() == SHIPPED_DIR


def test_shipped_default_scores_the_sample_snapshots(shipped) -> None:
    from trueclout.contract import AccountSnapshot
    from trueclout.features.pipeline import compute_features
    from trueclout.tables import snapshots_to_tables

    samples = sorted((REPO / "data" / "samples").glob("*.json"))
    snapshots = [AccountSnapshot.model_validate_json(p.read_bytes()) for p in samples]
    frame = compute_features(snapshots_to_tables(snapshots),
                             audience_scorer=shipped.follower_model)
    prediction = shipped.predict(frame)
    by_name = dict(zip((p.stem for p in samples), prediction.level, strict=True))
    # The genuine samples, viral growth included, must not carry the flag.
    for name, level in by_name.items():
        if name.startswith(("genuine", "viral")):
            assert level != "high", (name, level)


def test_shipped_default_meets_its_bar_on_an_unseen_world() -> None:
    """The holdout figures recorded by `make model` (fresh world, unseen seed)."""
    card = verify_files(SHIPPED_DIR)
    holdout = card["evaluations"]["holdout"]
    for tactic, figures in holdout["tactics"].items():
        assert figures["roc_auc"] >= 0.95, tactic
    viral = next(line for line in holdout["hard_negatives"] if line["kind"] == "viral")
    assert viral["fpr_high"] <= 0.01
    report = json.loads((SHIPPED_DIR / "report" / "holdout" / "report.json").read_text())
    assert report["tactics"]["growth_burst"]["roc_auc"] == holdout["tactics"]["growth_burst"][
        "roc_auc"]
