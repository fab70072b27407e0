"""Disputes from the public form on a trust-check report page, and the limits that keep it usable.

Anyone holding a report's link may dispute its verdict: no key, no account.
The report id (256 random bits) is what admits them.  Abuse limits, all
documented in docs/ANALYSTS.md:

- the form takes two short fields: a statement of at most 2,000 characters
  and an optional contact of at most 200 (no control characters), in a body
  of at most ``MAX_FORM_BYTES``;
- each client address may send ``dispute_rate_per_hour`` disputes per hour
  per server process (bursts of ``BURST`` at most);
- one connection (client address) holds at most one open dispute per report,
  so nobody with the link alone can use up a report's slots;
- public disputes fill at most ``dispute_max_open_per_report`` open slots of
  a report; once analysts decide some, more may be sent;
- the recruiter who ran the check (the form's optional key field with the
  key that created the report) is never refused for a full report: the key
  has its own ``dispute_max_open_per_report`` slots, so a flood of public
  disputes cannot silence the report's owner;
- a report that expired (or never existed) cannot be disputed.

Nothing of the person is stored beyond what they typed: not their address
(only ``filer_digest``, a sha256 of the report id and the address, which
cannot be matched across reports), not their browser.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy.orm import Session

from trueclout.service.analysts.feedback import MAX_CONTACT, MAX_NOTE, dispute_report
from trueclout.service.db.feedback import FeedbackItem, insert_item, open_disputes_of_report
from trueclout.service.runtime.ratelimit import RateLimiter

MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 4
BURST = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks allowed
_CONTACT_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def dispute_problems(statement: str, contact: str) -> list[tuple[str, str]]:
    """What keeps a dispute from being filed, as (field, reason); empty when it may be.

    ``statement`` and ``contact`` are as the person typed them, trimmed, line
    breaks as ``\\n`` (the form reads them so, ``web/forms.py``).
    """
    problems: list[tuple[str, str]] = []
    if not statement:
        problems.append(("statement", "say what you believe is wrong"))
    elif len(statement) > MAX_NOTE:
        problems.append(("statement", f"is {len(statement):,} characters long; "
                                      f"keep it to {MAX_NOTE:,}"))
    elif _CONTROL.search(statement):
        problems.append(("statement", "contains characters that cannot be stored"))
    if len(contact) > MAX_CONTACT:
        problems.append(("contact", f"keep it to {MAX_CONTACT} characters"))
    elif _CONTACT_CONTROL.search(contact):
        problems.append(("contact", "contains characters that cannot be stored"))
    return problems


class DisputeLimiter:
    """Per client address token buckets (in this process); ``rate_per_hour`` 0: no limit."""

    def __init__(self, rate_per_hour: float) -> None:
        rate = rate_per_hour / 3600.0
        self.rate = rate
        self._limiter = RateLimiter(default_rate=rate,
                                    burst_seconds=BURST / rate if rate > 0 else 1.0)

    def retry_after(self, address: str) -> int:
        """0 when this address may send a dispute now, else seconds to wait."""
        if self.rate <= 0:
            return 0
        # Buckets are keyed by a digest: the limiter never holds the address itself.
        key = int.from_bytes(hashlib.sha256(address.encode()).digest()[:8], "big")
        return self._limiter.retry_after(key)


class DisputeRefused(Exception):
    """Why a dispute cannot be filed: the HTTP status and a sentence for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def filer_digest(report_id: str, address: str) -> str:
    """Who holds a public dispute slot: per report, so it names no one across reports."""
    return hashlib.sha256(f"{report_id}\0{address}".encode()).hexdigest()


def file_dispute(*, session: Session, report_id: str, statement: str, contact: str | None,
                 now: datetime, max_open: int, address: str,
                 key_id: int | None = None) -> FeedbackItem:
    """Store a dispute (free of ``dispute_problems``) about a live report, or raise
    ``DisputeRefused``.

    ``key_id``: the admitted key sent with the form, if any; it counts as the
    report's owner only when it is the key that ran the check.
    """
    report = dispute_report(session=session, report_id=report_id)
    if report is None or report.expires_at <= now:
        raise DisputeRefused(404, "This report has expired or does not exist, so it can no "
                                  "longer be disputed here.")
    owner = key_id is not None and key_id == report.api_key_id
    if key_id is not None and not owner:
        raise DisputeRefused(403, "This key did not run this trust check. Leave the key field "
                                  "empty to send the dispute without it.")
    digest = None if owner else filer_digest(report_id, address)
    if owner:
        if open_disputes_of_report(session=session, report_id=report_id,
                                   api_key_id=key_id) >= max_open:
            raise DisputeRefused(409, f"Your key already has {max_open} disputes of this "
                                      "report waiting for an analyst; please wait for them.")
    elif open_disputes_of_report(session=session, report_id=report_id,
                                 filer_digest=digest) >= 1:
        raise DisputeRefused(409, "A dispute sent from your connection is already waiting "
                                  "for an analyst. It will be reviewed; please wait for it.")
    elif open_disputes_of_report(session=session, report_id=report_id,
                                 api_key_id=None) >= max_open:
        raise DisputeRefused(409, f"This report already has {max_open} disputes waiting for an "
                                  "analyst. They will be reviewed. If you ran this check, "
                                  "send yours with your recruiter key.")
    return insert_item(
        session=session, kind="dispute", status="open", label=None, tactics=None,
        note=statement, contact=contact or None, platform=report.platform,
        account_id=report.account_id, assessment_id=report.assessment_id,
        report_id=report_id, created_at=now, api_key_id=key_id if owner else None,
        filer_digest=digest)
