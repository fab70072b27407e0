"""Trust pages of every bundled sample scored by the shipped model, read in headless Chromium.

The scripted pages (test_browser.py) drive each verdict level with a stand-in
for the model; here the server loads its scorer as `trueclout serve` does
(the shipped default model), and each page must tell the story of the API's
answer for the same snapshot (``POST /v1/score``): the headline follows the
risk and confidence, the scores are the API's, the signals are the likely
tactics, the reasons are the API's (in neutral words), the score notes say
what was discounted or why the score could not be corrected (never "nothing
was discounted" under "likely manipulated"), and the caveats name who could
have caused exactly the signals found.  Besides the samples as shipped, two
snapshots lack what a discount rests on: the bought-followers account
without its follower sample, the ring member without its own reposts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.service.conftest import Service, start_service
from tests.service.model_support import model_scorer_for, sample_doc
from tests.service.trust.conftest import TRUST_TTL_DAYS
from trueclout.assessment import TACTICS
from trueclout.data import SAMPLES_DIR
from trueclout.service.scoring.corrections import (
    TACTIC_PROBABILITY,
    TACTIC_WORDS,
    is_correction_note,
)
from trueclout.service.trust.format import human_score
from trueclout.service.trust.verdict import MAX_CONSISTENT_DISCOUNT, SIGNAL_LABELS
from trueclout.service.trust.wording import (
    WHO_CAUSED_IT,
    WHO_COORDINATED,
    forbidden_terms,
    neutral_message,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "trust"
FOLLOWER_TACTICS = {"bought_followers", "growth_burst"}


def _without(name: str, field: str) -> Callable[[], dict[str, Any]]:
    return lambda: {**sample_doc(name), field: []}


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    **{p.stem: (lambda stem=p.stem: sample_doc(stem))
       for p in sorted(SAMPLES_DIR.glob("*.json"))},
    "bought_followers-without-follower-sample": _without("bought_followers", "followers"),
    "ring_member-without-own-reposts": _without("ring_member", "reposts_made"),
}


@pytest.fixture(scope="module")
def model_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("trust-model")
    with start_service("sqlite", data_dir, scorer=model_scorer_for(data_dir),
                       trust_report_ttl_days=TRUST_TTL_DAYS) as svc:
        yield svc


@pytest.fixture(scope="module")
def keys(model_service: Service) -> dict[str, str]:
    return {"platform": model_service.new_key("platform"),
            "recruiter": model_service.new_key("recruiter")}


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    yield context.new_page()
    context.close()


def api_answer_and_page(service: Service, keys: dict[str, str], page: Any,
                        doc: dict[str, Any]) -> dict[str, Any]:
    """The API's assessment of ``doc``; ``page`` is left on the trust report of ``doc``."""
    with service.client(keys["platform"]) as client:
        scored = client.post("/v1/score?store=false", json=doc)
    assert scored.status_code == 200, scored.text
    with service.client(keys["recruiter"]) as client:
        created = client.post("/v1/trust-check", json={
            "claimed_score": doc["raw_score"], "platform": doc["platform"],
            "handle": doc["profile"]["username"], "snapshot": doc})
    assert created.status_code == 201, created.text
    response = page.goto(service.base_url + created.json()["links"]["page"])
    assert response is not None and response.status == 200
    return scored.json()


def expected_verdict(api: dict[str, Any]) -> str:
    """The verdict rules of docs/TRUST_CHECK.md, read off the API's answer."""
    if api["confidence"]["level"] in ("low", "insufficient"):
        return "cannot_tell"
    if api["risk"]["flag"]:
        return "likely_manipulated"
    if api["risk"]["level"] == "elevated":
        return "questionable"
    kept = api["adjusted_score"] / api["raw_score"] if api["raw_score"] else 1.0
    return "questionable" if 1 - kept >= MAX_CONSISTENT_DISCOUNT else "consistent"


def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_page_tells_the_story_of_the_api_answer(
        model_service: Service, keys: dict[str, str], page: Any, case: str) -> None:
    doc = CASES[case]()
    api = api_answer_and_page(model_service, keys, page, doc)
    main = page.locator("main").inner_text()
    verdict = page.locator("h1").get_attribute("data-verdict")
    negative = verdict in ("questionable", "likely_manipulated")
    # The headline.
    assert verdict == expected_verdict(api), (case, api["risk"], api["confidence"])
    # The scores.
    assert page.locator('[data-score="platform"]').inner_text() == human_score(api["raw_score"])
    assert page.locator('[data-score="adjusted"]').inner_text() == human_score(
        api["adjusted_score"])
    assert page.locator("[data-model-version]").inner_text() == api["model"]["version"]
    # The signals: the likely tactics, named only beside a negative verdict.
    likely = [t for t in TACTICS if api["tactics"][t] >= TACTIC_PROBABILITY]
    assert set(texts(page, "ul.signals li")) == (
        {SIGNAL_LABELS[t][1] for t in likely} if negative else set())
    # The reasons, in the API's order and numbers.
    assert texts(page, "[data-reasons] li") == [
        neutral_message(r["message"], r["family"]) for r in api["reasons"]]
    # What the adjustment did, or why it could not.
    notes = page.locator("[data-score-notes]").inner_text()
    uncorrected = texts(page, "[data-uncorrected]")
    correction = [neutral_message(n, "profile") for n in api["confidence"]["notes"]
                  if is_correction_note(n)]
    if api["adjusted_score"] < api["raw_score"]:
        assert "were discounted" in notes
    elif negative and likely:
        assert "could not be corrected" in notes and "Nothing was discounted" not in notes
        assert uncorrected == correction
        for tactic in likely:
            assert any(TACTIC_WORDS[tactic] in line for line in uncorrected), tactic
    if not negative:
        assert uncorrected == []
    if verdict == "likely_manipulated":
        assert "Nothing was discounted" not in main
    # The caveats follow the signals found.
    caveats = texts(page, "[data-caveats] li")
    shown = set(likely) if negative else set()
    assert (WHO_CAUSED_IT in caveats) == bool(shown & FOLLOWER_TACTICS)
    assert (WHO_COORDINATED in caveats) == ("engagement_ring" in shown)
    assert forbidden_terms(main) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"model-{case}.png"), full_page=True)
