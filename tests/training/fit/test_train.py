"""`trueclout train`, `evaluate` and `models promote` as library calls, without the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from trueclout.errors import UserError
from trueclout.models.artifact import verify_files
from trueclout.models.registry import ModelRegistry
from trueclout.progress import SilentProgress
from trueclout.training.evaluate.run import (
    NO_ACTIVE_MODEL,
    EvaluateRequest,
    PromoteRequest,
    evaluate_model,
    promote_model,
)
from trueclout.training.fit.account import TrainingConfig
from trueclout.training.fit.train import TrainRequest, train_model
from trueclout.training.sim.world import write_world

CONFIG = TrainingConfig(folds=2, trees=15, forest_trees=5, threads=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("train-lib") / "world"
    write_world(folder, 200, 5)
    return folder


def _registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", shipped_dir=tmp_path / "no-shipped-model")


@pytest.mark.slow
def test_train_evaluate_and_promote_without_the_command_line(world: Path, tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    request = TrainRequest(world, config=CONFIG, name="library", follower_model="none",
                           no_rings=True, write_report=False)
    outcome = train_model(request, registry=registry, progress=SilentProgress())
    assert outcome.committed and not outcome.existed
    assert outcome.path == outcome.trained.path == registry.models_dir / outcome.version
    card = verify_files(outcome.path)
    assert card["version"] == outcome.version and card["name"] == "library"
    assert card["training"]["rings"] == "none"
    assert card["training"]["follower_model"]["source"].startswith("none")
    # The staging folder went into place: the models directory holds the model and nothing else.
    assert [p.name for p in registry.models_dir.iterdir()] == [outcome.version]

    evaluated = evaluate_model(EvaluateRequest(outcome.version, world, no_rings=True),
                               registry=registry)
    assert evaluated.artifact.version == outcome.version
    assert {"report.html", "report.json"} <= set(evaluated.files)

    promoted = promote_model(PromoteRequest(outcome.version, world, no_rings=True),
                             registry=registry)
    assert promoted.without_comparison == NO_ACTIVE_MODEL and promoted.check is None
    assert registry.active_version() == outcome.version


def test_a_failed_run_leaves_nothing_in_the_models_directory(world: Path, tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    too_many_folds = TrainRequest(world, config=TrainingConfig(folds=500, threads=1),
                                  follower_model="none", no_rings=True, write_report=False)
    with pytest.raises(UserError, match="fold"):
        train_model(too_many_folds, registry=registry)
    assert list(registry.models_dir.iterdir()) == []
