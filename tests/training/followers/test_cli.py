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
def test_cross_validate_by_folds_gives_the_folds_and_audiences(folders, capsys,
                                                               tmp_path: Path) -> None:
    capsys.readouterr()
    assert main(["followers", "cross-validate", "--data", str(folders["train"]), "--by",
                 "folds", "--folds", "2", "--draws", "10", "--no-baselines", "--json",
                 "--report", str(tmp_path), *FAST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(METRIC_KEYS) <= set(result["cross_validation"]["metrics"]["xgboost"])
    assert [row["size"] for row in result["audiences"]["halves"][0]["by_size"]][0] == 25
    assert (tmp_path / "audiences.png").is_file() and (tmp_path / "metrics.json").is_file()


@pytest.mark.slow
def test_cross_validate_holds_each_data_set_out_and_names_the_worst(
        folders, capsys, tmp_path: Path) -> None:
    from tests.models.follower_builders import instafake_folder

    root = tmp_path / "root"
    cresci_folder(root / "one", humans=60, fakes={"A": 40}, seed=1)
    cresci_folder(root / "two", humans=60, fakes={"B": 40}, seed=2)
    instafake_folder(root / "insta")
    capsys.readouterr()
    assert main(["followers", "cross-validate", "--data", str(root), "--draws", "10",
                 *FAST]) == 0
    out = capsys.readouterr().out
    assert "held out by dataset" in out and "worst twitter unit:" in out
    assert "twitter -> insta" in out and "instagram -> one" in out
    assert "instagram: one data set (insta) cannot be held out" in out
    assert main(["followers", "cross-validate", "--data", str(root), "--by", "group",
                 "--platform", "twitter", "--no-cross-platform", "--no-audiences", "--json",
                 *FAST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [u["unit"] for u in result["units"]] == ["one/A", "two/B"]
    assert result["units"][0]["tested_on"] == ["one/A", "one/H"]
    assert result["cross_platform"] == []


# --- many data sets, platforms, and the models evaluate accepts ----------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root of two data sets (Twitter ``tw``, Instagram ``ig``) and a folder of neither."""
    root = tmp_path_factory.mktemp("datasets")
    cresci_folder(root / "tw", humans=20, fakes={"A": 10, "B": 10}, seed=11)
    instafake_folder(root / "ig", real=15, fake=5)
    (root / "timelines" / "tweets").mkdir(parents=True)
    return root


def test_evaluate_reads_a_root_and_more_data_noting_skipped_folders(
    trained: Path, folders, root: Path, capsys
) -> None:
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(root), "--data",
                 str(folders["humans"]), "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["n_fake"] == 20 + 5 and figures["n_human"] == 20 + 15 + 25
    assert set(figures["data"]["datasets"]) == {"tw", "ig", "humans"}
    assert figures["data"]["datasets"]["ig"]["platform"] == "instagram"
    note = [line for line in captured.err.splitlines() if "skipped" in line]
    assert len(note) == 1 and str(root / "timelines") in note[0]


def test_platform_keeps_only_those_profiles(trained: Path, root: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(root), "--platform",
                 "instagram", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["data"]["datasets"]) == {"ig"}
    assert figures["n_fake"] == 5 and figures["n_human"] == 15
    assert main(["followers", "evaluate", str(trained), "--data", str(root / "tw"),
                 "--platform", "instagram"]) == 2
    err = capsys.readouterr().err
    assert "error: no follower profiles with platform in ['instagram']" in err
    assert "['twitter']" in err and "Traceback" not in err
    assert main(["followers", "evaluate", str(trained), "--data", str(root), "--platform",
                 "myspace"]) == 2  # not a platform: a usage error
    assert "myspace" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "evaluate", "cross-validate"])
def test_a_missing_data_path_is_one_line_and_exit_2(trained: Path, root: Path, tmp_path: Path,
                                                    command: str, capsys) -> None:
    missing = tmp_path / "no-such-data"
    args = {"train": ["train", "--out", str(tmp_path / "m")],
            "evaluate": ["evaluate", str(trained)],
            "cross-validate": ["cross-validate"]}[command]
    capsys.readouterr()
    assert main(["followers", *args, "--data", str(root), "--data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {missing}: no such folder"
    assert not (tmp_path / "m").exists()


def test_the_same_data_set_twice_is_refused(trained: Path, root: Path, tmp_path: Path,
                                            capsys) -> None:
    again = cresci_folder(tmp_path / "copy" / "tw", humans=5, fakes={"A": 5})
    capsys.readouterr()
    assert main(["followers", "evaluate", str(trained), "--data", str(root), "--data",
                 str(again)]) == 2
    err = capsys.readouterr().err
    assert f"error: {again}: data set 'tw' is already read from {root / 'tw'}" in err


def test_evaluate_default_uses_the_shipped_model(folders, capsys) -> None:
    from trueclout.models.artifact import SHIPPED_DIR

    capsys.readouterr()
    assert main(["followers", "evaluate", "default", "--data", str(folders["test"]),
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(METRIC_KEYS) <= set(figures)
    assert figures["n_fake"] == 40 and figures["n_human"] == 30
    assert 0 <= figures["fake_share"]["low"] <= figures["fake_share"]["high"] <= 1
    # the artifact folder itself is the same model
    assert main(["followers", "evaluate", str(SHIPPED_DIR), "--data", str(folders["test"]),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == figures


def test_an_artifact_without_a_follower_model_is_refused(folders, tmp_path: Path,
                                                          capsys) -> None:
    import shutil

    from trueclout.models.artifact import CARD_FILE, FOLLOWER_COMPONENT, SHIPPED_DIR, card_digest

    artifact = tmp_path / "no-follower"
    shutil.copytree(SHIPPED_DIR, artifact)
    shutil.rmtree(artifact / FOLLOWER_COMPONENT)
    card = json.loads((artifact / CARD_FILE).read_text())
    card["components"].pop(FOLLOWER_COMPONENT)
    card["files"] = {k: v for k, v in card["files"].items()
                     if not k.startswith(FOLLOWER_COMPONENT + "/")}
    card["card_sha256"] = card_digest(card)
    (artifact / CARD_FILE).write_text(json.dumps(card))
    capsys.readouterr()
    assert main(["followers", "evaluate", str(artifact), "--data", str(folders["test"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {artifact}: this model artifact has no follower model")
    assert "Traceback" not in err
