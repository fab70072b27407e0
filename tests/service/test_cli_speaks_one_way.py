"""The CLI speaks one way (issue 16): one `error:` line, -q everywhere long, simulate's folders
read by score and validate, whole error lines in logs, and the analysts' and recruiters'
commands (trust-check, history, feedback decide) on the service's own functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.analysts.conftest import scored
from tests.service.conftest import Service
from tests.service.helpers import unique_snapshot
from trueclout.cli import app, main

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """As a user runs it: a process, stderr a file (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "trueclout.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300, check=False)


@pytest.mark.parametrize("argv", [
    ["keys", "create", "--scope", "admin"],
    ["drift", "--since", "2026-13-01"],
    ["simulate", "-n", "1", "-o", "x", "--no-such-option"],
    ["no-such-command"],
    ["score"],
])
def test_usage_errors_are_one_error_line(argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Usage:" not in err and "Try '" not in err


def _commands(group, path=()):  # type: ignore[no-untyped-def]
    import typer.main

    command = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name), sub


# `rings build` belongs to the ring-store work under way beside this one (service/cli/rings.py).
LONG_COMMANDS = {("simulate",), ("train",), ("evaluate",), ("models", "promote"), ("batch",),
                 ("score",), ("drift",), ("feedback", "export"),
                 ("followers", "train"), ("followers", "cross-validate"),
                 ("dev", "default-model"), ("dev", "ring-injection")}


def test_every_long_command_takes_q() -> None:
    found = dict(_commands(app))
    missing = []
    for path in LONG_COMMANDS:
        command = found.get(path)
        assert command is not None, f"no command {' '.join(path)}"
        if not any("-q" in p.opts for p in command.params):
            missing.append(" ".join(path))
    assert not missing


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim") / "world"
    assert main(["simulate", "-n", "4", "-o", str(folder), "-q"]) == 0
    return folder


def test_validate_and_score_read_the_folders_simulate_writes(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert main(["validate", str(simulated)]) == 0
    assert "4 valid, 0 invalid" in capsys.readouterr().out
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    from trueclout.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["score", str(simulated), "-o", str(tmp_path / "out.jsonl"), "-q"]) == 0
    finally:
        get_settings.cache_clear()
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all("assessment_id" in json.loads(line) for line in lines)


def test_convert_refuses_a_suffix_it_cannot_write(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(SAMPLES / "genuine_steady.json"), str(tmp_path / "out.csv")]) == 2
    assert "error: " in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
    assert main(["convert", str(SAMPLES / "genuine_steady.json"), str(tmp_path / "tables")]) == 0
    assert (tmp_path / "tables" / "profiles.parquet").is_file()


def test_batch_error_lines_are_never_wrapped_in_a_log(tmp_path: Path) -> None:
    long_id = "x" * 120  # one bad record whose message is far wider than 80 columns
    bad = {**unique_snapshot(), "account_id": long_id, "raw_score": "not a number"}
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps(unique_snapshot()) + "\n" + json.dumps(bad) + "\n")
    result = _run("batch", str(data), "-o", str(tmp_path / "out.parquet"), "--no-rings",
                  env={"PATH": "/usr/bin:/bin", "TRUECLOUT_DATA_DIR": str(tmp_path),
                       "HOME": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    line = next(line for line in result.stderr.splitlines() if "line 2" in line)
    assert long_id in line and "raw_score" in line


def test_history_and_feedback_decide_use_the_services_store(
    sqlite_service: Service, same_settings_as,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    analyst_service = sqlite_service
    analyst_key = sqlite_service.new_key("analyst")
    same_settings_as(sqlite_service)
    assessment = scored(sqlite_service, sqlite_service.new_key("platform"))
    account = f"{assessment['platform']}:{assessment['account_id']}"
    assert main(["history", account, "--json"]) == 0
    out, err = capsys.readouterr()
    points = [json.loads(line) for line in out.splitlines()]
    assert [p["assessment_id"] for p in points] == [assessment["assessment_id"]]
    assert "1 assessment(s)" in err
    assert main(["history", "myspace:1"]) == 2
    assert capsys.readouterr().err.startswith("error: --account: unknown platform")

    with analyst_service.client(analyst_key) as client:
        item = client.post("/v1/feedback", json={
            "assessment_id": assessment["assessment_id"], "label": "false_positive"}).json()
    assert main(["feedback", "decide", item["id"], "--status", "upheld", "--note", "checked",
                 "--json"]) == 0
    decided = json.loads(capsys.readouterr().out)
    assert decided["status"] == "upheld" and decided["resolution_note"] == "checked"
    with analyst_service.client(analyst_key) as client:
        assert client.get(f"/v1/feedback/{item['id']}").json()["status"] == "upheld"
    assert main(["feedback", "decide", "fb_nosuchitem", "--status", "rejected"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_trust_check_stores_a_report_from_a_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from trueclout.settings import get_settings

    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["trust-check", str(SAMPLES / "genuine_steady.json"), "--claimed-score",
                     "62", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["scores"]["claimed"] == 62 and report["links"]["page"]
        assert main(["trust-check", str(SAMPLES / "genuine_steady.json"), "--claimed-score",
                     "62"]) == 0
        assert "verdict:" in capsys.readouterr().out
        assert main(["trust-check", "--claimed-score", "62"]) == 2
        assert "give a SNAPSHOT file or --assessment-id" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
