"""The analyst's path from the command line: simulate, train, evaluate, promote, roll back.

One small synthetic world trains two models (a reasonable one and a
deliberately weak one); a second world, from another seed, is the evaluation
data both are judged on.  The last step: a server started with the same
settings, and `trueclout score`, score with whichever model is active.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from trueclout.cli import main
from trueclout.data import SAMPLES_DIR
from trueclout.models.artifact import SHIPPED_DIR

pytestmark = pytest.mark.slow

ACCOUNTS = 300
FAST = ["--folds", "2", "--trees", "25", "--forest-trees", "10", "--threads", "1", "-q"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("e2e")
    paths = {"train": root / "train", "eval": root / "eval", "models": root / "models",
             "follower": root / "follower"}
    assert main(["simulate", "-n", str(ACCOUNTS), "--seed", "5", "-o", str(paths["train"])]) == 0
    assert main(["simulate", "-n", str(ACCOUNTS), "--seed", "6", "-o", str(paths["eval"])]) == 0
    from trueclout.models.follower_model import FollowerModel
    from trueclout.training.data.followers import read_followers

    followers = read_followers(paths["train"], "tables")
    followers = followers.take(np.arange(0, len(followers), max(1, len(followers) // 3000)))
    small = FollowerModel(n_estimators=20, noise_copies=2, folds=3, random_state=0)
    small.fit(followers.signals(), followers.labels).save(paths["follower"])
    return paths


@pytest.fixture()
def models_dir(workspace: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    from trueclout.settings import get_settings

    monkeypatch.setenv("TRUECLOUT_MODELS_DIR", str(workspace["models"]))
    get_settings.cache_clear()
    yield workspace["models"]
    get_settings.cache_clear()


def _version(out: str) -> str:
    match = re.search(r"model ([0-9a-f]{12}) written to", out)
    assert match, out
    return match.group(1)


def test_train_evaluate_promote_rollback(workspace: dict[str, Path], models_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    train, data = str(workspace["train"]), str(workspace["eval"])
    code, out, err = run(capsys, "train", train, "--follower-model", str(workspace["follower"]),
                         *FAST)
    assert code == 0, err
    good = _version(out)
    assert (models_dir / good / "report" / "report.html").is_file()
    assert "xgboost" in out and "random_forest" in out

    code, out, err = run(capsys, "evaluate", good, data, "--json", "-q")
    assert code == 0, err
    report = json.loads(out)  # nothing but the JSON on stdout
    for tactic in ("bought_followers", "engagement_ring", "growth_burst"):
        figures = report["tactics"][tactic]
        assert {"roc_auc", "pr_auc", "brier"} <= set(figures)
        for level in ("elevated", "high"):
            assert {"precision", "recall"} <= set(figures["thresholds"][level])
    assert report["model"]["version"] == good

    code, out, err = run(capsys, "models", "promote", good, "--data", data, "--force", "-q")
    assert code == 0, err
    assert f"promoted {good}" in out

    code, out, err = run(capsys, "train", train, "--follower-model", str(workspace["follower"]),
                         "--no-report", "--folds", "2", "--trees", "1", "--max-depth", "1",
                         "--forest-trees", "10", "--threads", "1", "-q")
    assert code == 0, err
    weak = _version(out)

    code, out, err = run(capsys, "evaluate", weak, data, "--against", good, "--out",
                         str(workspace["eval"].parent / "weak-report"), "-q")
    assert code == 0, err
    assert "stability" in out
    assert (workspace["eval"].parent / "weak-report" / "report.html").is_file()

    code, out, err = run(capsys, "models", "promote", weak, "--data", data, "-q")
    assert code == 2
    assert "promotion refused" in err and "--force" in err
    assert "stability" in out and "keep their level" in out

    code, out, err = run(capsys, "models", "list")
    assert code == 0
    active_line = next(line for line in out.splitlines() if "*" in line)
    assert good in active_line

    code, out, err = run(capsys, "models", "promote", weak, "--data", data, "--force", "-q")
    assert code == 0 and "forced despite" in out
    code, out, err = run(capsys, "models", "rollback", "--note", "weak model")
    assert code == 0 and f"to {good}" in out

    # What the service does at start-up: the registry names the model, the loader verifies it.
    from trueclout.features.pipeline import compute_features
    from trueclout.io import read_tables
    from trueclout.models.artifact import load_artifact
    from trueclout.models.registry import ModelRegistry

    artifact = load_artifact(ModelRegistry(models_dir).active())
    assert artifact.version == good and artifact.follower_model is not None
    tables = read_tables(workspace["eval"])
    frame = compute_features(tables, audience_scorer=artifact.follower_model)
    prediction = artifact.predict(frame)
    assert len(prediction.risk) == ACCOUNTS
    assert prediction.flag.sum() == (prediction.level == "high").sum()

    code, out, err = run(capsys, "models", "show", good)
    assert code == 0 and json.loads(out)["version"] == good

    # A server started with the same settings, and `trueclout score`, use the active model.
    sample = SAMPLES_DIR / "genuine_steady.json"
    assert served_version(workspace["eval"].parent / "server-a", sample) == good
    code, out, err = run(capsys, "score", str(sample))
    assert code == 0 and json.loads(out)["model"]["version"] == good
    code, out, err = run(capsys, "models", "rollback", "--note", "back to the shipped model")
    assert code == 0
    shipped = json.loads((SHIPPED_DIR / "card.json").read_text())["version"]
    assert served_version(workspace["eval"].parent / "server-b", sample) == shipped


def served_version(data_dir: Path, snapshot: Path) -> str:
    """Start the service as `trueclout serve` would (settings from the environment), score once."""
    from tests.service.conftest import start_service
    from trueclout.service.scoring.scorer import load_scorer
    from trueclout.settings import Settings

    data_dir.mkdir()
    scorer = load_scorer(Settings(data_dir=data_dir))
    with start_service("sqlite", data_dir, scorer=scorer) as service, \
            service.client(service.new_key("platform")) as client:
        response = client.post("/v1/score", content=snapshot.read_bytes())
    assert response.status_code == 200, response.text
    return response.json()["model"]["version"]


def test_a_tampered_model_is_refused_by_every_command(workspace: dict[str, Path],
                                                      models_dir: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    source = next(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    copy = shutil.copytree(source, tmp_path / "copy")
    booster = copy / "account" / "xgboost" / "bought_followers.ubj"
    raw = bytearray(booster.read_bytes())
    raw[100] ^= 0xFF
    booster.write_bytes(bytes(raw))
    for argv in (["models", "show", str(copy)],
                 ["evaluate", str(copy), str(workspace["eval"]), "--json", "-q"],
                 ["models", "promote", str(copy), "--data", str(workspace["eval"]), "-q"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert "bought_followers.ubj does not match its sha256" in err
        assert "Traceback" not in err


def test_bad_labels_are_refused_before_training(workspace: dict[str, Path], tmp_path: Path,
                                                models_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    labels = pq.read_table(workspace["train"] / "labels.parquet")
    duplicated = tmp_path / "dup.csv"
    pacsv.write_csv(labels.slice(0, 10).append_column("x", [list(range(10))]).select(
        ["account_id", "bought_followers", "engagement_ring", "growth_burst"]).slice(0, 5),
        tmp_path / "part.csv")
    rows = (tmp_path / "part.csv").read_text().splitlines()
    duplicated.write_text("\n".join([*rows, rows[1]]) + "\n")
    code, out, err = run(capsys, "train", str(workspace["train"]), "--labels", str(duplicated),
                         *FAST)
    assert code == 2 and "labelled more than once" in err
    missing = tmp_path / "missing.csv"
    missing.write_text("\n".join(rows) + "\n")
    code, out, err = run(capsys, "train", str(workspace["train"]), "--labels", str(missing),
                         *FAST)
    assert code == 2 and "have no label" in err


def _gpu_visible() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and "GPU" in done.stdout


@pytest.mark.skipif(_gpu_visible(), reason="a GPU is visible: CUDA training is allowed here")
def test_train_on_cuda_without_a_gpu_says_so(workspace: dict[str, Path], models_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "train", str(workspace["train"]), "--device", "cuda", *FAST)
    assert code == 2
    assert "no usable GPU is visible" in err and "--device cpu" in err
