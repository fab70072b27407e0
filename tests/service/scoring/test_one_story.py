"""One story per assessment, with the shipped model, over generated snapshots.

* A tactic the model finds likely (probability >= 0.5) is either discounted
  (its share of the rule, ``a`` or ``e``, removed something) or a
  confidence note says why it could not be; a flagged account whose score
  kept every point has a note saying why.
* The trust report composed from that assessment never contradicts it: the
  adjusted score is the API's; beside a negative verdict the scores say what
  was discounted or that the score could not be corrected (with the API's
  notes), never "nothing was discounted" under "likely manipulated"; the
  caveats name who could have caused exactly the signals found.

The snapshots are the bundled samples with parts taken away or added
(follower sample, own reposts, engagement, history, fake followers, a pod),
so flagged accounts with and without a measurable share both come up, and
any valid snapshot from the contract's strategy.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.model_support import sample_doc, shipped_model, with_fake_followers, with_pod
from tests.strategies import snapshots
from trueclout.assessment import TACTICS, Assessment
from trueclout.contract import AccountSnapshot
from trueclout.data import SAMPLES_DIR
from trueclout.files import utc_now
from trueclout.service.scoring.adjustment import TACTIC_SHARES
from trueclout.service.scoring.assess import Judgement, judge, to_assessments
from trueclout.service.scoring.corrections import (
    TACTIC_PROBABILITY,
    TACTIC_WORDS,
    is_correction_note,
)
from trueclout.service.trust.report import TrustReport, compose_report
from trueclout.service.trust.request import TrustCheckRequest
from trueclout.service.trust.scores import NOT_CORRECTED
from trueclout.service.trust.verdict import SIGNAL_LABELS
from trueclout.service.trust.wording import WHO_CAUSED_IT, WHO_COORDINATED
from trueclout.tables import snapshots_to_tables

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("TRUECLOUT_PROPERTY_EXAMPLES", "100"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SAMPLE_NAMES = sorted(p.stem for p in SAMPLES_DIR.glob("*.json"))
MANIPULATED = ["bought_followers", "ring_member"]
FOLLOWER_SIGNALS = {"inauthentic_followers", "follower_bursts"}


@st.composite
def sample_variants(draw: st.DrawFn) -> dict[str, Any]:
    """A bundled sample with parts of its data taken away and manipulation added."""
    # Half of them start from a manipulated account, where the flag is up.
    name = draw(st.sampled_from(MANIPULATED) | st.sampled_from(SAMPLE_NAMES))
    doc = copy.deepcopy(sample_doc(name))
    followers = draw(st.sampled_from(["all", "none", "few"]))
    if followers != "all":
        doc["followers"] = doc["followers"][:draw(st.integers(1, 12))] if followers == "few" else []
    if draw(st.booleans()):
        doc["reposts_made"] = []
    engaged = draw(st.sampled_from([None, 0, 1, 2, 3]))
    if engaged is not None:
        kept = {p["post_id"] for p in doc["posts"][:engaged]}
        doc["engagements"] = [e for e in doc["engagements"] if e["post_id"] in kept]
    if draw(st.booleans()):
        doc["follower_history"] = []
    # None half the time: added followers or a pod give a measurable share.
    if fakes := draw(st.just(0) | st.integers(1, 30)):
        doc = with_fake_followers(doc, fakes)
    if pod := draw(st.just(0) | st.integers(1, 8)):
        doc = with_pod(doc, pod)
    doc["raw_score"] = draw(st.just(doc["raw_score"]) | st.sampled_from([0.0, 12.3, 100.0]))
    return doc


def judged(snapshot: AccountSnapshot) -> tuple[Judgement, Assessment]:
    tables = snapshots_to_tables([snapshot])
    judgement = judge(tables, shipped_model(), graph=None)
    (assessment,) = to_assessments(judgement, tables, shipped_model(), scored_at=utc_now())
    return judgement, assessment


def check_every_likely_tactic_is_discounted_or_explained(judgement: Judgement,
                                                         a: Assessment) -> None:
    notes = [n for n in a.confidence.notes if is_correction_note(n)]
    tactics = a.tactics.model_dump()
    likely = [t for t in TACTICS if tactics[t] >= TACTIC_PROBABILITY]
    judges = bool(a.raw_score) and a.confidence.level != "insufficient"
    shares = {"audience": judgement.inauthentic_audience[0],
              "engagement": judgement.inauthentic_engagement[0]}
    for tactic in likely:
        if judges and shares[TACTIC_SHARES[tactic]] == 0:
            assert any(TACTIC_WORDS[tactic] in n for n in notes), (tactic, a.confidence.notes)
    # On the wire: a flag beside a tactic means a discount or a note that says why not.
    if a.risk.flag and likely and a.raw_score:
        assert a.adjusted_score is not None
        assert a.adjusted_score < a.raw_score or notes, a.confidence.notes
    if a.risk.flag and a.raw_score and a.adjusted_score == a.raw_score:
        assert notes, a.confidence.notes
    if not judges:
        assert notes == []


def report_for(snapshot: AccountSnapshot, a: Assessment) -> TrustReport:
    request = TrustCheckRequest.model_validate({
        "claimed_score": a.raw_score, "platform": snapshot.platform,
        "handle": "anyone", "snapshot": snapshot.model_dump(mode="json")})
    return compose_report(report_id="r" * 43, created_at=a.scored_at, expires_at=a.scored_at,
                          request=request, snapshot=snapshot, assessment=a, source="snapshot")


def check_the_report_tells_the_same_story(report: TrustReport, a: Assessment) -> None:
    assert a.raw_score is not None and a.adjusted_score is not None
    assert report.scores.adjusted == a.adjusted_score
    tactics = a.tactics.model_dump()
    negative = report.verdict.level in ("questionable", "likely_manipulated")
    expected = {SIGNAL_LABELS[t][0] for t in TACTICS if tactics[t] >= TACTIC_PROBABILITY}
    signals = {s.code for s in report.signals}
    assert signals == (expected if negative else set())
    if report.verdict.level == "likely_manipulated":
        assert a.risk.flag
    said = " ".join(report.scores.notes)
    correction = [n for n in a.confidence.notes if is_correction_note(n)]
    if a.adjusted_score < a.raw_score:
        assert "were discounted" in said and NOT_CORRECTED not in said
    elif negative and correction:
        assert NOT_CORRECTED in said and "Nothing was discounted" not in said
        assert report.scores.uncorrected == correction
    if report.verdict.level == "likely_manipulated":
        assert "Nothing was discounted" not in said
    assert not any(is_correction_note(n) for n in report.not_checked)
    assert (WHO_CAUSED_IT in report.caveats) == bool(signals & FOLLOWER_SIGNALS)
    assert (WHO_COORDINATED in report.caveats) == ("coordinated_engagement" in signals)


@PROPERTY
@given(doc=sample_variants())
def test_a_likely_tactic_is_discounted_or_explained_and_the_report_agrees(
        doc: dict[str, Any]) -> None:
    snapshot = AccountSnapshot.model_validate(doc)
    judgement, a = judged(snapshot)
    check_every_likely_tactic_is_discounted_or_explained(judgement, a)
    check_the_report_tells_the_same_story(report_for(snapshot, a), a)


@PROPERTY
@given(snapshot=snapshots())
def test_on_any_snapshot_a_likely_tactic_is_discounted_or_explained(
        snapshot: AccountSnapshot) -> None:
    judgement, a = judged(snapshot)
    check_every_likely_tactic_is_discounted_or_explained(judgement, a)
    if a.raw_score is not None:
        check_the_report_tells_the_same_story(report_for(snapshot, a), a)


def test_the_variants_reach_both_sides_of_the_property() -> None:
    """The two measured cases of issue 15: a ring member is discounted for its ring; an account
    likely to have inauthentic followers but sent without a follower sample gets a note."""
    ring_judgement, ring = judged(AccountSnapshot.model_validate(sample_doc("ring_member")))
    assert ring.risk.flag and ring.tactics.engagement_ring >= TACTIC_PROBABILITY
    assert ring.raw_score is not None and ring.adjusted_score is not None
    assert ring.adjusted_score < ring.raw_score
    assert ring_judgement.inauthentic_engagement[0] > 0
    bought = {**sample_doc("bought_followers"), "followers": []}
    _, a = judged(AccountSnapshot.model_validate(bought))
    assert a.tactics.bought_followers >= TACTIC_PROBABILITY
    assert a.adjusted_score == a.raw_score
    (note,) = [n for n in a.confidence.notes if is_correction_note(n)]
    assert "inauthentic followers" in note and "no follower sample was given" in note
