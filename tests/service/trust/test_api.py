"""POST and GET /v1/trust-check over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.helpers import assert_error, unique_snapshot
from tests.service.trust.conftest import (
    TRUST_TTL_DAYS,
    check_body,
    count_rows,
    expire_report,
    expire_snapshot,
    sample_named,
)
from tests.service.trust.samples import samples
from trueclout.service.db.trust import StoredTrustReport
from trueclout.service.trust.report import TrustReport

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _reports(service: Service) -> int:
    return count_rows(service, StoredTrustReport)


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_each_sample_gets_its_verdict_and_the_report_is_stored(
    trust_service: Service, recruiter_key: str, sample
) -> None:
    with trust_service.client(recruiter_key) as client:
        created = client.post("/v1/trust-check", json=check_body(sample))
        assert created.status_code == 201, created.text
        report = TrustReport.model_validate_json(created.content)
        assert created.headers["location"] == f"/v1/trust-check/{report.report_id}"
        again = client.get(created.headers["location"])
    assert again.status_code == 200 and again.text == created.text
    assert report.verdict.level == sample.verdict
    assert report.verdict.headline.startswith(sample.headline_start)
    assert report.scores.claimed == sample.document["raw_score"]
    assert report.scores.platform == sample.document["raw_score"]
    assert report.model.version == trust_service.scorer.info.version
    assert report.subject.handle == sample.handle
    assert [p.followers for p in report.growth.points] == [
        h["followers"] for h in sorted(sample.document["follower_history"],
                                       key=lambda h: h["date"])]
    assert report.growth.suspicious_days == list(sample.script.suspicious_days)
    with trust_service.database.transaction() as session:
        row = session.scalars(select(StoredTrustReport)
                              .where(StoredTrustReport.report_id == report.report_id)).one()
        key_id = row.api_key_id
        assert (row.verdict, row.model_version, row.body) == (
            sample.verdict, report.model.version, created.text)
    assert key_id is not None


def test_report_ids_are_long_random_and_expire_after_the_configured_days(
    trust_service: Service, recruiter_key: str
) -> None:
    sample = samples()[0]
    with trust_service.client(recruiter_key) as client:
        reports = [client.post("/v1/trust-check", json=check_body(sample)).json()
                   for _ in range(3)]
    ids = {r["report_id"] for r in reports}
    assert len(ids) == 3 and all(len(i) >= 43 for i in ids)  # >= 256 bits, URL-safe
    for r in reports:
        lived = datetime.fromisoformat(r["expires_at"]) - datetime.fromisoformat(r["created_at"])
        assert lived == timedelta(days=TRUST_TTL_DAYS)


def test_the_claimed_score_is_adjusted_when_the_snapshot_has_none(
    trust_service: Service, recruiter_key: str
) -> None:
    snapshot = mutate(sample_named("bought_followers").document, "raw_score", ...)
    body = check_body(sample_named("bought_followers"), snapshot=snapshot, claimed_score=35)
    with trust_service.client(recruiter_key) as client:
        report = client.post("/v1/trust-check", json=body).json()
    assert report["scores"]["platform"] is None
    assert report["scores"]["adjusted_from"] == "claimed"
    # The scripted model discounts 32%: 35 -> 23.8.
    assert report["scores"]["adjusted"] == pytest.approx(23.8)
    assert "no score of its own" in report["scores"]["notes"][0]


def test_a_claimed_score_far_from_the_platforms_is_pointed_out(
    trust_service: Service, recruiter_key: str
) -> None:
    sample = sample_named("genuine_steady")
    with trust_service.client(recruiter_key) as client:
        report = client.post("/v1/trust-check", json=check_body(
            sample, claimed_score=sample.document["raw_score"] + 20)).json()
    assert "20 points higher than the platform's score" in report["scores"]["notes"][0]


@pytest.mark.parametrize("scopes", [("platform",), ("analyst",), ("platform", "analyst")])
def test_only_recruiter_keys_may_check(trust_service: Service, scopes: tuple[str, ...]) -> None:
    before = _reports(trust_service)
    body = check_body(samples()[0])
    with trust_service.client(trust_service.new_key(*scopes)) as client:
        assert_error(client.post("/v1/trust-check", json=body), 403, "forbidden")
        assert_error(client.get("/v1/trust-check/" + "a" * 43), 403, "forbidden")
    with trust_service.client() as anonymous:
        response = anonymous.post("/v1/trust-check", json=body)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(anonymous.get("/v1/trust-check/" + "a" * 43), 401, "unauthorized")
    with trust_service.client("tc_not-a-key") as bad:
        assert_error(bad.post("/v1/trust-check", json=body), 401, "unauthorized")
    assert _reports(trust_service) == before


def test_validation_errors_name_each_field_and_store_nothing(
    trust_service: Service, recruiter_key: str
) -> None:
    sample = sample_named("genuine_steady")
    before = _reports(trust_service)
    bad_snapshot = mutate(sample.document, "profile.followers_count", -1)
    cases = [
        (check_body(sample, claimed_score=101), "claimed_score"),
        (check_body(sample, claimed_score="a lot"), "claimed_score"),
        (check_body(sample, platform="myspace"), "platform"),
        (check_body(sample, handle="  @ "), "handle"),
        (check_body(sample, snapshot=bad_snapshot), "snapshot.profile.followers_count"),
        ({k: v for k, v in check_body(sample).items() if k != "snapshot"}, "snapshot"),
        (check_body(sample, assessment_id="abc123"), "assessment_id"),
        (check_body(sample, assessment_id="../etc"), "assessment_id"),
        ({**check_body(sample), "recruiter": "me"}, "recruiter"),
    ]
    with trust_service.client(recruiter_key) as client:
        for body, field in cases:
            assert_error(client.post("/v1/trust-check", json=body), 422, "validation_error",
                         field=field)
        assert_error(client.post("/v1/trust-check", content=b"{", headers={
            "content-type": "application/json"}), 400, "invalid_json")
    assert _reports(trust_service) == before


def test_a_snapshot_of_another_account_is_refused(
    trust_service: Service, recruiter_key: str
) -> None:
    sample = sample_named("genuine_steady")
    before = _reports(trust_service)
    with trust_service.client(recruiter_key) as client:
        wrong_handle = client.post("/v1/trust-check",
                                   json=check_body(sample, handle="someone_else"))
        wrong_platform = client.post("/v1/trust-check", json=check_body(
            sample, platform="tiktok" if sample.platform != "tiktok" else "twitter"))
        same_but_cased = client.post("/v1/trust-check",
                                     json=check_body(sample, handle=sample.handle.upper()))
    error = assert_error(wrong_handle, 422, "validation_error", field="handle")
    assert sample.handle in error["details"][0]["reason"]
    assert_error(wrong_platform, 422, "validation_error", field="platform")
    assert same_but_cased.status_code == 201
    assert _reports(trust_service) == before + 1


def test_a_check_by_assessment_id_reuses_the_stored_snapshot(
    trust_service: Service, recruiter_key: str
) -> None:
    sample = sample_named("bought_followers")
    with trust_service.client(trust_service.new_key("platform")) as platform:
        scored = platform.post("/v1/score", json=sample.document)
    assert scored.status_code == 200
    assessment_id = scored.json()["assessment_id"]
    calls = trust_service.scorer.calls
    body = {"claimed_score": 30, "platform": sample.platform, "handle": sample.handle,
            "assessment_id": assessment_id}
    with trust_service.client(recruiter_key) as client:
        response = client.post("/v1/trust-check", json=body)
    assert response.status_code == 201, response.text
    report = response.json()
    assert trust_service.scorer.calls == calls + 1  # scored again with the active model
    assert report["source"] == "stored_snapshot"
    assert report["assessment_id"] != assessment_id
    assert report["verdict"]["level"] == sample.verdict
    assert report["growth"]["suspicious_days"] == [
        d.isoformat() for d in sample.script.suspicious_days]


def test_a_check_by_unknown_or_expired_assessment_id_is_a_404(
    trust_service: Service, recruiter_key: str
) -> None:
    snapshot = unique_snapshot()
    with trust_service.client(trust_service.new_key("platform")) as platform:
        kept = platform.post("/v1/score", json=snapshot).json()["assessment_id"]
        dry = platform.post("/v1/score", params={"store": "false"},
                            json=snapshot).json()["assessment_id"]
    expire_snapshot(trust_service, kept)
    before = _reports(trust_service)
    body = {"claimed_score": 40, "platform": "twitter", "handle": "anna_k"}
    with trust_service.client(recruiter_key) as client:
        expired = client.post("/v1/trust-check", json={**body, "assessment_id": kept})
        never = client.post("/v1/trust-check", json={**body, "assessment_id": dry})
    error = assert_error(expired, 404, "not_found", field="assessment_id")
    assert error["details"][0]["type"] == "expired"
    assert "send the snapshot itself" in error["message"]
    error = assert_error(never, 404, "not_found", field="assessment_id")
    assert error["details"][0]["type"] == "unknown"
    assert _reports(trust_service) == before


def test_reports_are_gone_after_they_expire(trust_service: Service, recruiter_key: str) -> None:
    with trust_service.client(recruiter_key) as client:
        report = client.post("/v1/trust-check", json=check_body(samples()[0])).json()
        assert client.get(report["links"]["self"]).status_code == 200
        expire_report(trust_service, report["report_id"])
        gone = client.get(report["links"]["self"])
        unknown = client.get("/v1/trust-check/" + "Z" * 43)
        malformed = client.get("/v1/trust-check/not..an..id")
    error = assert_error(gone, 404, "not_found", field="path.report_id")
    assert error["details"][0]["type"] == "expired"
    assert assert_error(unknown, 404, "not_found")["details"][0]["type"] == "unknown"
    assert_error(malformed, 404, "not_found")


def test_browsers_are_sent_to_the_page_and_api_clients_get_json(
    trust_service: Service, recruiter_key: str
) -> None:
    with trust_service.client(recruiter_key) as client:
        report = client.post("/v1/trust-check", json=check_body(samples()[0])).json()
        as_json = client.get(report["links"]["self"], headers={"accept": "application/json"})
        as_any = client.get(report["links"]["self"], headers={"accept": "*/*"})
    with trust_service.client() as browser:  # a browser sends no key
        redirected = browser.get(report["links"]["self"], headers={"accept": BROWSER_ACCEPT})
        page = browser.get(report["links"]["self"], headers={"accept": BROWSER_ACCEPT},
                           follow_redirects=True)
    assert as_json.json()["report_id"] == as_any.json()["report_id"] == report["report_id"]
    assert redirected.status_code == 303
    assert redirected.headers["location"] == report["links"]["page"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert report["verdict"]["headline"] in page.text


def test_without_a_model_nothing_is_checked_or_stored(unready_service: Service) -> None:
    sample = samples()[0]
    with unready_service.client(unready_service.new_key("recruiter")) as client:
        assert_error(client.post("/v1/trust-check", json=check_body(sample)), 503,
                     "model_not_loaded")
    assert count_rows(unready_service, StoredTrustReport) == 0


def test_the_request_and_report_are_published_in_openapi(trust_service: Service) -> None:
    with trust_service.client() as client:
        doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/trust-check"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"claimed_score", "platform", "handle"}
    refs = _refs(schema)
    assert refs and all(r.removeprefix("#/components/schemas/") in doc["components"]["schemas"]
                        for r in refs)
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TrustReport"}
    assert "/trust" not in doc["paths"]  # the pages are not API


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
