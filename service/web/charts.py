"""Geometry for the report page's two inline SVG charts, computed here so templates only draw.

Both charts are plain shapes in a fixed ``viewBox`` that the page scales to
its width (no JavaScript, nothing fetched), and both come with a text
description: screen readers get the same facts, and so does anyone whose
screen is too small to read the axis labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trueclout.service.trust.format import (
    human_compact,
    human_count,
    human_date,
    human_score,
    plural,
)
from trueclout.service.trust.report import NEGATIVE_VERDICTS, Growth, ScoresOut, TrustReport

SCORE_WIDTH, SCORE_HEIGHT = 300, 200
SCORE_BASELINE, SCORE_BAR_MAX, SCORE_BAR_WIDTH = 160, 130, 56

# About one unit per CSS pixel on a phone, so the 13-unit labels stay readable there.
GROWTH_WIDTH, GROWTH_HEIGHT = 360, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 52, 352, 14, 184


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class ScoreBar:
    kind: str
    label: str
    text: str
    x: float
    y: float
    height: float
    centre: float


@dataclass(frozen=True)
class ScoreChart:
    width: int
    height: int
    baseline: int
    bars: list[ScoreBar]
    grid: list[Tick]
    description: str


def score_chart(scores: ScoresOut) -> ScoreChart:
    """Bars on a 0-100 scale: the claimed score, the platform's (when given), the adjusted."""
    entries = [("claimed", "Shown to you", scores.claimed)]
    if scores.platform is not None:
        entries.append(("platform", "Platform", scores.platform))
    entries.append(("adjusted", "Adjusted", scores.adjusted))
    slot = SCORE_WIDTH / len(entries)
    bars = []
    for i, (kind, label, value) in enumerate(entries):
        height = 0.0 if value is None else SCORE_BAR_MAX * max(0.0, min(value, 100.0)) / 100.0
        centre = slot * i + slot / 2
        bars.append(ScoreBar(kind=kind, label=label, text=human_score(value),
                             x=round(centre - SCORE_BAR_WIDTH / 2, 1),
                             y=round(SCORE_BASELINE - height, 1), height=round(height, 1),
                             centre=round(centre, 1)))
    names = {"claimed": "Score you were shown", "platform": "Platform's score in the data",
             "adjusted": "Adjusted score"}
    description = ". ".join(f"{names[b.kind]}: {b.text}" for b in bars) + " (out of 100)."
    grid = [Tick(SCORE_BASELINE - SCORE_BAR_MAX * v / 100, str(v)) for v in (50, 100)]
    return ScoreChart(SCORE_WIDTH, SCORE_HEIGHT, SCORE_BASELINE, bars, grid, description)


@dataclass(frozen=True)
class GrowthRow:
    day: date
    followers: int
    change: int | None
    flagged: bool


@dataclass(frozen=True)
class GrowthMark:
    x: float
    y: float
    label: str


# Why days the growth signals marked do not count against the account, by verdict: a
# green (or "cannot tell") page must not show red warnings without saying so.
UNCOUNTED_BURSTS: dict[str, str] = {
    "consistent": (
        "These days do not count against the account: taken with the rest of its data, the "
        "check found its growth consistent with genuine influence. A post or a mention that "
        "draws wide attention brings followers in bursts like these."),
    "cannot_tell": (
        "These days do not count against the account: with this little data, bursts are not "
        "evidence either way."),
    "negative": (
        "These days are shown for context only: the verdict does not rest on the account's "
        "follower growth."),
}


def bursts_count(report: TrustReport) -> bool:
    """Whether the marked days are part of what the verdict rests on.

    Only a negative verdict with a growth signal (the burst signal, or a reason
    from the growth family) counts them; on any other page they are context.
    """
    if report.verdict.level not in NEGATIVE_VERDICTS:
        return False
    return (any(s.code == "follower_bursts" for s in report.signals)
            or any(r.family == "growth" for r in report.reasons))


def uncounted_bursts_note(report: TrustReport) -> str:
    level = report.verdict.level
    return UNCOUNTED_BURSTS["negative" if level in NEGATIVE_VERDICTS else level]


@dataclass(frozen=True)
class GrowthChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    polyline: str
    marks: list[GrowthMark]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    rows: list[GrowthRow]
    description: str
    # False: the marks are drawn neutrally and the description says why they do not count.
    marks_count: bool


def _signed(change: int | None) -> str:
    return "" if change is None else f"{change:+,}"


def growth_chart(report: TrustReport) -> GrowthChart | None:
    """The follower curve with the flagged days marked; None with fewer than two points.

    The y axis starts at zero: an axis cut at the lowest count would make a
    gain of a few percent look like a leap.
    """
    growth: Growth = report.growth
    points = growth.points
    if len(points) < 2:
        return None
    first, last = points[0].date, points[-1].date
    span_days = max(1, (last - first).days)
    high = max(p.followers for p in points)
    y_low, y_high = 0.0, max(1.0, high * 1.08)
    counted = bursts_count(report)
    burst_words = "marked as a sudden burst" if counted else "of unusually fast growth"

    def x_of(day: date) -> float:
        return round(PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (day - first).days / span_days, 1)

    def y_of(followers: int) -> float:
        share = (followers - y_low) / (y_high - y_low)
        return round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * share, 1)

    flagged = set(growth.suspicious_days)
    rows, previous = [], None
    for p in points:
        change = None if previous is None else p.followers - previous
        rows.append(GrowthRow(p.date, p.followers, change, p.date in flagged))
        previous = p.followers
    marks = [GrowthMark(x_of(r.day), y_of(r.followers),
                        f"{human_date(r.day)}: {human_count(r.followers)} followers "
                        f"({_signed(r.change) or 'first day'})")
             for r in rows if r.flagged]
    middle = first + (last - first) / 2
    description = (f"Followers went from {human_count(points[0].followers)} on "
                   f"{human_date(first)} to {human_count(points[-1].followers)} on "
                   f"{human_date(last)}. ")
    if marks:
        days = ", ".join(f"{human_date(r.day)} ({_signed(r.change) or 'first day'})"
                         for r in rows if r.flagged)
        description += f"{plural(len(marks), 'day')} {burst_words}: {days}."
        if not counted:
            description += " " + uncounted_bursts_note(report)
    else:
        description += "No day is marked as a sudden burst."
    return GrowthChart(
        width=GROWTH_WIDTH, height=GROWTH_HEIGHT, left=PLOT_LEFT, right=PLOT_RIGHT,
        top=PLOT_TOP, bottom=PLOT_BOTTOM,
        polyline=" ".join(f"{x_of(p.date)},{y_of(p.followers)}" for p in points),
        marks=marks,
        y_ticks=[Tick(y_of(high), human_compact(high)), Tick(y_of(0), "0")]
        if high > 0 else [Tick(y_of(0), "0")],
        x_ticks=[Tick(PLOT_LEFT, human_date(first)), Tick(x_of(middle), human_date(middle)),
                 Tick(PLOT_RIGHT, human_date(last))],
        rows=rows,
        description=description,
        marks_count=counted,
    )
