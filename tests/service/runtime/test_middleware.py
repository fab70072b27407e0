"""What every request gets: a body limit (413), a request id, one log line, one error shape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import orjson
import pytest

from tests.service.conftest import Service, start_service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot


def _oversize(service: Service) -> bytes:
    body = orjson.dumps(unique_snapshot())
    padding = b" " * (service.settings.max_body_bytes + 1 - len(body))
    return body[:-1] + padding + b"}"


def test_oversize_body_with_content_length_is_413(sqlite_service: Service) -> None:
    before = sqlite_service.count()
    with sqlite_service.client(sqlite_service.new_key("platform")) as client:
        response = client.post("/v1/score", content=_oversize(sqlite_service),
                               headers={"content-type": "application/json"})
    error = assert_error(response, 413, "payload_too_large")
    assert str(sqlite_service.settings.max_body_bytes) in error["message"]
    assert sqlite_service.count() == before


def test_oversize_chunked_body_is_413(sqlite_service: Service) -> None:
    body = _oversize(sqlite_service)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 16_384):
            yield body[i:i + 16_384]

    before = sqlite_service.count()
    with sqlite_service.client(sqlite_service.new_key("platform")) as client:
        response = client.post("/v1/score", content=chunks(),
                               headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert sqlite_service.count() == before


def test_chunked_body_within_the_limit_is_scored(sqlite_service: Service) -> None:
    body = orjson.dumps(unique_snapshot())
    with sqlite_service.client(sqlite_service.new_key("platform")) as client:
        response = client.post("/v1/score?store=false", content=iter([body[:50], body[50:]]))
    assert response.status_code == 200


def test_oversize_is_refused_even_before_authentication(sqlite_service: Service) -> None:
    with sqlite_service.client() as client:
        response = client.post("/v1/score", content=_oversize(sqlite_service))
    assert_error(response, 413, "payload_too_large")


def test_unknown_paths_and_methods_use_the_error_shape(sqlite_service: Service) -> None:
    with sqlite_service.client() as client:
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")
        response = client.get("/v1/score")
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "POST"
        feedback = client.delete("/v1/feedback")
        assert_error(feedback, 405, "method_not_allowed")
        assert feedback.headers["allow"] == "GET, POST"  # two routes share the path


def test_request_ids_are_echoed_or_generated(sqlite_service: Service) -> None:
    with sqlite_service.client() as client:
        assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
            "x-request-id"] == "abc-123"
        generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert generated.headers["x-request-id"] != "bad id\twith spaces"
        assert len(generated.headers["x-request-id"]) == 32


def _access_record(caplog: pytest.LogCaptureFixture, request_id: str) -> dict:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in caplog.records:
            fields = getattr(record, "fields", {})
            if record.name == "trueclout.access" and fields.get("request_id") == request_id:
                return fields
        time.sleep(0.01)
    raise AssertionError(f"no access log line for {request_id}")


def test_one_structured_log_line_per_request_without_the_payload(
    sqlite_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    from trueclout.service.runtime.logs import JsonFormatter

    caplog.set_level("INFO", logger="trueclout")
    snap = unique_snapshot()
    snap["profile"]["bio"] = "a-very-private-marker-string"
    key = sqlite_service.new_key("platform")
    with sqlite_service.client(key) as client:
        client.post("/v1/score", json=snap, headers={"X-Request-ID": "log-test-1"})
    fields = _access_record(caplog, "log-test-1")
    assert fields["method"] == "POST"
    assert fields["route"] == "/v1/score"
    assert fields["status"] == 200
    assert fields["latency_ms"] > 0
    assert fields["model_version"] == sqlite_service.scorer.info.version
    assert isinstance(fields["key_id"], int)
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any('"request_id":"log-test-1"' in line for line in lines)
    assert not any("a-very-private-marker-string" in line for line in lines)
    assert not any(snap["account_id"] in line for line in lines)


class _ExplodingScorer(DeterministicTestScorer):
    def assess(self, snapshot: AccountSnapshot, *, scored_at: datetime) -> Assessment:
        raise RuntimeError("bug in the model, with private data: a-secret-value")


def test_an_unexpected_error_is_a_500_in_the_error_shape(
    tmp_path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level("INFO", logger="trueclout")
    with start_service("sqlite", tmp_path, scorer=_ExplodingScorer()) as svc, \
            svc.client(svc.new_key("platform")) as client:
        response = client.post("/v1/score", json=unique_snapshot())
    error = assert_error(response, 500, "internal_error")
    assert "a-secret-value" not in response.text
    logged = [r for r in caplog.records if r.name == "trueclout.service" and r.exc_info]
    assert [getattr(r, "fields", {}).get("request_id") for r in logged] == [error["request_id"]]
