"""The pages over real HTTP: the form, each report page, the 404 page, and the wording rules."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import mutate
from tests.service.conftest import Service, start_service
from tests.service.trust.conftest import check_body, count_rows, expire_report, sample_named
from tests.service.trust.doubles import Script, ScriptedScorer
from tests.service.trust.samples import sample_documents, samples
from trueclout.data import SAMPLES_DIR
from trueclout.service.db.trust import StoredTrustReport
from trueclout.service.trust.report import TrustReport
from trueclout.service.trust.wording import forbidden_terms

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class _Page(HTMLParser):
    """What the checks below need from a page: text, headings, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.headings: list[int] = []
        self.external: list[str] = []
        self.scripts = 0
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "script":
            self.scripts += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for name in ("src", "href", "action", "xlink:href"):
            value = values.get(name) or ""
            if re.match(r"^\s*(https?:)?//", value):
                self.external.append(value)
        if "url(" in (values.get("style") or ""):
            self.external.append(values["style"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def assert_self_contained_and_well_formed(html: str) -> _Page:
    page = parse(html)
    assert page.lang == "en"
    assert page.scripts == 0
    assert page.external == []
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)  # nothing fetched from CSS
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    return page


def create_report(service: Service, body: dict[str, Any]) -> dict[str, Any]:
    with service.client(service.new_key("recruiter")) as client:
        response = client.post("/v1/trust-check", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_each_report_page_shows_verdict_scores_and_growth(pages_service: Service,
                                                          sample) -> None:
    report = create_report(pages_service, check_body(sample, claimed_score=35))
    with pages_service.client() as browser:  # no key: the link is the permission
        response = browser.get(report["links"]["page"])
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    page = assert_self_contained_and_well_formed(html)
    text = " ".join(page.text)
    assert f'data-verdict="{sample.verdict}"' in html
    assert re.search(r"<h1[^>]*>\s*" + re.escape(sample.headline_start), html)
    assert re.search(r'data-score="claimed">35<', html)
    adjusted = report["scores"]["adjusted"]
    assert f'data-score="adjusted">{adjusted:g}<' in html
    marked = len(sample.script.suspicious_days)
    assert f'data-marked-days="{marked}"' in html
    assert html.count("data-marked-day ") == marked
    assert "expires on" in text and "Disagree with this verdict?" in text
    assert report["report_id"] in text


def _all_reports(service: Service) -> list[dict[str, Any]]:
    """A report for every sample file (scripted or not), plus a thin and a no-history one."""
    bodies = [check_body(s) for s in samples()]
    for name, doc in sample_documents().items():
        if name not in {s.name for s in samples()}:
            bodies.append({"claimed_score": 50, "platform": doc["platform"],
                           "handle": doc["profile"]["username"], "snapshot": doc})
    thin = mutate(mutate(mutate(sample_named("new_thin").document, "followers", []),
                         "engagements", []), "follower_history", [])
    bodies.append(check_body(sample_named("new_thin"), snapshot={**thin, "account_id": "thin"}))
    return [create_report(service, body) for body in bodies]


def test_no_page_or_json_a_recruiter_sees_uses_forbidden_words(pages_service: Service) -> None:
    reports = _all_reports(pages_service)
    levels = {r["verdict"]["level"] for r in reports}
    assert levels == {"consistent", "questionable", "likely_manipulated", "cannot_tell"}
    pages = []
    with pages_service.client() as browser:
        for report in reports:
            pages.append(browser.get(report["links"]["page"]).text)
        pages.append(browser.get("/trust").text)
        pages.append(browser.get("/trust/" + "x" * 43).text)
    for report in reports:
        assert forbidden_terms(TrustReport.model_validate(report).model_dump_json()) == []
    for html in pages:
        assert forbidden_terms(" ".join(parse(html).text)) == []
    # The scripted model wrote "look purchased" and "fraud farm": the report does not.
    likely = next(r for r in reports if r["verdict"]["level"] == "likely_manipulated")
    assert likely["authentic_audience"]["inauthentic_followers_present"] is True
    assert "Inauthentic followers present" in likely["authentic_audience"]["summary"]
    assert "Signals cannot show who caused them" in likely["authentic_audience"]["summary"]


def test_thin_data_is_cannot_tell_and_says_what_was_missing(pages_service: Service) -> None:
    sample = sample_named("new_thin")
    thin = mutate(mutate(sample.document, "followers", []), "engagements", [])
    report = create_report(pages_service, check_body(
        sample, snapshot={**thin, "account_id": "thin-2"}))
    assert report["verdict"]["level"] == "cannot_tell"
    assert report["signals"] == [] and report["authentic_audience"] is None
    missing = " ".join(report["not_checked"])
    assert "No follower sample" in missing and "coordinated engagement" in missing
    with pages_service.client() as browser:
        html = browser.get(report["links"]["page"]).text
    assert "This says nothing bad about the account" in html
    assert "Could not be estimated" in html


@pytest.mark.parametrize("path", ["/trust/" + "Q" * 43, "/trust/short", "/trust/a/b/c"])
def test_unknown_reports_get_a_readable_404_page(pages_service: Service, path: str) -> None:
    with pages_service.client() as browser:
        response = browser.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = assert_self_contained_and_well_formed(response.text)
    assert "Traceback" not in response.text
    assert "Not found" in " ".join(page.text)


def test_an_expired_report_says_so_with_a_404(pages_service: Service) -> None:
    report = create_report(pages_service, check_body(samples()[0]))
    expire_report(pages_service, report["report_id"])
    with pages_service.client() as browser:
        response = browser.get(report["links"]["page"])
    assert response.status_code == 404
    assert "expired on" in response.text and report["verdict"]["headline"] not in response.text


# --- the form -----------------------------------------------------------------------------


def post_form(service: Service, fields: dict[str, str], file: bytes | None = None,
              **kwargs: Any) -> httpx.Response:
    files = {"snapshot_file": ("snapshot.json", file or b"", "application/json")}
    with service.client() as browser:
        return browser.post("/trust", data=fields, files=files, **kwargs)


def form_fields(service: Service, sample, **overrides: str) -> dict[str, str]:
    fields = {"access_key": service.new_key("recruiter"), "claimed_score": "35",
              "platform": sample.platform, "handle": sample.handle, "snapshot_text": "",
              "assessment_id": ""}
    return {**fields, **overrides}


def test_the_form_has_a_label_for_every_field(pages_service: Service) -> None:
    with pages_service.client() as browser:
        html = browser.get("/trust").text
    assert_self_contained_and_well_formed(html)
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert set(ids) == {"access_key", "claimed_score", "platform", "handle", "snapshot_file",
                        "snapshot_text", "assessment_id"}
    for field_id in ids:
        assert f'<label for="{field_id}">' in html
    assert 'type="password" id="access_key"' in html


def test_the_form_checks_a_pasted_snapshot_and_goes_to_the_report(
    pages_service: Service
) -> None:
    import orjson

    sample = sample_named("bought_followers")
    fields = form_fields(pages_service, sample,
                         snapshot_text=orjson.dumps(sample.document).decode())
    response = post_form(pages_service, fields)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/trust/[A-Za-z0-9_-]{43}", location)
    with pages_service.client() as browser:
        assert "Likely manipulated" in browser.get(location).text


def test_the_form_checks_an_uploaded_file(pages_service: Service) -> None:
    sample = sample_named("genuine_steady")
    upload = (SAMPLES_DIR / f"{sample.name}.json").read_bytes()
    response = post_form(pages_service, form_fields(pages_service, sample), upload)
    assert response.status_code == 303


@pytest.mark.parametrize(("overrides", "status", "anchor", "words"), [
    ({"access_key": ""}, 401, "access_key", "Enter your recruiter key"),
    ({"access_key": "tc_wrong"}, 401, "access_key", "not valid"),
    ({"claimed_score": "lots"}, 422, "claimed_score", "Enter a number from 0 to 100"),
    ({"claimed_score": "120"}, 422, "claimed_score", "a number from 0 to 100"),
    ({"platform": "", "snapshot_text": "", "assessment_id": "0f" * 16}, 422, "platform",
     "Choose the platform"),
    ({"handle": "someone_else"}, 422, "handle",
     "Does not match the snapshot, whose profile.username is"),
    ({"handle": "", "snapshot_text": "", "assessment_id": "0f" * 16}, 422, "handle",
     "Enter the account's handle"),
    ({"snapshot_text": "{not json"}, 422, "snapshot_text", "Is not valid JSON"),
    ({"snapshot_text": ""}, 422, "snapshot_text", "Upload a snapshot file, paste a snapshot"),
    ({"assessment_id": "0f" * 16}, 404, "assessment_id", "No stored snapshot"),
])
def test_form_errors_are_shown_on_the_field_in_plain_words(
    pages_service: Service, overrides: dict[str, str], status: int, anchor: str, words: str
) -> None:
    import orjson

    sample = sample_named("genuine_steady")
    fields = form_fields(pages_service, sample,
                         snapshot_text=orjson.dumps(sample.document).decode())
    if "assessment_id" in overrides:
        fields["snapshot_text"] = ""
    response = post_form(pages_service, {**fields, **overrides})
    assert response.status_code == status, response.text[:500]
    html = response.text
    assert_self_contained_and_well_formed(html)
    assert 'role="alert"' in html and f'href="#{anchor}"' in html
    assert re.search(rf'id="{anchor}-error-1">(<code>[^<]*</code>: )?[^<]*'
                     + re.escape(words), unescape(html)), html[:3000]
    assert 'aria-invalid="true"' in html
    # The key comes back into its password field (issue 16, item 12), on a no-store page.
    assert f'value="{overrides.get("access_key", fields["access_key"])}"' in html
    assert response.headers["cache-control"] == "no-store"


def test_a_snapshot_error_names_its_path_inside_the_snapshot(pages_service: Service) -> None:
    import orjson

    sample = sample_named("genuine_steady")
    bad = mutate(sample.document, "profile.followers_count", -5)
    response = post_form(pages_service, form_fields(pages_service, sample),
                         orjson.dumps(bad))
    assert response.status_code == 422
    assert '<code>profile.followers_count</code>: must be 0 or more' in response.text
    assert 'href="#snapshot_file"' in response.text


def test_a_key_without_the_recruiter_scope_cannot_use_the_form(pages_service: Service) -> None:
    sample = sample_named("genuine_steady")
    fields = form_fields(pages_service, sample,
                         access_key=pages_service.new_key("platform", "analyst"))
    response = post_form(pages_service, fields, b"{}")
    assert response.status_code == 403
    assert "lacks the recruiter scope" in response.text


def test_the_form_and_the_api_share_one_gate_and_one_rate(pages_service: Service) -> None:
    """A recruiter key is checked by the same ``authorize`` on both paths: one bucket."""
    sample = sample_named("genuine_steady")
    key = pages_service.new_key("recruiter", rate=0.5)  # one check, then a two-second wait
    with pages_service.client(key) as client:
        assert client.post("/v1/trust-check", json=check_body(sample)).status_code == 201
    response = post_form(pages_service, form_fields(pages_service, sample, access_key=key),
                         (SAMPLES_DIR / f"{sample.name}.json").read_bytes())
    assert response.status_code == 429
    assert "Too many checks with this key; try again in 2 seconds" in response.text
    assert 'href="#access_key"' in response.text


def test_an_oversize_upload_gets_a_readable_413_page(pages_service: Service) -> None:
    sample = sample_named("genuine_steady")
    too_big = b" " * (pages_service.settings.max_body_bytes + 1)
    response = post_form(pages_service, form_fields(pages_service, sample), too_big)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "too large" in response.text and "The limit is 256 KiB" in response.text
    assert_self_contained_and_well_formed(response.text)


def test_the_api_keeps_json_errors(pages_service: Service) -> None:
    with pages_service.client() as client:
        response = client.get("/v1/no-such-thing", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_scripts_cover_every_verdict_level() -> None:
    assert {s.verdict for s in samples()} >= {"consistent", "questionable",
                                              "likely_manipulated", "cannot_tell"}
    assert all(isinstance(s.script, Script) for s in samples())


def test_a_wrong_method_on_a_page_is_a_readable_405(pages_service: Service) -> None:
    with pages_service.client() as browser:
        response = browser.put("/trust", headers=BROWSER)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "GET" in response.headers["allow"]


class _BrokenScorer(ScriptedScorer):
    def assess(self, snapshot, *, scored_at):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in the model")


def test_a_bug_behind_the_form_is_a_500_page_without_a_traceback(tmp_path: Path) -> None:
    import orjson

    sample = sample_named("genuine_steady")
    with start_service("sqlite", tmp_path, scorer=_BrokenScorer()) as service:
        fields = form_fields(service, sample, snapshot_text=orjson.dumps(sample.document).decode())
        response = post_form(service, fields)
        reports = count_rows(service, StoredTrustReport)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text and "a bug in the model" not in response.text
    assert response.headers["x-request-id"] in response.text
    assert reports == 0


def test_without_a_model_the_form_says_so(unready_service: Service) -> None:
    import orjson

    sample = sample_named("genuine_steady")
    fields = form_fields(unready_service, sample,
                         snapshot_text=orjson.dumps(sample.document).decode())
    response = post_form(unready_service, fields)
    assert response.status_code == 503
    assert "the scoring model is not available right now" in response.text
