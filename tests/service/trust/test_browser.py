"""The trust-check pages in a real browser: Debian's headless Chromium driven by Playwright.

Each sample snapshot is uploaded through the form at /trust (the thin one is
pasted), and the report page is checked as a recruiter sees it: the verdict,
both scores, the growth chart with its marked days, no horizontal scrolling
at phone width, and axe-core (bundled by axe-playwright-python, injected
into the page; nothing is downloaded) finds no serious or critical
accessibility violation.  A full-page screenshot of each verdict is saved
under ``test-artifacts/trust/`` at the repository root.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import REPO_ROOT
from tests.factories import mutate
from tests.service.conftest import Service
from tests.service.trust.conftest import sample_named
from tests.service.trust.samples import Sample, samples
from trueclout.data import SAMPLES_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "trust"
PHONE = {"width": 375, "height": 812}
SERIOUS = {"serious", "critical"}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh page at phone width; nothing it loads may come from outside the server."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "about:")) else None)
    yield page
    context.close()
    assert outside == [], f"the page fetched from outside: {outside}"


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def assert_fits_a_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def fill_form(page: Any, service: Service, sample: Sample) -> None:
    page.goto(service.base_url + "/trust")
    page.get_by_label("Your recruiter key").fill(service.new_key("recruiter"))
    page.get_by_label("The score you were shown").fill("35")
    page.get_by_label("Platform").select_option(sample.platform)
    page.get_by_label("The account's handle").fill("@" + sample.handle)


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Check the score").click()


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_a_recruiter_uploads_each_sample_and_reads_the_verdict(
    pages_service: Service, phone: Any, sample: Sample
) -> None:
    fill_form(phone, pages_service, sample)
    phone.set_input_files("#snapshot_file", str(SAMPLES_DIR / f"{sample.name}.json"))
    submit(phone)
    assert "/trust/" in phone.url
    heading = phone.locator("h1")
    assert heading.inner_text().startswith(sample.headline_start)
    assert heading.get_attribute("data-verdict") == sample.verdict
    assert phone.locator('[data-score="claimed"]').inner_text() == "35"
    adjusted = phone.locator('[data-score="adjusted"]').inner_text()
    assert float(adjusted) <= float(sample.document["raw_score"])
    assert phone.locator("#score-chart rect").count() == 3  # shown, platform, adjusted
    chart = phone.locator("#growth-chart")
    assert chart.is_visible()
    assert chart.locator("polyline").count() == 1
    assert chart.locator("[data-marked-day]").count() == len(sample.script.suspicious_days)
    assert_fits_a_phone(phone)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"{sample.verdict}-{sample.name}.png"),
                     full_page=True)
    assert serious_violations(phone) == []


def test_a_pasted_thin_snapshot_gets_cannot_tell(pages_service: Service, phone: Any) -> None:
    sample = sample_named("new_thin")
    thin = mutate(mutate(sample.document, "followers", []), "engagements", [])
    fill_form(phone, pages_service, sample)
    phone.get_by_label("Or paste the snapshot").fill(
        orjson.dumps({**thin, "account_id": "thin-browser"}).decode())
    submit(phone)
    assert phone.locator("h1").inner_text().startswith("Cannot tell")
    assert "says nothing bad about the account" in phone.locator("main").inner_text()
    assert_fits_a_phone(phone)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "cannot_tell-thin-pasted.png"), full_page=True)
    assert serious_violations(phone) == []


def test_the_form_and_its_errors_are_accessible(pages_service: Service, phone: Any) -> None:
    phone.goto(pages_service.base_url + "/trust")
    assert serious_violations(phone) == []
    assert_fits_a_phone(phone)
    sample = sample_named("genuine_steady")
    fill_form(phone, pages_service, sample)
    phone.get_by_label("The score you were shown").fill("150")
    phone.get_by_label("Or paste the snapshot").fill('{"account_id": ')
    submit(phone)
    alert = phone.get_by_role("alert")
    assert "Score you were shown: enter a number from 0 to 100" in alert.inner_text()
    assert "is not valid JSON" in alert.inner_text()
    assert phone.get_by_label("The score you were shown").input_value() == "150"
    assert serious_violations(phone) == []
    assert_fits_a_phone(phone)


def test_an_unknown_report_is_a_clear_404_page(pages_service: Service, phone: Any) -> None:
    response = phone.goto(pages_service.base_url + "/trust/" + "N" * 43)
    assert response is not None and response.status == 404
    assert phone.locator("h1").inner_text() == "Not found"
    assert "no trust-check report at this address" in phone.locator("main").inner_text()
    assert serious_violations(phone) == []
    assert_fits_a_phone(phone)


def test_a_person_disputes_a_verdict_from_the_report_page(pages_service: Service,
                                                          phone: Any) -> None:
    sample = sample_named("bought_followers")
    fill_form(phone, pages_service, sample)
    phone.set_input_files("#snapshot_file", str(SAMPLES_DIR / f"{sample.name}.json"))
    submit(phone)
    report_url = phone.url
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send the dispute").click()
    alert = phone.get_by_role("alert")
    assert "What is wrong with this verdict: say what you believe is wrong" in alert.inner_text()
    assert phone.get_by_label("What is wrong with this verdict?").get_attribute(
        "aria-invalid") == "true"
    assert serious_violations(phone) == []
    assert_fits_a_phone(phone)
    phone.get_by_label("What is wrong with this verdict?").fill(
        "These followers arrived after a TV interview; I did not ask for them.")
    phone.get_by_label("How can an analyst reach you? (optional)").fill("anna@example.org")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send the dispute").click()
    assert phone.url.startswith(report_url + "/disputes/fb_")
    assert phone.locator("h1").inner_text() == "Your dispute was received"
    assert phone.get_by_role("status").inner_text().startswith("An analyst will review it")
    assert "TV interview" in phone.locator("main").inner_text()
    assert_fits_a_phone(phone)
    assert serious_violations(phone) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "dispute-received.png"), full_page=True)
