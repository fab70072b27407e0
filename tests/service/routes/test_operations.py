"""/healthz, /readyz and /metrics: no key needed."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.service.conftest import Service, running, start_service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.service.runtime.app import create_app
from trueclout.service.scoring.scorer import UnavailableScorer
from trueclout.settings import Settings


def test_healthz(service: Service) -> None:
    with service.client() as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_with_a_model_and_a_migrated_database(service: Service) -> None:
    with service.client() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready",
                               "checks": {"model": "loaded", "database": "ok"}}


def test_not_ready_without_a_model(unready_service: Service) -> None:
    with unready_service.client() as client:
        error = assert_error(client.get("/readyz"), 503, "not_ready", field="model")
    assert "model not loaded" in error["message"]


def test_not_ready_answers_show_no_server_paths(tmp_path: Path) -> None:
    """What failed is said; where the server keeps its files is only in its log."""
    hidden = "/srv/trueclout-secret-place/models/active/card.json"
    scorer = UnavailableScorer(f"[Errno 2] No such file or directory: '{hidden}'")
    with start_service("sqlite", tmp_path, scorer=scorer) as svc:
        key = svc.new_key("platform")
        with svc.client(key) as client:
            ready = client.get("/readyz")
            score = client.post("/v1/score", json=unique_snapshot())
    assert_error(ready, 503, "not_ready", field="model")
    assert_error(score, 503, "model_not_loaded")
    for response in (ready, score):
        assert "secret-place" not in response.text and ".../card.json" in response.text


def test_not_ready_when_the_database_is_unreachable_or_not_migrated(tmp_path: Path) -> None:
    cases = {
        "postgresql+psycopg://nobody@127.0.0.1:1/none": "not reachable",
        f"sqlite:///{tmp_path / 'never-migrated.db'}": "expected",
    }
    for url, reason in cases.items():
        settings = Settings(data_dir=tmp_path, database_url=url)
        app = create_app(settings, scorer=DeterministicTestScorer())
        with running(app) as base_url:
            error = assert_error(httpx.get(base_url + "/readyz"), 503, "not_ready",
                                 field="database")
        app.state.database.dispose()
        assert reason in error["message"]


def _samples(client) -> dict[tuple[str, tuple], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_requests_latency_risk_levels_and_the_model(
    service: Service, platform_key: str
) -> None:
    requests = ("trueclout_http_requests_total",
                (("method", "POST"), ("route", "/v1/score"), ("status", "200")))
    latency = ("trueclout_http_request_duration_seconds_count",
               (("method", "POST"), ("route", "/v1/score")))
    with service.client(platform_key) as client:
        before = _samples(client)
        assessment = client.post("/v1/score", json=unique_snapshot()).json()
        client.post("/v1/score", json={})  # a 422 is counted under its own status
        after = _samples(client)
    level = ("trueclout_assessments_total", (("risk_level", assessment["risk"]["level"]),))
    rejected = ("trueclout_http_requests_total",
                (("method", "POST"), ("route", "/v1/score"), ("status", "422")))
    assert after[requests] == before.get(requests, 0) + 1
    assert after[latency] == before.get(latency, 0) + 2
    assert after[level] == before.get(level, 0) + 1
    assert after[rejected] == before.get(rejected, 0) + 1
    info = service.scorer.info
    assert after[("trueclout_model_info",
                  (("name", info.name), ("version", info.version)))] == 1
