"""The work behind `trueclout followers ...`, called as a test or a notebook would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.models.follower_builders import cresci_folder
from trueclout.errors import UserError
from trueclout.models.follower_model import FollowerModel
from trueclout.training.data.followers import LabelledFollowers, read_followers
from trueclout.training.evaluate.followers import (
    METRIC_KEYS,
    cross_validation_study,
    evaluate_follower_model,
)
from trueclout.training.fit.followers import check_out, train_follower_folder

TREES = 20


class Recorder:
    """A progress that keeps what it was told, ``describe`` included (as StageProgress has)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.advanced = 0
        self.lines: list[str] = []

    def start(self, stage: str, total: int | None) -> None:
        self.total = total

    def advance(self, amount: int = 1) -> None:
        self.advanced += amount

    def note(self, line: str) -> None:
        pass

    def describe(self, stage: str) -> None:
        self.lines.append(stage)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LabelledFollowers]:
    root = tmp_path_factory.mktemp("jobs")
    return {
        "train": read_followers(cresci_folder(root / "train", humans=50,
                                              fakes={"A": 30, "B": 30})),
        "test": read_followers(cresci_folder(root / "test", humans=30,
                                             fakes={"A": 20, "B": 20}, seed=9)),
    }


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("model") / "m"
    progress = Recorder()
    result = train_follower_folder(data["train"], out, trees=TREES, progress=progress)
    return out, result, progress


def test_training_writes_the_folder_its_result_describes(trained) -> None:
    out, result, progress = trained
    assert set(result.metrics) == {"xgboost", "logistic_regression", "random_forest"}
    assert set(METRIC_KEYS) <= set(result.metrics["xgboost"])
    written = json.loads((result.report / "metrics.json").read_text())
    assert result.report == out / "report"
    assert written["metrics"] == result.metrics and written["plots"] == result.plots
    assert all((result.report / plot).stat().st_size > 0 for plot in result.plots)
    assert FollowerModel.load(out).model_id_ == result.model.model_id_
    # one stage, counted to its end, named after the learner it is on
    assert progress.total == progress.advanced == 4
    assert progress.lines[-1] == "cross-validated random_forest"


def test_an_occupied_folder_is_refused_unless_replaced(trained, data) -> None:
    out, _, _ = trained
    with pytest.raises(UserError, match="exists and is not empty"):
        check_out(out)
    with pytest.raises(UserError, match="exists and is not empty"):
        train_follower_folder(data["train"], out, trees=TREES)
    check_out(out, overwrite=True)
    check_out(out / "new")


def test_evaluation_figures_are_what_the_report_holds(trained, data, tmp_path: Path) -> None:
    out, result, _ = trained
    figures = evaluate_follower_model(FollowerModel.load(out), data["test"],
                                      report=tmp_path, title="(test)")
    assert set(METRIC_KEYS) <= set(figures)
    assert (figures["n_fake"], figures["n_human"]) == (40, 30)
    assert figures["model_id"] == result.model.model_id_
    share = figures["fake_share"]
    assert share["true"] == pytest.approx(40 / 70)
    assert 0 <= share["low"] <= share["estimated"] <= share["high"] <= 1
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(
        json.dumps(figures))
    assert "roc.png" in figures["plots"]
    assert "plots" not in evaluate_follower_model(result.model, data["test"])


@pytest.mark.slow
def test_cross_validation_study_counts_every_fold(data, tmp_path: Path) -> None:
    progress = Recorder()
    results = cross_validation_study(data["train"], folds=2, draws=10, baselines=False,
                                     trees=TREES, report=tmp_path, progress=progress)
    assert list(results) == ["by", "data", "cross_validation", "audiences", "plots"]
    # 2 CV folds, one learner, and the audiences' 2 steps
    assert progress.total == progress.advanced == 2 + 2
    assert progress.lines[0] == "2-fold CV: fold 1/2, xgboost"
    assert progress.lines[-1] == "semi-real audiences: done"
    assert len(results["audiences"]["halves"]) == 2
    assert (tmp_path / "audiences.png").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["data"] == results["data"]


def test_without_audiences_the_study_is_the_folds_alone(data) -> None:
    """With no progress given, the study reports nowhere (SilentProgress has no describe)."""
    results = cross_validation_study(data["test"], folds=2, audiences=False, baselines=False,
                                     trees=TREES)
    assert set(results) == {"by", "data", "cross_validation"}
