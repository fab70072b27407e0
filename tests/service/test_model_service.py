"""The service with the real scorer (the shipped default model) over real HTTP.

The server loads its scorer as `trueclout serve` does (``load_scorer`` with
the settings: an empty models directory falls back to the shipped default).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from tests.service.conftest import Service, start_service
from tests.service.helpers import unique_snapshot
from tests.service.model_support import (
    GENUINE_SAMPLES,
    model_scorer_for,
    sample_doc,
    shipped_model,
)
from tests.strategies import snapshots
from trueclout.cli import main
from trueclout.contract import AccountSnapshot
from trueclout.data import SCHEMA_DIR
from trueclout.settings import get_settings

SCHEMA = json.loads((SCHEMA_DIR / "assessment.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
VOLATILE = {"assessment_id", "scored_at"}
SAMPLES = ("bought_followers", "ring_member", "new_thin", *GENUINE_SAMPLES)


@pytest.fixture(scope="module")
def model_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("model")
    with start_service("sqlite", data_dir, scorer=model_scorer_for(data_dir)) as svc:
        yield svc


@pytest.fixture(scope="module")
def key(model_service: Service) -> str:
    return model_service.new_key("platform", "analyst")


def stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VOLATILE}


def test_ready_with_the_shipped_model(model_service: Service, key: str) -> None:
    with model_service.client(key) as client:
        ready = client.get("/readyz")
        card = client.get("/v1/models/active").json()
    assert ready.status_code == 200 and ready.json()["checks"]["model"] == "loaded"
    shipped = shipped_model()
    assert (card["name"], card["version"]) == (shipped.name, shipped.version)
    shown = dict(card["card"])
    # Beside the card itself: whether its signature was checked (no key here: unsigned).
    assert shown.pop("signature_check") == {"status": "unsigned",
                                            "note": shipped.signature_note}
    assert shown == shipped.card and "thresholds" in shown


def test_score_returns_the_full_assessment(model_service: Service, key: str) -> None:
    with model_service.client(key) as client:
        response = client.post("/v1/score", json=sample_doc("bought_followers"))
    assert response.status_code == 200, response.text
    body = response.json()
    VALIDATOR.validate(body)
    assert body["model"] == {"name": shipped_model().name, "version": shipped_model().version}
    assert body["risk"]["flag"] and body["adjusted_score"] < body["raw_score"]
    assert body["reasons"] and body["authentic_reach"] is not None
    assert body["evidence"]["suspicious_days"]
    assert body["confidence"]["level"] in ("high", "medium", "low", "insufficient")
    assert model_service.stored()[body["assessment_id"]] == response.text


def test_history_grows_with_each_assessment(model_service: Service, key: str) -> None:
    snap = unique_snapshot(followers=12, posts=4, engagements_per_post=3, history_days=20)
    path = f"/v1/accounts/twitter/{snap['account_id']}/history"
    with model_service.client(key) as client:
        ids = [client.post("/v1/score", json={**snap, "raw_score": score}).json()["assessment_id"]
               for score in (30.0, 31.0)]
        points = client.get(path).json()["points"]
    assert [p["assessment_id"] for p in points] == ids[::-1]
    assert {p["model"]["version"] for p in points} == {shipped_model().version}


def test_a_batch_scores_each_snapshot_as_alone(model_service: Service, key: str) -> None:
    docs = [sample_doc(n) for n in SAMPLES[:4]]
    with model_service.client(key) as client:
        batch = client.post("/v1/score/batch?store=false", json={"snapshots": docs}).json()
        alone = [client.post("/v1/score?store=false", json=d).json() for d in docs]
    assert batch["scored"] == len(docs)
    assert [stable(r["assessment"]) for r in batch["results"]] == [stable(a) for a in alone]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(snapshot=snapshots())
def test_every_valid_snapshot_gets_a_schema_valid_assessment(
    model_service: Service, key: str, snapshot: AccountSnapshot
) -> None:
    with model_service.client(key) as client:
        response = client.post("/v1/score?store=false", content=snapshot.model_dump_json())
    assert response.status_code == 200, response.text
    body = response.json()
    VALIDATOR.validate(body)
    if body["raw_score"] is not None:
        assert body["adjusted_score"] <= body["raw_score"]


def test_offline_score_gives_exactly_what_the_api_returns(
        model_service: Service, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    docs = [sample_doc(n) for n in SAMPLES]
    source = tmp_path / "samples.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(model_service.settings.data_dir))
    get_settings.cache_clear()
    try:
        assert main(["score", str(source), "--out", str(out)]) == 0
    finally:
        get_settings.cache_clear()
    offline = [json.loads(line) for line in out.read_text().splitlines()]
    with model_service.client(key) as client:
        api = [client.post("/v1/score?store=false", json=d).json() for d in docs]
    assert [stable(o) for o in offline] == [stable(a) for a in api]
    assert [list(o) for o in offline] == [list(a) for a in api]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_trueclout_serve_scores_with_the_shipped_model(tmp_path: Path) -> None:
    """`make run`: `trueclout serve --local` answers with the shipped model, no other step."""
    env = {**os.environ, "TRUECLOUT_DATA_DIR": str(tmp_path)}
    env.pop("TRUECLOUT_DATABASE_URL", None)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "trueclout.cli", "serve", "--local", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = "".join(server.stdout.readline() for _ in range(3))  # type: ignore[union-attr]
        local_key = banner.split("scopes; replaces the previous local-mode key): ")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server not ready"
            time.sleep(0.2)
        response = httpx.post(base + "/v1/score", json=sample_doc("genuine_steady"),
                              headers={"Authorization": f"Bearer {local_key}"}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["model"]["version"] == shipped_model().version
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
