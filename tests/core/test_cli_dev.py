"""The hidden `trueclout dev` group: listed only under its own help, each tool one library call."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from trueclout.cli import dev, main

DEV_COMMANDS = {"default-model", "samples", "calibrate-sim", "sim-to-real", "ring-injection",
                "feature-docs", "evidence-floors", "schema", "migrate"}


def _listed_commands(text: str) -> set[str]:
    """Command names in a help screen's command table (first word of each row)."""
    return {m.group(1) for m in re.finditer(r"^\W*([a-z][a-z-]*)\s{2,}", text, re.MULTILINE)}


def test_dev_is_hidden_from_the_main_help_and_lists_every_tool(capsys) -> None:
    assert main(["--help"]) == 0
    top = _listed_commands(capsys.readouterr().out)
    assert "validate" in top and "dev" not in top
    assert main(["dev", "--help"]) == 0
    listed = _listed_commands(capsys.readouterr().out)
    assert DEV_COMMANDS <= listed
    assert set(typer.main.get_group(dev.app).commands) == DEV_COMMANDS
    assert main(["dev", "migrate", "--help"]) == 0
    assert {"revision", "upgrade"} <= _listed_commands(capsys.readouterr().out)


def _default(command: Any, name: str) -> Any:
    return inspect.signature(command).parameters[name].default


def test_dev_defaults_are_the_librarys() -> None:
    from trueclout.training.evaluate import ring_injection as ri
    from trueclout.training.fit import default_model as dm
    from trueclout.training.sim import realism

    assert _default(dev.default_model, "accounts") == dm.TRAIN_ACCOUNTS
    assert _default(dev.default_model, "holdout_accounts") == dm.HOLDOUT_ACCOUNTS
    assert _default(dev.default_model, "threads") == _default(dm.build, "threads")
    assert _default(dev.sim_to_real, "accounts") == realism.TRANSFER_ACCOUNTS
    assert _default(dev.sim_to_real, "seed") == realism.TRANSFER_SEED
    assert _default(dev.sim_to_real, "rows") == realism.TRANSFER_ROWS
    study = inspect.signature(ri.injection_study).parameters
    assert _default(dev.ring_injection, "sizes") == ",".join(map(str, study["sizes"].default))
    assert _default(dev.ring_injection, "densities") == ",".join(
        map(str, study["densities"].default))
    assert _default(dev.ring_injection, "camouflage") == ",".join(study["camouflage"].default)
    for name in ("accounts", "seed", "members"):
        assert _default(dev.ring_injection, name) == study[name].default
    assert _default(dev.ring_injection, "datasets") == study["datasets"].default


def test_default_model_builds_the_shipped_model_like_make_model(monkeypatch, tmp_path) -> None:
    from trueclout.training.fit import default_model as dm

    calls: list[tuple[str, tuple, dict]] = []
    monkeypatch.setattr(dm, "build", lambda *a, **k: calls.append(("build", a, k)))
    monkeypatch.setattr(dm, "attach_training_reference",
                        lambda *a, **k: calls.append(("reference", a, k)) or "the source")
    assert main(["dev", "default-model"]) == 0
    assert calls.pop() == ("build", (dm.SHIPPED_DIR,), {
        "accounts": dm.TRAIN_ACCOUNTS, "holdout_accounts": dm.HOLDOUT_ACCOUNTS, "threads": 2,
        "work_dir": None, "quiet": False, "datasets": None, "report": typer.echo})
    assert main(["dev", "default-model", "--out", str(tmp_path), "--accounts", "50",
                 "--threads", "1", "--work-dir", str(tmp_path), "--quiet",
                 "--datasets", str(tmp_path / "data")]) == 0
    assert calls.pop() == ("build", (tmp_path,), {
        "accounts": 50, "holdout_accounts": dm.HOLDOUT_ACCOUNTS, "threads": 1,
        "work_dir": tmp_path, "quiet": True, "datasets": tmp_path / "data",
        "report": typer.echo})
    assert main(["dev", "default-model", "--reference-only", "--quiet"]) == 0
    assert calls.pop() == ("reference", (dm.SHIPPED_DIR,), {"work_dir": None, "quiet": True})


def test_default_model_without_the_research_data_says_where_it_looked(tmp_path: Path,
                                                                     capsys) -> None:
    missing = tmp_path / "nowhere"
    assert main(["dev", "default-model", "--out", str(tmp_path / "m"), "--datasets",
                 str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(missing) in err and "TRUECLOUT_DATASETS" in err
    assert "Traceback" not in err and not (tmp_path / "m").exists()


def test_samples_go_to_data_samples_by_default(monkeypatch, capsys) -> None:
    from trueclout.data import SAMPLES_DIR
    from trueclout.training.sim import samples

    folders: list[Path] = []
    monkeypatch.setattr(samples, "write_samples",
                        lambda folder: folders.append(folder) or [folder / "a.json"])
    assert main(["dev", "samples"]) == 0
    assert folders == [SAMPLES_DIR]
    assert capsys.readouterr().out == f"{SAMPLES_DIR / 'a.json'}\n"


def test_calibrate_sim_names_the_missing_data_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["dev", "calibrate-sim", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "retweet-timelines" in err and "Traceback" not in err


def test_migrate_upgrade_brings_the_configured_database_to_head(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from trueclout.service.db.migrate import current_revision, head_revision

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    res = subprocess.run([sys.executable, "-m", "trueclout.cli", "dev", "migrate", "upgrade"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TRUECLOUT_DATABASE_URL": url,
                              "TRUECLOUT_DATA_DIR": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    engine = create_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrate_revision_needs_a_message(capsys) -> None:
    assert main(["dev", "migrate", "revision"]) == 2
    assert "--message" in capsys.readouterr().err


@pytest.mark.realdata
def test_calibrate_sim_prints_every_fit_beside_its_constant(datasets_dir: Path, capsys) -> None:
    for folder in ("retweet-timelines", "cresci-2015"):
        if not (datasets_dir / folder).is_dir():
            pytest.skip(f"{datasets_dir / folder} not present")
    assert main(["dev", "calibrate-sim", str(datasets_dir)]) == 0
    out = capsys.readouterr().out
    assert "repost delays: n=" in out and "DELAY_LOG_MEAN" in out
    assert "follower-profile laws" in out and "screen-name patterns" in out
