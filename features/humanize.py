"""Numbers written for people: "2,310", "74%", "2 days", "45 seconds".

Reason messages are read by recruiters and analysts, not by models, so every
number in them goes through one of these formatters.  Unknown values (NaN)
read as "unknown" rather than as a misleading zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable

UNKNOWN = "unknown"


def _known(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def count(x: float | None) -> str:
    """A whole number with thousands separators: 2310.4 -> "2,310"."""
    if not _known(x):
        return UNKNOWN
    return f"{round(float(x)):,}"


def pct(x: float | None) -> str:
    """A share in [0, 1] as a percentage: 0.741 -> "74%", 0.004 -> "0.4%", 0.0001 -> "<0.1%".

    The one share formatter (reasons, trust-check reports and pages): below 1%
    one decimal is kept, since "0.4%" says more than "<1%"; a share too small
    to show even so reads "<0.1%", never a misleading "0.0%".
    """
    if not _known(x):
        return UNKNOWN
    p = 100.0 * float(x)
    if 0 < p < 0.05:
        return "<0.1%"
    if 0 < abs(p) < 1:
        return f"{p:.1f}%"
    return f"{round(p):,}%"


def number(x: float | None) -> str:
    """A measured quantity with sensible precision: 48.21 -> "48", 3.14159 -> "3.1"."""
    if not _known(x):
        return UNKNOWN
    v = float(x)
    if abs(v) >= 100:
        return f"{round(v):,}"
    if abs(v) >= 10:
        return f"{v:.0f}"
    text = f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def days(x: float | None) -> str:
    """A number of days: 1 -> "1 day", 2.4 -> "2 days", 0.3 -> "less than a day"."""
    if not _known(x):
        return f"an {UNKNOWN} number of days"
    d = float(x)
    if d < 1:
        return "less than a day"
    n = round(d)
    return "1 day" if n == 1 else f"{n:,} days"


def duration(seconds: float | None) -> str:
    """Seconds in the largest fitting unit: 45 -> "45 seconds", 5400 -> "90 minutes"."""
    if not _known(seconds):
        return f"an {UNKNOWN} time"
    s = max(float(seconds), 0.0)
    for unit, size, limit in (("second", 1, 120), ("minute", 60, 7_200),
                              ("hour", 3_600, 172_800)):
        if s < limit:
            n = round(s / size)
            return f"{n} {unit}" + ("" if n == 1 else "s")
    return days(s / 86_400)


def times(x: float | None) -> str:
    """A multiple: 48.2 -> "48 times"."""
    if not _known(x):
        return f"an {UNKNOWN} number of times"
    return f"{number(x)} times"


FORMATTERS: dict[str, Callable[[float | None], str]] = {
    "count": count,
    "pct": pct,
    "num": number,
    "days": days,
    "duration": duration,
    "times": times,
}
