"""`trueclout keys`, `trueclout score` and `trueclout serve`, run as users run them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import orjson
import pytest

from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.cli import main
from trueclout.data import SCHEMA_DIR
from trueclout.service.scoring import scorer as scoring
from trueclout.settings import get_settings

KEY = re.compile(r"tc_[A-Za-z0-9_-]{43}")


def test_keys_created_listed_and_revoked_by_the_cli_work_on_the_server(
    service: Service, same_settings_as, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    same_settings_as(service)
    assert main(["keys", "create", "--scope", "platform", "--name", "cli-test"]) == 0
    out, err = capsys.readouterr()
    assert KEY.fullmatch(out.strip()) and out.count("\n") == 1
    key = out.strip()
    assert "created key" in err
    with service.client(key) as client:
        assert client.post("/v1/score?store=false", json=unique_snapshot()).status_code == 200
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key[:11] in listing and key not in listing and "cli-test" in listing
    key_id = next(line.split()[1] for line in listing.splitlines() if key[:11] in line)
    assert main(["keys", "revoke", key_id]) == 0
    assert "revoked" in capsys.readouterr().err
    with service.client(key) as client:
        assert_error(client.post("/v1/score", json=unique_snapshot()), 401, "unauthorized")


def test_keys_cli_errors_are_messages_not_tracebacks(
    sqlite_service: Service, same_settings_as, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    same_settings_as(sqlite_service)
    assert main(["keys", "create", "--scope", "admin"]) == 2
    assert main(["keys", "create", "--scope", "platform", "--rate", "-1"]) == 2
    assert main(["keys", "revoke", "999999"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert "'admin' is not one of" in err and "--rate must be a positive" in err
    assert "no API key with id 999999" in err


def _jsonl(path: Path, docs: list) -> Path:  # type: ignore[type-arg]
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return path


def test_score_writes_one_api_shaped_assessment_per_line(
    sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(scoring, "load_scorer", lambda settings: DeterministicTestScorer())
    good = [unique_snapshot(), unique_snapshot()]
    bad = mutate(unique_snapshot(), "profile.posts_count", "many")
    source = _jsonl(tmp_path / "in.jsonl", [good[0], bad, good[1]])
    out = tmp_path / "out.jsonl"
    assert main(["score", str(source), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{source}:line 2 (account_id '{bad['account_id']}'): profile.posts_count" in err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["account_id"] for line in lines] == [g["account_id"] for g in good]
    schema = json.loads((SCHEMA_DIR / "assessment.v1.json").read_text())
    for line in lines:
        jsonschema.validate(line, schema)
    with sqlite_service.client(sqlite_service.new_key("platform")) as client:
        api = client.post("/v1/score?store=false", json=good[0]).json()
    volatile = {"assessment_id", "scored_at"}
    assert {k: v for k, v in api.items() if k not in volatile} == {
        k: v for k, v in lines[0].items() if k not in volatile}
    assert list(api) == list(lines[0])  # same fields, same order


def test_score_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(scoring, "load_scorer", lambda settings: DeterministicTestScorer())
    source = tmp_path / "one.json"
    source.write_bytes(orjson.dumps(unique_snapshot(), option=orjson.OPT_INDENT_2))
    assert main(["score", str(source)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and json.loads(out[0])["risk"]["level"] in {"low", "elevated", "high"}


def test_score_without_a_model_refuses_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    _missing_active_model(tmp_path)
    source = _jsonl(tmp_path / "in.jsonl", [unique_snapshot()])
    out = tmp_path / "out.jsonl"
    try:
        assert main(["score", str(source), "--out", str(out)]) == 2
    finally:
        get_settings.cache_clear()
    assert "error: model not loaded" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()


def _missing_active_model(data_dir: Path) -> None:
    """A registry whose active model folder is gone: the service must refuse, not guess."""
    models = data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "registry.json").write_text(json.dumps({"active": "0123456789ab", "stack": [None],
                                                      "history": []}))


def test_production_mode_refuses_the_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUECLOUT_MODE", "production")
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRUECLOUT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["serve"]) == 2
        assert main(["keys", "list"]) == 2
    finally:
        get_settings.cache_clear()
    assert "production mode needs TRUECLOUT_DATABASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "trueclout.db").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trueclout.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_local_serve_prints_a_working_key_and_fails_honestly_without_a_model(
    tmp_path: Path,
) -> None:
    """`trueclout serve --local --workers 2` as `make run` starts it, against the CLI's keys."""
    env = {**os.environ, "TRUECLOUT_DATA_DIR": str(tmp_path)}
    env.pop("TRUECLOUT_DATABASE_URL", None)
    _missing_active_model(tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "trueclout.cli", "serve", "--local", "--port", str(port),
         "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline() + server.stdout.readline() + server.stdout.readline()
        local_key = KEY.search(banner)
        assert local_key, banner
        cli_key = _cli("keys", "create", "--scope", "analyst", env=env).stdout.strip()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "server died"
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {local_key.group()}"}
        error = assert_error(httpx.post(base + "/v1/score", json=unique_snapshot(),
                                        headers=headers), 503, "model_not_loaded")
        assert "model not loaded" in error["message"]
        assert_error(httpx.get(base + "/readyz"), 503, "not_ready", field="model")
        history = httpx.get(base + "/v1/accounts/twitter/a/history",
                            headers={"Authorization": f"Bearer {cli_key}"})
        assert history.status_code == 200, history.text
        for _ in range(4):  # counted by whichever worker answers, summed by /metrics
            httpx.get(base + "/healthz")
        metrics = httpx.get(base + "/metrics").text
        healthz = re.search(
            r'trueclout_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)',
            metrics)
        assert healthz and float(healthz.group(1)) >= 5
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_cli_offers_exactly_the_scopes_the_service_knows() -> None:
    from trueclout.service.cli import ScopeName
    from trueclout.service.db.keys import SCOPES

    assert [s.value for s in ScopeName] == list(SCOPES)


def test_a_bad_setting_is_named_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUECLOUT_MAX_BODY_BYTES", "lots")
    get_settings.cache_clear()
    try:
        assert main(["keys", "list"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "invalid settings: TRUECLOUT_MAX_BODY_BYTES" in err and "Traceback" not in err
