"""`trueclout validate` and `convert` as a user runs them: messages, line numbers, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import mutate, snapshot_dict


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trueclout.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_validate_reports_every_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps(snapshot_dict("ok-1")),
        json.dumps(mutate(snapshot_dict("bad-2"), "profile.posts_count", -3)),
        "{not json",
        json.dumps(snapshot_dict("ok-4")),
        json.dumps(mutate(snapshot_dict("bad-5"), "engagements[1].post_id", "ghost")),
    ]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n")
    res = run_cli("validate", str(f))
    assert res.returncode == 1
    assert "line 2 (account_id 'bad-2'): profile.posts_count" in res.stderr
    assert "line 3:" in res.stderr and "json" in res.stderr.lower()
    assert "line 5 (account_id 'bad-5'): engagements[1].post_id: does not name a post" in res.stderr
    assert "2 valid, 3 invalid" in res.stdout
    assert "Traceback" not in res.stderr


def test_validate_good_file_exits_zero(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps(snapshot_dict(), indent=1))
    res = run_cli("validate", str(f))
    assert res.returncode == 0, res.stderr
    assert "1 valid, 0 invalid" in res.stdout


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    res = run_cli("validate", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 2
    assert "no such file" in res.stderr and "Traceback" not in res.stderr


def test_convert_jsonl_to_tables_and_back(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(snapshot_dict(f"a{i}")) for i in range(5)) + "\n")
    assert run_cli("convert", str(src), str(tmp_path / "tables")).returncode == 0
    assert (tmp_path / "tables" / "engagements.parquet").exists()
    res = run_cli("convert", str(tmp_path / "tables"), str(tmp_path / "out.jsonl"))
    assert res.returncode == 0, res.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 5
