"""POST /v1/score over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot, write_lock
from trueclout.assessment import Assessment


def test_scores_and_stores_exactly_what_it_returns(service: Service, platform_key: str) -> None:
    snap = unique_snapshot()
    with service.client(platform_key) as client:
        response = client.post("/v1/score", json=snap)
    assert response.status_code == 200, response.text
    assessment = Assessment.model_validate_json(response.content)
    assert (assessment.account_id, assessment.platform) == (snap["account_id"], "twitter")
    assert assessment.raw_score == snap["raw_score"]
    assert service.stored()[assessment.assessment_id] == response.text


def test_dry_run_scores_without_storing(service: Service, platform_key: str) -> None:
    before = service.count()
    with service.client(platform_key) as client:
        response = client.post("/v1/score", params={"store": "false"}, json=unique_snapshot())
    assert response.status_code == 200
    assert service.count() == before


def test_body_that_is_not_json_is_a_400(service: Service, platform_key: str) -> None:
    with service.client(platform_key) as client:
        response = client.post("/v1/score", content=b'{"account_id": ',
                               headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_json")


def test_validation_errors_name_each_field_and_store_nothing(
    service: Service, platform_key: str
) -> None:
    before = service.count()
    negative = mutate(unique_snapshot(), "profile.followers_count", -3)
    unknown_post = mutate(unique_snapshot(), "engagements[1].post_id", "no-such-post")
    with service.client(platform_key) as client:
        assert_error(client.post("/v1/score", json=negative), 422, "validation_error",
                     field="profile.followers_count")
        error = assert_error(client.post("/v1/score", json=unknown_post), 422,
                             "validation_error", field="engagements[1].post_id")
        assert "does not name a post" in error["details"][0]["reason"]
        assert_error(client.post("/v1/score", json={**unique_snapshot(), "typo": 1}), 422,
                     "validation_error", field="typo")
        assert_error(client.post("/v1/score", json=[1, 2]), 422, "validation_error")
    assert service.count() == before


def test_a_failed_write_returns_no_result_and_keeps_earlier_rows(
    service: Service, platform_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="trueclout")
    refused = unique_snapshot()
    with service.client(platform_key) as client:
        assert client.post("/v1/score", json=unique_snapshot()).status_code == 200
        earlier = service.stored()
        with write_lock(service):
            response = client.post("/v1/score", json=refused)
        error = assert_error(response, 503, "storage_error")
        # The failure is logged with its cause, without the data that failed to be written.
        assert "storage failed" in caplog.text and refused["account_id"] not in caplog.text
        assert "assessment_id" not in response.text
        assert "nothing was stored" in error["message"]
        assert service.stored() == earlier
        # The database recovers: the next request is stored normally.
        again = client.post("/v1/score", json=unique_snapshot())
    assert again.status_code == 200
    assert len(service.stored()) == len(earlier) + 1


def test_response_is_compact_json_with_a_request_id(service: Service, platform_key: str) -> None:
    with service.client(platform_key) as client:
        response = client.post("/v1/score", json=unique_snapshot(),
                               headers={"X-Request-ID": "caller-chosen-42"})
    assert response.headers["x-request-id"] == "caller-chosen-42"
    assert orjson.loads(response.content)["model"]["name"] == service.scorer.info.name


def test_without_a_model_scoring_is_503_and_stores_nothing(unready_service: Service) -> None:
    with unready_service.client(unready_service.new_key("platform")) as client:
        error = assert_error(client.post("/v1/score", json=unique_snapshot()), 503,
                             "model_not_loaded")
        assert_error(client.post("/v1/score/batch", json={"snapshots": [unique_snapshot()]}),
                     503, "model_not_loaded")
    assert error["message"] == "model not loaded: test: no model installed"
    assert unready_service.count() == 0


def test_numbers_are_rounded_where_they_become_json(service: Service, platform_key: str) -> None:
    """Probabilities and shares to 4 digits; the caller's score as sent."""
    snap = unique_snapshot()
    snap["raw_score"] = 42.56
    snap["followers"][0]["default_avatar"] = True  # 1 of 3: a share of 0.3333...
    with service.client(platform_key) as client:
        body = orjson.loads(client.post("/v1/score", json=snap).content)
    reach, risk = body["authentic_reach"], body["risk"]
    probabilities = [risk["probability"], *body["tactics"].values(), reach["fake_share"],
                     reach["fake_share_low"], reach["fake_share_high"]]
    assert reach["fake_share"] == 0.3333
    assert all(round(p, 4) == p for p in probabilities), probabilities
    assert body["raw_score"] == 42.56
