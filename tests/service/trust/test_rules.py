"""The verdict rules, the wording rules and the score comparison, without a server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import snapshot_dict
from trueclout.assessment import (
    Assessment,
    Confidence,
    Evidence,
    ModelRef,
    Reason,
    Risk,
    Tactics,
)
from trueclout.contract import AccountSnapshot
from trueclout.service.scoring.corrections import NO_TACTIC_NOTE
from trueclout.service.trust.coverage import describe_coverage
from trueclout.service.trust.report import suspicious_days
from trueclout.service.trust.scores import (
    NOT_CORRECTED,
    PARTLY_CORRECTED,
    compare_scores,
    starting_score,
)
from trueclout.service.trust.verdict import (
    MAX_CONSISTENT_DISCOUNT,
    decide_verdict,
    signals_for,
)
from trueclout.service.trust.wording import (
    FAMILY_FALLBACK,
    WHO_CAUSED_IT,
    WHO_CAUSED_SIGNALS,
    WHO_COORDINATED,
    forbidden_terms,
    neutral_message,
)

LEVELS = ("low", "elevated", "high")
CONFIDENCES = ("high", "medium", "low", "insufficient")


def assessment(*, level: str = "low", probability: float = 0.1, confidence: str = "medium",
               raw: float | None = 50.0, adjusted: float | None = 50.0,
               tactics: dict[str, float] | None = None,
               evidence: Evidence | None = None) -> Assessment:
    return Assessment(
        assessment_id="a1", account_id="acct", platform="twitter",
        scored_at=datetime(2026, 11, 20, tzinfo=UTC), raw_score=raw, adjusted_score=adjusted,
        risk=Risk(probability=probability, level=level, flag=level == "high"),  # type: ignore[arg-type]
        tactics=Tactics(**{"bought_followers": 0.0, "engagement_ring": 0.0, "growth_burst": 0.0,
                           **(tactics or {})}),
        reasons=[], authentic_reach=None,
        confidence=Confidence(level=confidence),  # type: ignore[arg-type]
        model=ModelRef(name="m", version="1"), evidence=evidence)


@pytest.mark.parametrize(("level", "confidence", "expected"), [
    ("high", "medium", "likely_manipulated"),
    ("high", "high", "likely_manipulated"),
    ("elevated", "medium", "questionable"),
    ("low", "high", "consistent"),
    ("high", "low", "cannot_tell"),
    ("high", "insufficient", "cannot_tell"),
    ("low", "insufficient", "cannot_tell"),
])
def test_verdict_follows_risk_unless_the_data_is_thin(level: str, confidence: str,
                                                      expected: str) -> None:
    assert decide_verdict(assessment(level=level, confidence=confidence)).level == expected


@given(level=st.sampled_from(LEVELS), probability=st.floats(0, 1),
       confidence=st.sampled_from(("low", "insufficient")),
       discount=st.floats(0, 1), bought=st.floats(0, 1))
def test_thin_data_never_gets_a_negative_verdict_or_signals(
    level: str, probability: float, confidence: str, discount: float, bought: float
) -> None:
    a = assessment(level=level, probability=probability, confidence=confidence,
                   adjusted=50.0 * (1 - discount), tactics={"bought_followers": bought})
    verdict = decide_verdict(a)
    assert verdict.level == "cannot_tell"
    assert signals_for(a, verdict) == []


def test_a_large_discount_makes_a_low_risk_account_questionable() -> None:
    kept = 1 - MAX_CONSISTENT_DISCOUNT
    assert decide_verdict(assessment(adjusted=50.0 * kept)).level == "questionable"
    assert decide_verdict(assessment(adjusted=50.0 * kept + 0.5)).level == "consistent"
    assert decide_verdict(assessment(raw=None, adjusted=None)).level == "consistent"


def test_signals_use_neutral_names_and_only_back_negative_verdicts() -> None:
    tactics = {"bought_followers": 0.8, "growth_burst": 0.6, "engagement_ring": 0.2}
    high = assessment(level="high", tactics=tactics)
    signals = signals_for(high, decide_verdict(high))
    assert [s.code for s in signals] == ["inauthentic_followers", "follower_bursts"]
    assert signals[0].label == "Inauthentic followers present"
    low = assessment(level="low", tactics=tactics)
    assert signals_for(low, decide_verdict(low)) == []


@pytest.mark.parametrize(("message", "expected"), [
    ("41% of sampled followers look purchased (95% interval 33% to 49%).",
     "41% of sampled followers look inauthentic (95% interval 33% to 49%)."),
    ("About 300 bought followers in the sample.",
     "About 300 inauthentic followers in the sample."),
    ("The audience has Fake followers from one farm.",
     "The audience has inauthentic followers from one farm."),
    ("62% of engagement comes from 9 accounts.", "62% of engagement comes from 9 accounts."),
])
def test_reason_messages_keep_their_numbers_without_accusing(message: str,
                                                             expected: str) -> None:
    assert neutral_message(message, "audience") == expected


@pytest.mark.parametrize("message", [
    "This account is a fraud.", "Cheating detected: engagement pod.",
    "Likely a scam account.", "The owner is a liar."])
def test_reasons_that_accuse_are_replaced_by_the_family_sentence(message: str) -> None:
    assert neutral_message(message, "engagement") == FAMILY_FALLBACK["engagement"]


def test_machine_codes_are_not_words() -> None:
    assert forbidden_terms("FAKE_AUDIENCE_SHARE bought_followers FRAUD_RING") == []
    assert forbidden_terms("followers were Bought; it is fraudulent") == ["Bought", "fraudulent"]


def test_every_fixed_sentence_follows_the_wording_rules() -> None:
    from trueclout.service.trust import report as trust_report
    from trueclout.service.trust import scores as trust_scores
    from trueclout.service.trust import verdict as trust_verdict
    from trueclout.service.trust import wording as trust_wording

    texts = [*trust_verdict.HEADLINES.values(), *trust_verdict.SUMMARIES.values(),
             *(label for _, label in trust_verdict.SIGNAL_LABELS.values()),
             *trust_wording.FAMILY_FALLBACK.values(), *trust_report.CAVEATS,
             *trust_report.SIGNAL_CAVEATS.values(), trust_wording.WHO_CAUSED_SIGNALS,
             trust_scores.NOT_CORRECTED, trust_scores.PARTLY_CORRECTED,
             *trust_scores.DISCOUNTED_PARTS.values(), trust_scores.BOTH_PARTS, NO_TACTIC_NOTE]
    assert [t for t in texts if forbidden_terms(t)] == []


def test_the_claimed_score_stands_in_for_a_missing_raw_score() -> None:
    doc = snapshot_dict()
    with_score = AccountSnapshot.model_validate(doc)
    without = AccountSnapshot.model_validate({**doc, "raw_score": None})
    assert starting_score(with_score, 10).raw_score == doc["raw_score"]
    assert starting_score(without, 10).raw_score == 10


def test_score_notes_say_whether_the_scores_agree() -> None:
    agree = compare_scores(claimed=35, platform=35.4, adjusted=35.4)
    assert "matches" in agree.notes[0] and "Nothing was discounted" in agree.notes[1]
    lower = compare_scores(claimed=35, platform=48, adjusted=36)
    assert "13 points lower" in lower.notes[0]
    assert "12 points (25%) were discounted" in lower.notes[1]
    assert compare_scores(claimed=35, platform=None, adjusted=30).adjusted_from == "claimed"


def test_score_notes_say_why_a_signal_could_not_be_corrected() -> None:
    why = [f"{NO_TACTIC_NOTE}"]
    kept = compare_scores(claimed=35, platform=35, adjusted=35, uncorrected=why)
    assert kept.notes[1] == NOT_CORRECTED and kept.uncorrected == why
    assert not any("Nothing was discounted" in n for n in kept.notes)
    partly = compare_scores(claimed=40, platform=40, adjusted=36, uncorrected=why,
                            parts=(False, True))
    assert partly.notes[1] == ("4 points (10%) were discounted for the part of the engagement "
                               f"judged inauthentic. {PARTLY_CORRECTED}")
    audience = compare_scores(claimed=40, platform=40, adjusted=36, parts=(True, False))
    assert audience.notes[1].endswith("for the part of the audience judged inauthentic.")


def test_suspicious_days_come_from_the_evidence_when_present() -> None:
    days = [date(2026, 3, 12), date(2026, 3, 11), date(2026, 3, 12)]
    assert suspicious_days(assessment(evidence=Evidence(suspicious_days=days))) == [
        date(2026, 3, 11), date(2026, 3, 12)]
    assert suspicious_days(assessment(evidence=None)) == []


def test_coverage_lists_what_was_missing_without_holding_it_against_the_account() -> None:
    full = AccountSnapshot.model_validate(snapshot_dict(history_days=60))
    coverage = describe_coverage(full, [])
    assert len(coverage.checked) == 5 and coverage.not_checked == []
    thin = AccountSnapshot.model_validate({
        **snapshot_dict(followers=0, posts=0, history_days=10), "reposts_made": []})
    coverage = describe_coverage(thin, ["only 10 days of history"])
    assert len(coverage.checked) == 2  # the profile and the (short) history
    missing = " ".join(coverage.not_checked)
    for expected in ("No follower sample", "covers only 10 days", "No posts or engagements",
                     "reposts of others were not given", "only 10 days of history"):
        assert expected in missing
    new = AccountSnapshot.model_validate({
        **snapshot_dict(), "profile": {**snapshot_dict()["profile"],
                                       "created_at": "2026-11-01T00:00:00Z"}})
    assert "being new is not held against it" in describe_coverage(new, []).checked[0]


def test_reasons_in_a_report_are_neutralised() -> None:
    from trueclout.service.trust.report import compose_report
    from trueclout.service.trust.request import TrustCheckRequest

    doc = snapshot_dict()
    a = assessment(level="high").model_copy(update={"reasons": [
        Reason(code="FAKE_AUDIENCE_SHARE", family="audience", contribution=0.4,
               message="40% of followers look purchased.")]})
    report = compose_report(
        report_id="r" * 43, created_at=a.scored_at, expires_at=a.scored_at,
        request=TrustCheckRequest.model_validate(
            {"claimed_score": 40, "platform": "twitter", "handle": "anna_k", "snapshot": doc}),
        snapshot=AccountSnapshot.model_validate(doc), assessment=a, source="snapshot")
    assert report.reasons[0].message == "40% of followers look inauthentic."
    assert report.reasons[0].code == "FAKE_AUDIENCE_SHARE"


def test_small_inauthentic_shares_are_written_as_the_reasons_write_them() -> None:
    """One share formatter (``features.humanize.pct``): "0.4%", and "<0.1%" rather than 0."""
    from trueclout.assessment import AuthenticReach
    from trueclout.service.trust.report import compose_report
    from trueclout.service.trust.request import TrustCheckRequest

    doc = snapshot_dict()
    a = assessment().model_copy(update={"authentic_reach": AuthenticReach(
        followers=996, followers_low=990, followers_high=1_000, fake_share=0.004,
        fake_share_low=0.0001, fake_share_high=0.01)})
    report = compose_report(
        report_id="r" * 43, created_at=a.scored_at, expires_at=a.scored_at,
        request=TrustCheckRequest.model_validate(
            {"claimed_score": 40, "platform": "twitter", "handle": "anna_k", "snapshot": doc}),
        snapshot=AccountSnapshot.model_validate(doc), assessment=a, source="snapshot")
    assert report.authentic_audience is not None
    assert ("share of inauthentic followers is 0.4% (between <0.1% and 1%)"
            in report.authentic_audience.summary)


def report_for(a: Assessment) -> Any:
    from trueclout.service.trust.report import compose_report
    from trueclout.service.trust.request import TrustCheckRequest

    doc = snapshot_dict()
    return compose_report(
        report_id="r" * 43, created_at=a.scored_at, expires_at=a.scored_at,
        request=TrustCheckRequest.model_validate(
            {"claimed_score": 50, "platform": "twitter", "handle": "anna_k", "snapshot": doc}),
        snapshot=AccountSnapshot.model_validate({**doc, "raw_score": a.raw_score}),
        assessment=a, source="snapshot")


RING_NOTE = ("The score was not corrected for coordinated engagement: no part of its "
             "engagement could be tied to a ring or pod (its own reposts of others "
             "(reposts_made) were not given).")


def test_a_flagged_report_says_the_score_could_not_be_corrected_and_why() -> None:
    a = assessment(level="high", probability=0.98, tactics={"engagement_ring": 0.96})
    a = a.model_copy(update={"confidence": Confidence(level="medium", notes=[
        "94 engagements sampled (100 or more give a firm view of engagement patterns).",
        RING_NOTE])})
    report = report_for(a)
    assert report.verdict.level == "likely_manipulated"
    assert report.scores.notes[1] == NOT_CORRECTED
    # In plain words for recruiters (wording.PLAIN_WORDS): the same facts, no detector names.
    assert report.scores.uncorrected == [neutral_message(RING_NOTE, "engagement")]
    assert "a group of accounts that engage together" in report.scores.uncorrected[0]
    assert RING_NOTE not in report.not_checked and RING_NOTE not in report.confidence.notes
    assert "94 engagements sampled" in " ".join(report.not_checked)


def test_notes_on_uncorrected_tactics_stay_off_pages_that_name_no_signal() -> None:
    a = assessment(level="low", confidence="low", tactics={"engagement_ring": 0.6})
    report = report_for(a.model_copy(update={
        "confidence": Confidence(level="low", notes=[RING_NOTE])}))
    assert report.verdict.level == "cannot_tell"
    assert report.scores.uncorrected == [] and RING_NOTE not in report.not_checked


@pytest.mark.parametrize(("tactics", "level", "who"), [
    ({"engagement_ring": 0.9}, "high", [WHO_COORDINATED]),
    ({"bought_followers": 0.9, "growth_burst": 0.8}, "high", [WHO_CAUSED_IT]),
    ({"growth_burst": 0.9, "engagement_ring": 0.6}, "elevated",
     [WHO_CAUSED_IT, WHO_COORDINATED]),
    ({}, "elevated", [WHO_CAUSED_SIGNALS]),
    ({"bought_followers": 0.6}, "low", []),
])
def test_caveats_follow_the_signals_found(tactics: dict[str, float], level: str,
                                          who: list[str]) -> None:
    from trueclout.service.trust.report import CAVEATS

    report = report_for(assessment(level=level, tactics=tactics))
    assert report.caveats == [*who, *CAVEATS]
