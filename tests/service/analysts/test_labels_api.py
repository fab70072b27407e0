"""POST, GET and PATCH /v1/feedback over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.service.analysts.conftest import scored
from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot
from trueclout.service.db.feedback import FeedbackItem


def _items(service: Service) -> int:
    with service.database.transaction() as session:
        return session.scalar(select(func.count()).select_from(FeedbackItem)) or 0


def test_a_label_on_an_assessment_is_stored_with_the_key_and_read_back(
    analyst_service: Service, analyst_key: str, platform_key: str
) -> None:
    assessment = scored(analyst_service, platform_key)
    body = {"assessment_id": assessment["assessment_id"], "label": "confirmed_manipulation",
            "tactics": ["engagement_ring", "bought_followers"], "note": "pod of 40 accounts"}
    with analyst_service.client(analyst_key) as client:
        created = client.post("/v1/feedback", json=body)
        assert created.status_code == 201, created.text
        item = created.json()
        assert created.headers["location"] == f"/v1/feedback/{item['id']}"
        read = client.get(created.headers["location"]).json()
    assert read == item
    assert item["kind"] == "label" and item["status"] == "open"
    assert item["tactics"] == ["engagement_ring", "bought_followers"]
    assert (item["platform"], item["account_id"]) == ("twitter", assessment["account_id"])
    assert item["assessment_id"] == assessment["assessment_id"]
    assert item["note"] == "pod of 40 accounts" and item["statement"] is None
    with analyst_service.database.transaction() as session:
        row = session.scalars(select(FeedbackItem).where(FeedbackItem.item_id == item["id"])
                              ).one()
        assert row.api_key_id == item["filed_by_key_id"] is not None


def test_a_label_by_account_names_its_latest_assessment(
    analyst_service: Service, analyst_key: str, platform_key: str
) -> None:
    document = unique_snapshot()
    with analyst_service.client(platform_key) as client:
        first, second = (client.post("/v1/score", json=document).json() for _ in range(2))
    with analyst_service.client(analyst_key) as client:
        item = client.post("/v1/feedback", json={
            "platform": "twitter", "account_id": document["account_id"],
            "label": "false_positive"}).json()
    assert first["assessment_id"] != second["assessment_id"]
    assert item["assessment_id"] == second["assessment_id"]
    assert item["tactics"] == [] and item["label"] == "false_positive"


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"label": "confirmed_manipulation", "tactics": []}, "tactics", "tactics_required"),
    ({"label": "false_positive", "tactics": ["growth_burst"]}, "tactics", "tactics_not_allowed"),
    ({"label": "confirmed_manipulation", "tactics": ["growth_burst", "growth_burst"]},
     "tactics", "repeated"),
    ({"label": "confirmed_manipulation", "tactics": ["purchased_likes"]}, "tactics[0]",
     "literal_error"),
    ({"label": "fraud"}, "label", "literal_error"),
    ({"label": "confirmed_genuine", "note": "x" * 2001}, "note", "string_too_long"),
    ({"label": "confirmed_genuine", "reviewer": "me"}, "reviewer", "extra_forbidden"),
])
def test_invalid_labels_name_the_field_and_store_nothing(
    analyst_service: Service, analyst_key: str, platform_key: str, body: dict, field: str,
    kind: str
) -> None:
    assessment = scored(analyst_service, platform_key)
    before = _items(analyst_service)
    with analyst_service.client(analyst_key) as client:
        response = client.post("/v1/feedback",
                               json={"assessment_id": assessment["assessment_id"], **body})
    error = assert_error(response, 422, "validation_error", field=field)
    assert kind in [d["type"] for d in error["details"]]
    assert _items(analyst_service) == before


def test_the_subject_must_be_one_assessment_or_one_account(
    analyst_service: Service, analyst_key: str
) -> None:
    with analyst_service.client(analyst_key) as client:
        neither = client.post("/v1/feedback", json={"label": "confirmed_genuine"})
        both = client.post("/v1/feedback", json={
            "assessment_id": "abc", "platform": "twitter", "account_id": "a",
            "label": "confirmed_genuine"})
        half = client.post("/v1/feedback", json={"platform": "twitter",
                                                 "label": "confirmed_genuine"})
        not_json = client.post("/v1/feedback", content=b"{label",
                               headers={"content-type": "application/json"})
    assert_error(neither, 422, "validation_error", field="platform")
    assert_error(both, 422, "validation_error", field="assessment_id")
    assert_error(half, 422, "validation_error", field="account_id")
    assert_error(not_json, 400, "invalid_json")


def test_unknown_assessments_and_accounts_are_404_naming_the_field(
    analyst_service: Service, analyst_key: str
) -> None:
    before = _items(analyst_service)
    with analyst_service.client(analyst_key) as client:
        unknown = client.post("/v1/feedback", json={"assessment_id": "0" * 32,
                                                    "label": "confirmed_genuine"})
        never = client.post("/v1/feedback", json={"platform": "tiktok", "account_id": "nobody",
                                                  "label": "confirmed_genuine"})
        missing = client.get("/v1/feedback/fb_doesnotexist000")
        malformed = client.get("/v1/feedback/not-an-id")
    assert_error(unknown, 404, "not_found", field="assessment_id")
    assert_error(never, 404, "not_found", field="account_id")
    assert_error(missing, 404, "not_found", field="path.item_id")
    assert_error(malformed, 404, "not_found", field="path.item_id")
    assert _items(analyst_service) == before


def test_only_analyst_keys_reach_the_queue(analyst_service: Service, platform_key: str) -> None:
    with analyst_service.client(platform_key) as client:
        assert_error(client.get("/v1/feedback"), 403, "forbidden")
        assert_error(client.post("/v1/feedback", json={"label": "confirmed_genuine"}), 403,
                     "forbidden")
    with analyst_service.client() as client:
        assert_error(client.get("/v1/feedback"), 401, "unauthorized")


def test_the_queue_filters_and_pages_newest_first(
    analyst_service: Service, analyst_key: str, platform_key: str
) -> None:
    assessments = [scored(analyst_service, platform_key) for _ in range(3)]
    labels = ["confirmed_genuine", "false_positive", "confirmed_genuine"]
    filed = []
    with analyst_service.client(analyst_key) as client:
        for assessment, label in zip(assessments, labels, strict=True):
            time.sleep(0.002)  # distinct filing times
            filed.append(client.post("/v1/feedback", json={
                "assessment_id": assessment["assessment_id"], "label": label}).json())
        start = filed[0]["created_at"]
        page1 = client.get("/v1/feedback", params={"since": start, "limit": 2}).json()
        page2 = client.get("/v1/feedback", params={"since": start, "limit": 2,
                                                   "before": page1["next_cursor"]}).json()
        genuine = client.get("/v1/feedback", params={"since": start,
                                                     "label": "confirmed_genuine"}).json()
        one = client.get("/v1/feedback", params={
            "platform": "twitter", "account_id": assessments[1]["account_id"]}).json()
        bad_cursor = client.get("/v1/feedback", params={"before": "bm90IGEgY3Vyc29y"})
        bad_since = client.get("/v1/feedback", params={"since": "last tuesday"})
        bad_status = client.get("/v1/feedback", params={"status": "pending"})
    newest_first = [f["id"] for f in reversed(filed)]
    assert [i["id"] for i in page1["items"] + page2["items"]] == newest_first
    assert page2["next_cursor"] is None
    assert [i["id"] for i in genuine["items"]] == [filed[2]["id"], filed[0]["id"]]
    assert [i["id"] for i in one["items"]] == [filed[1]["id"]]
    assert_error(bad_cursor, 422, "validation_error", field="query.before")
    assert_error(bad_since, 422, "validation_error", field="query.since")
    assert_error(bad_status, 422, "validation_error", field="query.status")


def test_an_analyst_reviews_a_label(
    analyst_service: Service, analyst_key: str, platform_key: str
) -> None:
    assessment = scored(analyst_service, platform_key)
    reviewer = analyst_service.new_key("analyst")
    with analyst_service.client(analyst_key) as client:
        item = client.post("/v1/feedback", json={"assessment_id": assessment["assessment_id"],
                                                 "label": "confirmed_genuine"}).json()
    with analyst_service.client(reviewer) as client:
        decided = client.patch(f"/v1/feedback/{item['id']}",
                               json={"status": "rejected", "resolution_note": "wrong account"})
        bad = client.patch(f"/v1/feedback/{item['id']}", json={"status": "closed"})
        not_for_labels = client.patch(f"/v1/feedback/{item['id']}",
                                      json={"status": "upheld", "create_label": True})
        listed = client.get("/v1/feedback", params={"status": "rejected",
                                                    "since": item["created_at"]}).json()
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "rejected" and body["resolution_note"] == "wrong account"
    assert body["reviewed_by_key_id"] not in (None, item["filed_by_key_id"])
    assert body["reviewed_at"] is not None and body["updated_at"] >= item["updated_at"]
    assert_error(bad, 422, "validation_error", field="status")
    assert_error(not_for_labels, 422, "validation_error", field="create_label")
    assert item["id"] in [i["id"] for i in listed["items"]]
