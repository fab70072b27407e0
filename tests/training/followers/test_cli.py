"""`trueclout followers train | evaluate | cross-validate` as users and scripts run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.models.follower_builders import (
    cresci_folder,
    cresci_profiles,
    instafake_folder,
    write_csv,
)
from trueclout.cli import main
from trueclout.training.evaluate.followers import METRIC_KEYS

FAST = ["--trees", "20"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("followers")
    return {
        "train": cresci_folder(root / "train", humans=50, fakes={"A": 30, "B": 30}),
        "test": cresci_folder(root / "test", humans=30, fakes={"A": 20, "B": 20}, seed=9),
        "humans": cresci_folder(root / "humans", humans=25, fakes={}, seed=4),
        "insta": instafake_folder(root / "insta", real=30, fake=15),
        "root": root,
    }


@pytest.fixture(scope="module")
def trained(folders: dict[str, Path]) -> Path:
    out = folders["root"] / "model"
    assert main(["followers", "train", "--data", str(folders["train"]), "--out", str(out),
                 *FAST]) == 0
    return out


def test_train_writes_a_model_folder_with_its_report(trained: Path) -> None:
    assert (trained / "manifest.json").is_file() and (trained / "booster.ubj").is_file()
    report = json.loads((trained / "report" / "metrics.json").read_text())
    assert set(report["metrics"]) == {"xgboost", "logistic_regression", "random_forest"}
    assert set(METRIC_KEYS) <= set(report["metrics"]["xgboost"])
    for plot in ("roc.png", "pr.png", "calibration.png", "score_distributions.png",
                 "feature_importance.png"):
        assert (trained / "report" / plot).stat().st_size > 0


def test_evaluate_json_prints_only_the_figures(trained: Path, folders, capsys) -> None:
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(folders["test"]),
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(METRIC_KEYS) <= set(figures)
    assert figures["n_fake"] == 40 and figures["n_human"] == 30
    assert 0 <= figures["fake_share"]["low"] <= figures["fake_share"]["high"] <= 1


@pytest.mark.parametrize("which", ["humans", "insta"])
def test_evaluate_runs_on_any_supported_folder(trained: Path, folders, which: str,
                                               capsys, tmp_path: Path) -> None:
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(folders[which]),
                 "--json", "--report", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(METRIC_KEYS) <= set(figures)
    if which == "humans":  # one class: figures that need both are null, not made up
        assert figures["n_fake"] == 0 and figures["mcc"] is None and figures["roc_auc"] is None
        assert not (tmp_path / "roc.png").exists()
    else:
        assert "username_entropy" in figures["data"]["lacks"]
    assert (tmp_path / "metrics.json").is_file()


def test_evaluate_prints_a_readable_summary(trained: Path, folders, capsys) -> None:
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(folders["insta"])]) == 0
    out = capsys.readouterr().out
    assert "roc_auc" in out and "fake share of the whole set" in out
    assert "unknown to the model, not zero" in out


def test_bad_input_is_one_message_and_exit_2(trained: Path, tmp_path: Path, capsys) -> None:
    rows = cresci_profiles("human", 3, 0)
    rows[2]["followers_count"] = "n/a"
    write_csv(tmp_path / "bad" / "humans_X.csv", rows)
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "error: humans_X.csv, record 3: column 'followers_count'" in err
    assert "Traceback" not in err
    assert main(["followers", "evaluate", str(tmp_path), "--data", str(tmp_path / "bad")]) == 2
    assert "not a follower model" in capsys.readouterr().err
    assert main(["followers", "train", "--data", str(tmp_path / "bad"), "--out",
                 str(trained)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_train_needs_both_classes(folders, tmp_path: Path, capsys) -> None:
    assert main(["followers", "train", "--data", str(folders["humans"]), "--out",
                 str(tmp_path / "m"), *FAST]) == 2
    assert "at least 5 bought and 5 human profiles" in capsys.readouterr().err


@pytest.mark.slow
def test_cross_validate_json_has_every_study(folders, capsys, tmp_path: Path) -> None:
    capsys.readouterr()
    assert main(["followers", "cross-validate", "--data", str(folders["train"]), "--folds", "2",
                 "--market-folds", "2", "--draws", "10", "--no-baselines", "--json",
                 "--report", str(tmp_path), *FAST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(METRIC_KEYS) <= set(result["cross_validation"]["metrics"]["xgboost"])
    assert set(result["leave_one_market_out"]) == {"A", "B"}
    assert result["leave_one_market_out"]["A"]["trained_on"] == ["B"]
    assert [row["size"] for row in result["audiences"]["by_size"]] == [20, 50, 100, 200, 500,
                                                                       1000]
    assert (tmp_path / "audiences.png").is_file() and (tmp_path / "metrics.json").is_file()
