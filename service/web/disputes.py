"""Disputing a trust-check verdict from its report page: ``POST /trust/{report_id}/dispute``.

A public form: whoever holds the report's link may use it, with no key (the
report id is the permission, as for the page itself); the recruiter who ran
the check may add their key, which keeps slots of its own.  The limits that
keep it from being flooded or used up are in ``service/analysts/disputes.py``.  A filed
dispute lands in the analysts' queue (``GET /v1/feedback?kind=dispute``) and
the browser goes (303) to a receipt page, ``/trust/{report_id}/disputes/{id}``,
which also shows what an analyst decided, later.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trueclout.files import utc_now
from trueclout.service.analysts.disputes import (
    MAX_FORM_BYTES,
    MAX_FORM_FIELDS,
    DisputeRefused,
    file_dispute,
)
from trueclout.service.api.deps import DisputeLimiterDep
from trueclout.service.db.engine import StorageError
from trueclout.service.db.feedback import get_item
from trueclout.service.runtime.auth import KeyRefused, authorize
from trueclout.service.trust.check import is_report_id, read_report
from trueclout.service.trust.report import TrustReport
from trueclout.service.web.errors import page_error
from trueclout.service.web.forms import DisputeForm
from trueclout.service.web.pages import render_report, report_not_found
from trueclout.service.web.rendering import PAGE_HEADERS, render_page
from trueclout.settings import Settings

router = APIRouter(tags=["trust pages"], include_in_schema=False)

STATUS_PAGE = {
    "open": ("Your dispute was received",
             "An analyst will review it. Nothing about the report changes until then.",
             "waiting for an analyst"),
    "upheld": ("Your dispute was upheld",
               "An analyst reviewed your dispute and agreed that the verdict was wrong. The "
               "account's data will be used to correct the model.",
               "upheld: the verdict was wrong"),
    "rejected": ("Your dispute was reviewed",
                 "An analyst reviewed your dispute and found that the verdict stands.",
                 "reviewed: the verdict stands"),
}


@router.post("/trust/{report_id}/dispute", name="trust_dispute_submit")
async def submit_dispute(request: Request, report_id: str,
                         limiter: DisputeLimiterDep) -> Response:
    """File a dispute; errors re-show the report page with the form as it was typed."""
    settings: Settings = request.app.state.settings
    if not is_report_id(report_id):
        return report_not_found(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return page_error(request, 413, f"A dispute is a short text (up to 2,000 "
                          f"characters); this form sent {int(declared):,} bytes.")
    wait = limiter.retry_after(request.client.host if request.client else "")
    if wait:
        return page_error(request, 429, "Too many disputes were sent from your connection "
                          f"recently. Please try again in {wait // 60 + 1} minutes.",
                          {"Retry-After": str(wait)})
    try:
        data = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS,
                                  max_part_size=MAX_FORM_BYTES)
    except StarletteHTTPException as exc:
        return page_error(request, 400, f"The form could not be read ({exc.detail}).")
    form = DisputeForm.read(data)
    key_id = None
    if form.access_key and not form.errors:
        try:
            key_id = (await authorize(request, form.access_key, ("recruiter",))).id
        except KeyRefused as refused:
            retry = {"Retry-After": str(refused.retry_after)} if refused.status == 429 else {}
            return page_error(request, refused.status, "The recruiter key was not accepted ("
                              f"{refused.message}). Leave the key field empty to send the "
                              "dispute without it.", retry)
    if form.errors:
        found = await read_report(report_id, request.app.state.database)
        if found.body is None:
            return report_not_found(request, found.expires_at)
        return render_report(request, TrustReport.model_validate(orjson.loads(found.body)),
                             status=422, dispute=form)
    try:
        item = await request.app.state.database.run(
            file_dispute, report_id=report_id, statement=form.statement, contact=form.contact,
            now=utc_now(), max_open=settings.dispute_max_open_per_report,
            address=request.client.host if request.client else "", key_id=key_id)
    except DisputeRefused as exc:
        return page_error(request, exc.status, exc.message)
    except StorageError:
        return page_error(request, 503, "The dispute could not be saved; nothing was stored. "
                          "Please try again in a moment.", {"Retry-After": "1"})
    target = request.url_for("trust_dispute_page", report_id=report_id, item_id=item.item_id)
    return RedirectResponse(target.path, status_code=303, headers=PAGE_HEADERS)


@router.get("/trust/{report_id}/disputes/{item_id}", name="trust_dispute_page")
async def dispute_page(request: Request, report_id: str, item_id: str) -> Response:
    """The receipt, and later the decision, for whoever holds both ids."""
    item = None
    if is_report_id(report_id) and item_id.startswith("fb_") and len(item_id) <= 32:
        item = await request.app.state.database.run(get_item, item_id=item_id)
    if item is None or item.kind != "dispute" or item.report_id != report_id:
        return page_error(request, 404, "There is no dispute at this address. Check the link, "
                          "or send the dispute again from the report page.")
    heading, explanation, words = STATUS_PAGE[item.status]
    return render_page("trust_dispute.html", heading=heading, explanation=explanation,
                       dispute_status=item.status, status_words=words, received=item.created_at,
                       dispute_id=item.item_id, report_id=report_id, statement=item.note or "")
