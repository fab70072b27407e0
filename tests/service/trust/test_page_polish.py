"""Issue 16 item 12 over real HTTP: what a recruiter reads on the form and the report page.

A green verdict explains its marked days, the chart's axis starts at zero,
old data is said beside the verdict, the form takes platform and handle from
the snapshot and keeps the key and the file after an error, and its 429 says
when to come back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import update

from tests.service.conftest import Service, start_service
from tests.service.trust.doubles import Script, ScriptedScorer
from tests.service.trust.samples import largest_jumps, sample_documents
from trueclout.service.db.trust import StoredTrustReport
from trueclout.service.trust.report import TrustReport
from trueclout.service.web.charts import UNCOUNTED_BURSTS

BROWSER = {"accept": "text/html"}
GREEN = "viral_genuine"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A server whose scorer judges the viral sample genuine while marking its two jumps."""
    doc = sample_documents()[GREEN]
    script = Script(level="low", probability=0.08, confidence="high",
                    tactics={"growth_burst": 0.2}, suspicious_days=largest_jumps(doc, 2))
    with start_service("sqlite", tmp_path_factory.mktemp("polish"),
                       scorer=ScriptedScorer({doc["account_id"]: script})) as svc:
        yield svc


def submit(service: Service, fields: dict[str, str], file: bytes | None = None
           ) -> httpx.Response:
    files = {"snapshot_file": ("snapshot.json", file, "application/json")} if file else None
    with httpx.Client(base_url=service.base_url, headers=BROWSER, timeout=30) as client:
        return client.post("/trust", data=fields, files=files)


def green_report(service: Service) -> tuple[str, str]:
    """The id and page of a report on the viral sample, sent with no platform or handle."""
    doc = sample_documents()[GREEN]
    created = submit(service, {"access_key": service.new_key("recruiter"),
                               "claimed_score": "35", "platform": "", "handle": ""},
                     orjson.dumps(doc))
    assert created.status_code == 303, unescape(created.text)
    with httpx.Client(base_url=service.base_url, headers=BROWSER) as client:
        page = client.get(created.headers["location"])
    assert page.status_code == 200
    return created.headers["location"].rsplit("/", 1)[1], unescape(page.text)


def test_the_form_takes_platform_and_handle_from_the_snapshot(service: Service) -> None:
    _, page = green_report(service)
    doc = sample_documents()[GREEN]
    assert f"@{doc['profile']['username']}" in page
    with httpx.Client(base_url=service.base_url, headers=BROWSER) as client:
        form = client.get("/trust").text
    assert not re.search(r'<select id="platform"[^>]*required', form)
    assert not re.search(r'<input[^>]*id="handle"[^>]*required', form)


def test_a_named_account_is_still_compared_with_the_snapshot(service: Service) -> None:
    doc = sample_documents()[GREEN]
    refused = submit(service, {"access_key": service.new_key("recruiter"),
                               "claimed_score": "35", "platform": "", "handle": "someone_else"},
                     orjson.dumps(doc))
    assert refused.status_code == 422
    assert "does not match the snapshot" in unescape(refused.text)


def test_a_green_verdict_says_why_its_marked_days_do_not_count(service: Service) -> None:
    _, page = green_report(service)
    assert 'data-verdict="consistent"' in page
    assert page.count("data-marked-day d=") == 2
    assert 'class="burst-mark"' not in page and 'class="burst-line"' not in page
    assert 'class="fast-mark"' in page
    assert "Day flagged as a sudden burst" not in page
    figcaption = re.search(r'<figcaption>(.*?)</figcaption>', page.split('id="growth"')[1],
                           re.S)
    assert figcaption is not None and UNCOUNTED_BURSTS["consistent"] in figcaption.group(1)


def test_the_growth_axis_starts_at_zero(service: Service) -> None:
    _, page = green_report(service)
    chart = page.split('id="growth-chart"')[1].split("</svg>")[0]
    bottom = re.search(r'class="axis" x1="\S+" y1="(\S+)"', chart)
    labels = re.findall(r'<text x="\S+" y="(\S+)" text-anchor="end" font-size="13">([^<]+)</text>',
                        chart)
    assert bottom is not None
    assert ("0" in [label for _, label in labels])
    zero_y = next(float(y) for y, label in labels if label == "0") - 4
    assert zero_y == pytest.approx(float(bottom.group(1)))


def test_old_data_is_said_beside_the_verdict(service: Service) -> None:
    """The shipped sample was read on 1 Jun 2026: months before any check run today."""
    report_id, page = green_report(service)
    verdict = page.split("</section>")[0]
    assert 'id="data-age"' in verdict and "before this check" in verdict
    with service.database.transaction() as session:
        body = session.query(StoredTrustReport.body).filter_by(report_id=report_id).scalar()
        report = TrustReport.model_validate_json(body)
        fresh = report.model_copy(update={"created_at": report.observed_at + timedelta(days=2)})
        session.execute(update(StoredTrustReport)
                        .where(StoredTrustReport.report_id == report_id)
                        .values(body=fresh.model_dump_json()))
    with httpx.Client(base_url=service.base_url, headers=BROWSER) as client:
        assert 'id="data-age"' not in client.get(f"/trust/{report_id}").text


def test_the_key_and_the_file_survive_an_error(service: Service) -> None:
    key = service.new_key("recruiter")
    doc = sample_documents()[GREEN]
    broken = orjson.dumps({**doc, "observed_at": "yesterday"})
    answer = submit(service, {"access_key": key, "claimed_score": "35"}, broken)
    assert answer.status_code == 422
    page = unescape(answer.text)
    assert re.search(rf'<input type="password" id="access_key"[^>]*value="{key}"', page)
    assert "data-file-kept" in page
    assert '"observed_at":"yesterday"' in page  # the file's text, in the paste box
    pasted = submit(service, {"access_key": key, "claimed_score": "500",
                              "snapshot_text": orjson.dumps(doc).decode()})
    assert pasted.status_code == 422
    assert doc["account_id"] in unescape(pasted.text)
    assert re.search(rf'value="{key}"', pasted.text)


def test_the_forms_429_says_when_to_come_back(tmp_path: Path) -> None:
    with start_service("sqlite", tmp_path) as svc:
        key = svc.new_key("recruiter", rate=0.01)
        statuses = [submit(svc, {"access_key": key, "claimed_score": "35",
                                 "snapshot_text": "{}"}) for _ in range(40)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["content-type"].startswith("text/html")
