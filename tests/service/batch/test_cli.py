"""`trueclout batch` from the command line: a run, and every refusal as one message, exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from trueclout.cli import main
from trueclout.io import write_tables


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trueclout.training.sim.world import simulate_world

    folder = tmp_path_factory.mktemp("cli-batch") / "tables"
    write_tables(simulate_world(60, seed=31, followers_sample=10, engagement_scale=0.05,
                                history_days=60).tables, folder)
    return folder


def test_batch_scores_a_folder(tables: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.parquet"
    code, _, err = run(capsys, "batch", str(tables), "--out", str(out), "--model", "default",
                       "--chunk-accounts", "25", "--run-id", "r", "--scored-at",
                       "2026-06-02T00:00:00Z", "--workers", "2", "-q")
    assert code == 0, err
    assert "scored 60 account(s)" in err and "in-process, 2 worker processes" in err
    assert pq.read_table(out).num_rows == 60


def test_bad_json_lines_exit_1_naming_the_line(tables: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"account_id": "a1"}\n')
    code, _, err = run(capsys, "batch", str(source), "--out", str(tmp_path / "o.parquet"),
                       "--model", "default", "-q")
    assert code == 2 and "no valid snapshot" in err
    assert ":line 1" in err and "Traceback" not in err


def _garbage(file: Path) -> Path:
    file.write_bytes(b"not parquet")
    return file.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("make", "args", "message"), [
    (lambda d: d, [], "needs profiles.parquet"),
    (lambda d: _garbage(d / "profiles.parquet"), [], "not a readable Parquet file"),
    (None, ["--ring-table", "rings.parquet", "--no-rings"], "contradict"),
    (None, ["--on-error", "maybe"], "--on-error"),
    (None, ["--scored-at", "yesterday"], "--scored-at"),
    (None, ["--model", "nope"], "nope"),
    (None, ["--ring-table", "missing.parquet"], "no ring table"),
    (None, ["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler"),
    (None, ["--scheduler", "tcp://127.0.0.1:{port}", "--workers", "2"],
     "--workers sizes this machine's processes"),
])
def test_refusals_are_one_message_and_exit_2(make, args: list[str], message: str,  # type: ignore[no-untyped-def]
                                             tables: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trueclout.cluster.CONNECT_TIMEOUT_SECONDS", 1)
    if make is None:
        source = tables
    else:
        (tmp_path / "folder").mkdir()
        source = make(tmp_path / "folder")
    args = [a.format(port=_free_port()) if "{port}" in a else
            str(tmp_path / a) if a.endswith(".parquet") else a for a in args]
    out = tmp_path / "out.parquet"
    code, _, err = run(capsys, "batch", str(source), "--out", str(out), "--model", "default",
                       "-q", *args)
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_output_in_a_missing_folder_is_refused(tables: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "batch", str(tables), "--out",
                       str(tmp_path / "nowhere" / "o.parquet"), "--model", "default", "-q")
    assert code == 2 and "no such folder" in err
