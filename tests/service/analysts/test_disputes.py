"""Disputes: the form on the report page, its limits, and the analysts' decisions over HTTP."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import httpx

from tests.service.analysts.conftest import MAX_OPEN, trust_report
from tests.service.conftest import Service, start_service
from tests.service.helpers import assert_error, unique_snapshot
from tests.service.trust.conftest import expire_report
from trueclout.files import utc_now
from trueclout.service.analysts.disputes import file_dispute
from trueclout.service.trust.wording import forbidden_terms

BROWSER = {"accept": "text/html"}


def browser(service: Service) -> httpx.Client:
    """A client that asks for pages, as a browser does (no key)."""
    return httpx.Client(base_url=service.base_url, headers=BROWSER, timeout=30)


def dispute(service: Service, report_id: str, statement: str, contact: str = "",
            key: str = "") -> httpx.Response:
    with browser(service) as client:
        return client.post(f"/trust/{report_id}/dispute",
                           data={"statement": statement, "contact": contact, "access_key": key})


def queue(service: Service, **params: str) -> list[dict]:
    with service.client(service.new_key("analyst")) as client:
        response = client.get("/v1/feedback", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_report_page_carries_the_dispute_form(analyst_service: Service) -> None:
    report_id = trust_report(analyst_service)
    with browser(analyst_service) as client:
        page = client.get(f"/trust/{report_id}").text
    assert f'action="/trust/{report_id}/dispute"' in page
    assert '<label for="dispute_statement">' in page and '<label for="dispute_contact">' in page
    assert "Send the dispute" in page


def test_a_dispute_is_received_queued_and_its_status_shown(analyst_service: Service) -> None:
    report_id = trust_report(analyst_service)
    statement = "The burst on 3 March came from a\nnews article about my shop."
    response = dispute(analyst_service, report_id, statement, "anna@example.org")
    assert response.status_code == 303
    receipt = response.headers["location"]
    assert receipt.startswith(f"/trust/{report_id}/disputes/fb_")
    with browser(analyst_service) as client:
        page = client.get(receipt)
    assert page.status_code == 200
    assert 'data-dispute-status="open"' in page.text
    assert "Your dispute was received" in page.text
    assert statement.replace("\n", "") in unescape(page.text).replace("\n", "")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert forbidden_terms(unescape(page.text)) == []
    item_id = receipt.rsplit("/", 1)[1]
    [item] = [i for i in queue(analyst_service, kind="dispute") if i["id"] == item_id]
    assert item["status"] == "open" and item["report_id"] == report_id
    assert item["statement"] == statement and item["contact"] == "anna@example.org"
    assert item["label"] is None and item["filed_by_key_id"] is None


def test_form_problems_reshow_the_report_with_the_text_kept(analyst_service: Service) -> None:
    report_id = trust_report(analyst_service)
    before = len(queue(analyst_service, kind="dispute"))
    empty = dispute(analyst_service, report_id, "   ")
    long = dispute(analyst_service, report_id, "my words " * 300, "x" * 201)
    assert empty.status_code == 422
    assert "Say what you believe is wrong" in empty.text
    assert 'aria-invalid="true"' in empty.text and 'role="alert"' in empty.text
    # The summary links each problem to its field (one FormError for both forms).
    assert 'href="#dispute_statement">What is wrong with this verdict: ' in empty.text
    assert long.status_code == 422
    assert "keep it to 2,000" in long.text and "keep it to 200 characters" in long.text
    assert 'href="#dispute_contact">How to reach you: keep it to 200' in long.text
    assert "my words my words" in long.text  # what was typed is kept
    assert 'data-verdict=' in long.text  # it is the report page
    assert len(queue(analyst_service, kind="dispute")) == before


def test_expired_and_unknown_reports_cannot_be_disputed(analyst_service: Service) -> None:
    report_id = trust_report(analyst_service)
    expire_report(analyst_service, report_id)
    expired = dispute(analyst_service, report_id, "it is wrong")
    unknown = dispute(analyst_service, "N" * 43, "it is wrong")
    assert expired.status_code == 404 and "expired" in expired.text
    assert unknown.status_code == 404
    assert expired.headers["content-type"].startswith("text/html")
    with browser(analyst_service) as client:
        wrong_pair = client.get(f"/trust/{'N' * 43}/disputes/fb_doesnotexist000")
    assert wrong_pair.status_code == 404


def test_one_connection_holds_one_open_dispute_per_report(analyst_service: Service) -> None:
    report_id = trust_report(analyst_service)
    assert dispute(analyst_service, report_id, "objection").status_code == 303
    again = dispute(analyst_service, report_id, "and another")
    assert again.status_code == 409 and "from your connection" in again.text
    with analyst_service.client(analyst_service.new_key("analyst")) as client:
        mine = [i for i in client.get("/v1/feedback", params={"kind": "dispute"}).json()["items"]
                if i["report_id"] == report_id]
        client.patch(f"/v1/feedback/{mine[0]['id']}", json={"status": "rejected"})
    assert dispute(analyst_service, report_id, "after a decision").status_code == 303


def fill_public_slots(service: Service, report_id: str) -> None:
    """``MAX_OPEN`` public disputes from as many other connections."""
    for n in range(MAX_OPEN):
        service.database.call(file_dispute, report_id=report_id, statement=f"objection {n}",
                              contact=None, now=utc_now(), max_open=MAX_OPEN,
                              address=f"198.51.100.{n}")


def test_full_public_slots_leave_the_reports_owner_a_way_in(analyst_service: Service) -> None:
    owner = analyst_service.new_key("recruiter")
    report_id = trust_report(analyst_service, key=owner)
    fill_public_slots(analyst_service, report_id)
    refused = dispute(analyst_service, report_id, "one more")
    assert refused.status_code == 409 and "waiting for an analyst" in refused.text
    stranger = dispute(analyst_service, report_id, "mine",
                       key=analyst_service.new_key("recruiter"))
    assert stranger.status_code == 403
    accepted = dispute(analyst_service, report_id, "I ran this check; the verdict is wrong",
                       key=owner)
    assert accepted.status_code == 303, accepted.text
    item_id = accepted.headers["location"].rsplit("/", 1)[1]
    [item] = [i for i in queue(analyst_service, kind="dispute") if i["id"] == item_id]
    assert item["filed_by_key_id"] is not None


def test_each_address_is_rate_limited(tmp_path: Path) -> None:
    with start_service("sqlite", tmp_path, dispute_rate_per_hour=3600,
                       dispute_max_open_per_report=100) as service:
        report_id = trust_report(service)
        statuses = [dispute(service, report_id, f"objection {n}").status_code
                    for n in range(7)]
        # The burst: one dispute, then "already waiting" (one per connection and report).
        assert statuses[:5] == [303] + [409] * 4
        limited = dispute(service, report_id, "again")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "Too many disputes" in limited.text


def test_upholding_a_dispute_files_a_false_positive_label(
    analyst_service: Service, analyst_key: str, platform_key: str
) -> None:
    document = unique_snapshot()
    with analyst_service.client(platform_key) as client:
        assessment = client.post("/v1/score", json=document).json()
    report_id = trust_report(analyst_service, document)
    receipt = dispute(analyst_service, report_id, "these followers came from a TV show")
    item_id = receipt.headers["location"].rsplit("/", 1)[1]
    with analyst_service.client(analyst_key) as client:
        upheld = client.patch(f"/v1/feedback/{item_id}",
                              json={"status": "upheld", "resolution_note": "checked the show"})
        labels = client.get("/v1/feedback", params={
            "kind": "label", "platform": "twitter", "account_id": document["account_id"]}
        ).json()["items"]
        again = client.patch(f"/v1/feedback/{item_id}", json={"status": "upheld"})
        relabelled = client.get("/v1/feedback", params={
            "kind": "label", "account_id": document["account_id"]}).json()["items"]
        reopened = client.patch(f"/v1/feedback/{item_id}", json={"status": "open"})
        after = client.get(f"/v1/feedback/{labels[0]['id']}").json()
    assert upheld.status_code == 200 and upheld.json()["status"] == "upheld"
    [label] = labels
    assert label["label"] == "false_positive" and label["derived_from"] == item_id
    assert label["status"] == "upheld"  # an analyst decided: already reviewed
    assert label["assessment_id"] == assessment["assessment_id"]
    assert "checked the show" in label["note"]
    assert again.status_code == 200 and len(relabelled) == 1  # no second label
    assert reopened.json()["status"] == "open" and after["status"] == "rejected"
    with browser(analyst_service) as client:
        page = client.get(receipt.headers["location"]).text
    assert 'data-dispute-status="open"' in page


def test_an_analyst_may_uphold_without_a_label(
    analyst_service: Service, analyst_key: str
) -> None:
    report_id = trust_report(analyst_service)
    receipt = dispute(analyst_service, report_id, "not my account")
    item_id = receipt.headers["location"].rsplit("/", 1)[1]
    with analyst_service.client(analyst_key) as client:
        decided = client.patch(f"/v1/feedback/{item_id}",
                               json={"status": "upheld", "create_label": False})
        derived = [i for i in client.get("/v1/feedback", params={"kind": "label"}).json()["items"]
                   if i["derived_from"] == item_id]
        unknown = client.patch("/v1/feedback/fb_doesnotexist000", json={"status": "upheld"})
    assert decided.json()["status"] == "upheld" and derived == []
    assert_error(unknown, 404, "not_found", field="path.item_id")
    with browser(analyst_service) as client:
        page = client.get(receipt.headers["location"]).text
    assert "agreed that the verdict was wrong" in page
