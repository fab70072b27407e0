"""How numbers and dates read on trust-check reports (also registered as Jinja2 filters).

Shares (percentages) are ``features.humanize.pct``, the one share formatter.
"""

from __future__ import annotations

from datetime import date, datetime


def human_date(day: date | datetime) -> str:
    """``3 Mar 2026``: unambiguous in every locale, unlike 03/04/2026."""
    if isinstance(day, datetime):
        day = day.date()
    return f"{day.day} {day.strftime('%b %Y')}"


def human_count(value: float | int) -> str:
    """``12,345``: whole numbers with thousands separators."""
    return f"{round(value):,}"


def human_compact(value: int) -> str:
    """``950``, ``12,345``, ``1.2M``: short enough for a chart axis."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    return human_count(value)


def human_score(value: float | None) -> str:
    """``35`` or ``35.4`` (one decimal, none when it is zero); an en dash when missing."""
    if value is None:
        return "–"
    return f"{value:.1f}".removesuffix(".0")


def human_age(days: int) -> str:
    """``45 days``, ``6 months``, ``2 years``: how old something is, as people say it."""
    if days < 60:
        return plural(days, "day")
    if days < 730:
        return plural(days * 12 // 365, "month")
    return plural(days // 365, "year")


def human_bytes(size: int) -> str:
    """``16 MiB``, ``256 KiB``: sizes as upload limits are usually written."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MiB"
    return f"{size / 1024:.0f} KiB"


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``1 post``, ``2 posts``, with the count formatted."""
    word = noun if count == 1 else (plural_noun or noun + "s")
    return f"{human_count(count)} {word}"
