"""`trueclout train --scheduler ADDRESS`: xgboost.dask on a real local cluster, a usable artifact.

A small world trains the model on the shared local cluster; a second world
(another seed) is the holdout it is judged on, in-process, with the same
evaluation the analysts run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trueclout.cli import main

pytestmark = [pytest.mark.dask, pytest.mark.slow]

FAST = ["--folds", "2", "--trees", "25", "--forest-trees", "10", "--threads", "1",
        "--follower-model", "default", "-q"]
# Holdout ROC-AUC every tactic must reach (measured ~0.99 with these settings; a model
# whose labels and features were misaligned across partitions would sit near 0.5).
AUC_FLOOR = 0.9


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dask-train")
    paths = {"train": root / "train", "holdout": root / "holdout"}
    for seed, path in ((5, paths["train"]), (6, paths["holdout"])):
        assert main(["simulate", "-n", "400", "--seed", str(seed), "-o", str(path),
                     "--followers-sample", "20", "--engagement-scale", "0.2"]) == 0
    return paths


def test_train_on_a_cluster_gives_a_model_that_loads_and_scores(
        worlds: dict[str, Path], tmp_path: Path, dask_scheduler: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    code = main(["train", str(worlds["train"]), "--scheduler", dask_scheduler,
                 "--out", str(out), *FAST])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "xgboost" in printed.out and "logistic_regression" in printed.out

    from trueclout.models.artifact import load_artifact

    artifact = load_artifact(out)  # digests, features and XGBoost version all check out
    distributed = artifact.card["training"]["distributed"]
    assert distributed["engine"] == "xgboost.dask" and distributed["workers"] == 2
    assert artifact.card["training"]["data"]["accounts"] == 400

    capsys.readouterr()
    assert main(["evaluate", str(out), str(worlds["holdout"]), "--json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    for tactic, figures in report["tactics"].items():
        assert figures["roc_auc"] > AUC_FLOOR, (tactic, figures["roc_auc"])

    # The service's batch path scores with it.
    from trueclout.service.batch.chunk import ArtifactScorerSpec
    from trueclout.service.batch.run import BatchOptions, run_batch

    result = run_batch(worlds["holdout"], tmp_path / "scored.parquet",
                       ArtifactScorerSpec(str(out)), BatchOptions(no_rings=True))
    assert result.accounts == 400


def test_json_lines_input_is_refused_for_dask(worlds: dict[str, Path], tmp_path: Path,
                                              dask_scheduler: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from trueclout.io import iter_snapshots, write_jsonl

    jsonl = tmp_path / "in.jsonl"
    write_jsonl(iter_snapshots(worlds["train"]), jsonl)
    (tmp_path / "labels.parquet").write_bytes((worlds["train"] / "labels.parquet").read_bytes())
    code = main(["train", str(jsonl), "--scheduler", dask_scheduler, "--out",
                 str(tmp_path / "m"), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "table folder" in err and "Traceback" not in err
