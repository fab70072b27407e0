"""Content negotiation: does this client want a page or JSON?

The trust-check API sends browsers to the report's page and answers API
clients with JSON; the pages' error middleware asks the same question.
"""

from __future__ import annotations

import re

_MEDIA_RANGE = re.compile(r"^\s*([^;\s]+)\s*(?:;(.*))?$")


def _quality(params: str | None) -> float:
    for param in (params or "").split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for HTML over JSON (a browser, not an API client).

    HTML must be named explicitly (``text/html``); wildcards count for JSON, so
    ``*/*`` (curl, most HTTP libraries) and a missing header get JSON.
    """
    html = json = 0.0
    for part in (accept or "").split(","):
        match = _MEDIA_RANGE.match(part)
        if not match:
            continue
        media, q = match.group(1).lower(), _quality(match.group(2))
        if media in ("text/html", "application/xhtml+xml"):
            html = max(html, q)
        elif media in ("application/json", "application/*", "*/*"):
            json = max(json, q)
    return html > 0 and html > json
