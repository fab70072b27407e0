"""The trust-check report: what ``POST /v1/trust-check`` returns, stores and the page shows.

``compose_report`` is pure: the request, the snapshot that was scored and the
model's assessment in; the report out.  Every sentence in it is either fixed
text that follows the wording rules (``trust.wording``) or a model reason
passed through ``neutral_message``.  From the snapshot the report keeps only
what the page needs (the account's identity and its follower-growth series).

One story: the scores say what the adjustment discounted or, for a signal
the verdict names, why the score could not be corrected for it (the
assessment's correction notes, never "nothing was inauthentic" beside a
negative verdict); the caveats say who could have caused the signals found,
and only those.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from trueclout.assessment import Assessment, ConfidenceLevel, Family, ModelRef, RiskLevel
from trueclout.contract import AccountSnapshot, Platform
from trueclout.features.humanize import pct
from trueclout.service.scoring.adjustment import discounted_parts
from trueclout.service.scoring.corrections import is_correction_note
from trueclout.service.trust.coverage import describe_coverage
from trueclout.service.trust.format import human_age, human_count, human_date, plural
from trueclout.service.trust.request import TrustCheckRequest
from trueclout.service.trust.scores import compare_scores
from trueclout.service.trust.verdict import (
    Signal,
    Verdict,
    VerdictLevel,
    decide_verdict,
    signals_for,
)
from trueclout.service.trust.wording import (
    WHO_CAUSED_IT,
    WHO_CAUSED_SIGNALS,
    WHO_COORDINATED,
    neutral_message,
)

PAGE_PATH = "/trust/{report_id}"
# Data read longer before the check than this is called out beside the verdict: a month is
# enough for an audience, its growth and its engagement to change (and for a platform to purge
# the inauthentic followers the check might have found).
STALE_DATA_DAYS = 30
API_PATH = "/v1/trust-check/{report_id}"
Source = Literal["snapshot", "stored_snapshot"]
NEGATIVE_VERDICTS = frozenset({"questionable", "likely_manipulated"})


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportLinks(_Out):
    self: str
    page: str


class Subject(_Out):
    platform: Platform
    handle: str
    account_id: str


class VerdictOut(_Out):
    level: VerdictLevel
    headline: str
    summary: str
    basis: str


class ScoresOut(_Out):
    claimed: float
    platform: float | None
    adjusted: float | None
    adjusted_from: Literal["platform", "claimed"]
    scale_max: float = 100.0
    notes: list[str]
    # Why signals found with the verdict could not be corrected for (the assessment's notes).
    uncorrected: list[str] = []


class SignalOut(_Out):
    code: str
    label: str
    probability: float


class ReasonOut(_Out):
    code: str
    family: Family
    message: str
    contribution: float


class AuthenticAudience(_Out):
    followers_total: int
    authentic_followers: int
    authentic_followers_low: int
    authentic_followers_high: int
    inauthentic_share: float
    inauthentic_share_low: float
    inauthentic_share_high: float
    inauthentic_followers_present: bool
    summary: str


class GrowthPoint(_Out):
    date: date
    followers: int


class Growth(_Out):
    points: list[GrowthPoint]
    suspicious_days: list[date]


class RiskOut(_Out):
    probability: float
    level: RiskLevel


class ConfidenceOut(_Out):
    level: ConfidenceLevel
    notes: list[str]


class TrustReport(_Out):
    """One trust check, as the recruiter gets it (and may share it)."""

    report_id: str
    created_at: datetime
    expires_at: datetime
    links: ReportLinks
    subject: Subject
    observed_at: datetime
    verdict: VerdictOut
    scores: ScoresOut
    signals: list[SignalOut]
    risk: RiskOut
    reasons: list[ReasonOut]
    authentic_audience: AuthenticAudience | None
    growth: Growth
    checked: list[str]
    not_checked: list[str]
    caveats: list[str]
    confidence: ConfidenceOut
    model: ModelRef
    assessment_id: str
    source: Source


# Who caused a signal, by the signals found (follower signals can be pushed onto an account;
# a group can engage on someone's posts unasked); a negative verdict without signals gets
# the plain sentence, other verdicts none.
SIGNAL_CAVEATS: dict[str, str] = {
    "inauthentic_followers": WHO_CAUSED_IT,
    "follower_bursts": WHO_CAUSED_IT,
    "coordinated_engagement": WHO_COORDINATED,
}
CAVEATS: tuple[str, ...] = (
    "Anything outside the data checked: other accounts of the same person, their work "
    "offline, or what happened after the data was read.",
    "Whether the score measures what matters to you: an influence score counts reach and "
    "reactions, not expertise or character.",
    "The check can be wrong. A verdict is a reason to look closer or to ask, not proof; "
    "it should never be the only basis for a decision about a person.",
)


def caveats_for(verdict: Verdict, signals: list[Signal]) -> list[str]:
    """What the check cannot know: who caused the signals found, then what no check knows."""
    who = list(dict.fromkeys(SIGNAL_CAVEATS[s.code] for s in signals))
    if not who and verdict.level in NEGATIVE_VERDICTS:
        who = [WHO_CAUSED_SIGNALS]
    return [*who, *CAVEATS]


def uncorrected_notes(assessment: Assessment, verdict: Verdict) -> list[str]:
    """The assessment's notes on signals it could not correct for, with a negative verdict.

    Other verdicts name no signals, so their notes would describe what the page
    does not show; the API answer keeps them all.
    """
    if verdict.level not in NEGATIVE_VERDICTS:
        return []
    return [neutral_message(n, "profile") for n in assessment.confidence.notes
            if is_correction_note(n)]


def discount_parts(assessment: Assessment) -> tuple[bool, bool] | None:
    """Whether the audience and the engagement part of the adjustment removed something."""
    raw, adjusted = assessment.raw_score, assessment.adjusted_score
    if raw is None or adjusted is None or adjusted >= raw:
        return None
    reach = assessment.authentic_reach
    audience = (reach.fake_share_low if reach is not None
                and assessment.confidence.level != "insufficient" else 0.0)
    return discounted_parts(raw, adjusted, audience)


def suspicious_days(assessment: Assessment) -> list[date]:
    """The days the growth signals flagged as bursts (``Assessment.evidence``), sorted.

    Read through ``getattr`` so that an assessment without evidence (an older
    model, or none given) simply has no marked days.
    """
    evidence = getattr(assessment, "evidence", None)
    days = getattr(evidence, "suspicious_days", None) or []
    return sorted(set(days))


def growth_series(snapshot: AccountSnapshot, flagged: list[date]) -> Growth:
    """The follower-history series by date, and the flagged days that fall on it."""
    points = sorted(snapshot.follower_history, key=lambda h: h.date)
    on_series = {p.date for p in points}
    return Growth(points=[GrowthPoint(date=p.date, followers=p.followers) for p in points],
                  suspicious_days=[d for d in flagged if d in on_series])


def _audience(assessment: Assessment, total: int, present: bool,
              sample_size: int) -> AuthenticAudience | None:
    reach = assessment.authentic_reach
    if reach is None:
        return None
    summary = (
        f"About {human_count(reach.followers)} of {human_count(total)} followers look authentic "
        f"(between {human_count(reach.followers_low)} and {human_count(reach.followers_high)}). "
        f"The estimated share of inauthentic followers is {pct(reach.fake_share)} "
        f"(between {pct(reach.fake_share_low)} and {pct(reach.fake_share_high)})"
        f", from a sample of {plural(sample_size, 'follower')}."
    )
    if present:
        summary += " Inauthentic followers present. " + WHO_CAUSED_IT
    return AuthenticAudience(
        followers_total=total,
        authentic_followers=reach.followers,
        authentic_followers_low=reach.followers_low,
        authentic_followers_high=reach.followers_high,
        inauthentic_share=reach.fake_share,
        inauthentic_share_low=reach.fake_share_low,
        inauthentic_share_high=reach.fake_share_high,
        inauthentic_followers_present=present,
        summary=summary,
    )


def compose_report(
    *,
    report_id: str,
    created_at: datetime,
    expires_at: datetime,
    request: TrustCheckRequest,
    snapshot: AccountSnapshot,
    assessment: Assessment,
    source: Source,
) -> TrustReport:
    """The report on ``snapshot`` (as given, before the claimed score was filled in)."""
    verdict = decide_verdict(assessment)
    signals = signals_for(assessment, verdict)
    present = any(s.code == "inauthentic_followers" for s in signals)
    scores = compare_scores(claimed=request.claimed_score, platform=snapshot.raw_score,
                            adjusted=assessment.adjusted_score,
                            uncorrected=uncorrected_notes(assessment, verdict),
                            parts=discount_parts(assessment))
    data_notes = [n for n in assessment.confidence.notes if not is_correction_note(n)]
    coverage = describe_coverage(snapshot, data_notes)
    return TrustReport(
        report_id=report_id,
        created_at=created_at,
        expires_at=expires_at,
        links=ReportLinks(self=API_PATH.format(report_id=report_id),
                          page=PAGE_PATH.format(report_id=report_id)),
        subject=Subject(platform=snapshot.platform, handle=snapshot.profile.username,
                        account_id=snapshot.account_id),
        observed_at=snapshot.observed_at,
        verdict=VerdictOut(level=verdict.level, headline=verdict.headline,
                           summary=verdict.summary, basis=verdict.basis),
        scores=ScoresOut(claimed=scores.claimed, platform=scores.platform,
                         adjusted=scores.adjusted, adjusted_from=scores.adjusted_from,
                         notes=scores.notes, uncorrected=scores.uncorrected),
        signals=[SignalOut(code=s.code, label=s.label, probability=s.probability)
                 for s in signals],
        risk=RiskOut(probability=assessment.risk.probability, level=assessment.risk.level),
        reasons=[ReasonOut(code=r.code, family=r.family,
                           message=neutral_message(r.message, r.family),
                           contribution=r.contribution)
                 for r in assessment.reasons],
        authentic_audience=_audience(assessment, snapshot.profile.followers_count, present,
                                     len(snapshot.followers)),
        growth=growth_series(snapshot, suspicious_days(assessment)),
        checked=coverage.checked,
        not_checked=coverage.not_checked,
        caveats=caveats_for(verdict, signals),
        confidence=ConfidenceOut(level=assessment.confidence.level,
                                 notes=[neutral_message(n, "profile") for n in data_notes]),
        model=assessment.model,
        assessment_id=assessment.assessment_id,
        source=source,
    )


def expiry_notice(report: TrustReport) -> str:
    """The sentence every page carries about when its link stops working."""
    return (f"This report expires on {human_date(report.expires_at)}; after that, its link "
            "shows “not found”.")


def data_age_notice(report: TrustReport) -> str | None:
    """The sentence the verdict carries when its data is old (``STALE_DATA_DAYS``); else None."""
    days = (report.created_at - report.observed_at).days
    if days <= STALE_DATA_DAYS:
        return None
    return (f"The account's data was read on {human_date(report.observed_at)}, "
            f"{human_age(days)} before this check. The account may have changed since: the "
            "verdict describes it as it was then.")
