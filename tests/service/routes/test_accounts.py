"""GET /v1/accounts/{platform}/{account_id}/history: the stored trajectory, newest first."""

from __future__ import annotations

from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.service.api.schemas import HistoryPage


def _score_times(service: Service, key: str, snap: dict, times: int) -> list[str]:
    ids = []
    with service.client(key) as client:
        for n in range(times):
            snap = {**snap, "raw_score": 10.0 + n}
            response = client.post("/v1/score", json=snap)
            assert response.status_code == 200
            ids.append(response.json()["assessment_id"])
    return ids


def test_history_is_newest_first_and_pages_with_a_cursor(
    service: Service, platform_key: str
) -> None:
    snap = unique_snapshot()
    ids = _score_times(service, platform_key, snap, 3)
    path = f"/v1/accounts/twitter/{snap['account_id']}/history"
    with service.client(platform_key) as client:
        whole = HistoryPage.model_validate_json(client.get(path).content)
        first = HistoryPage.model_validate_json(client.get(path, params={"limit": 2}).content)
        assert first.next_cursor is not None
        second = HistoryPage.model_validate_json(
            client.get(path, params={"limit": 2, "before": first.next_cursor}).content)
    assert [p.assessment_id for p in whole.points] == ids[::-1]
    assert [p.raw_score for p in whole.points] == [12.0, 11.0, 10.0]
    assert whole.next_cursor is None
    assert [p.assessment_id for p in first.points + second.points] == ids[::-1]
    assert second.next_cursor is None
    stored = service.stored()
    assert all(p.assessment_id in stored for p in whole.points)
    assert whole.points[0].scored_at.tzinfo is not None


def test_platform_keys_see_their_own_assessments_and_analysts_see_all(
    service: Service, platform_key: str
) -> None:
    snap = unique_snapshot()
    ids = _score_times(service, platform_key, snap, 2)
    path = f"/v1/accounts/twitter/{snap['account_id']}/history"
    with service.client(service.new_key("platform")) as other:
        assert other.get(path).json()["points"] == []
    with service.client(service.new_key("analyst")) as analyst:
        assert [p["assessment_id"] for p in analyst.get(path).json()["points"]] == ids[::-1]


def test_an_account_never_scored_has_an_empty_history(service: Service,
                                                      platform_key: str) -> None:
    with service.client(platform_key) as client:
        response = client.get("/v1/accounts/instagram/never-seen/history")
    assert response.status_code == 200
    assert response.json()["points"] == []
    assert response.json()["next_cursor"] is None


def test_bad_parameters_name_the_parameter(service: Service, platform_key: str) -> None:
    with service.client(platform_key) as client:
        assert_error(client.get("/v1/accounts/myspace/a/history"), 422, "validation_error",
                     field="path.platform")
        assert_error(client.get("/v1/accounts/twitter/a/history", params={"limit": 0}), 422,
                     "validation_error", field="query.limit")
        assert_error(client.get("/v1/accounts/twitter/a/history", params={"before": "zzz"}),
                     422, "validation_error", field="query.before")
        assert_error(client.get("/v1/accounts/twitter/" + "x" * 129 + "/history"), 422,
                     "validation_error", field="path.account_id")
