"""The Jinja2 environment of the trust-check pages and the headers every page is sent with.

Templates live in ``service/web/templates`` (shipped as package data); CSS is
inline and charts are inline SVG, so a page is one self-contained document:
no build step, no script, nothing fetched from elsewhere.  The
Content-Security-Policy makes that a rule the browser enforces.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from trueclout.features.humanize import pct
from trueclout.service.trust import format as trust_format

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

PAGE_HEADERS = {
    # Inline styles only; no scripts, no frames, forms post back here only.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # A report's address is what grants access to it: never leak it in a Referer.
    "Referrer-Policy": "no-referrer",
    # Reports are about people: keep them out of search engines and shared caches.
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({
        "human_date": trust_format.human_date,
        "human_count": trust_format.human_count,
        "human_score": trust_format.human_score,
        "pct": pct,
    })
    return env


def render_page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``, sent with the page headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
