"""The recruiter's pages: the form at ``/trust`` and each report at ``/trust/{report_id}``.

The form is not an open scoring endpoint: it asks for a recruiter key and
checks it through the API's own gate (``runtime.auth.authorize``: scope, rate
limit), only wording the refusals for people.  The key travels in the
form body, never in a cookie, so another site cannot submit the form with
someone's authority (no CSRF surface).  A report page needs no key: its
unguessable address is the permission, until it expires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trueclout.contract import PLATFORMS
from trueclout.service.db.engine import StorageError
from trueclout.service.runtime.auth import KeyRefused, authorize
from trueclout.service.runtime.errors import ApiError
from trueclout.service.scoring.scorer import ModelNotLoaded
from trueclout.service.trust.check import is_report_id, read_report, run_trust_check
from trueclout.service.trust.format import human_bytes, human_date
from trueclout.service.trust.report import TrustReport, data_age_notice, expiry_notice
from trueclout.service.web.charts import growth_chart, score_chart
from trueclout.service.web.errors import page_error
from trueclout.service.web.forms import FormError, FormInput, errors_by_field, form_errors
from trueclout.service.web.rendering import PAGE_HEADERS, render_page
from trueclout.settings import Settings

router = APIRouter(tags=["trust pages"], include_in_schema=False)

PLATFORM_NAMES = {"twitter": "Twitter / X", "instagram": "Instagram", "tiktok": "TikTok",
                  "youtube": "YouTube", "linkedin": "LinkedIn", "facebook": "Facebook",
                  "other": "another platform"}
FORM_PLATFORM_NAMES = {"other": "Another platform"}
MAX_FORM_FIELDS = 16
MODEL_DOWN = "the scoring model is not available right now; nothing was stored, try again later"
NOT_SAVED = "the report could not be saved; nothing was stored, try again"


def _form_page(request: Request, form: FormInput, errors: list[FormError],
               status: int = 200, headers: dict[str, str] | None = None) -> Response:
    settings: Settings = request.app.state.settings
    response = render_page(
        "trust_form.html", status=status, values=form.echo(), errors=errors,
        errors_by_field=errors_by_field(errors),
        platforms=[(p, FORM_PLATFORM_NAMES.get(p, PLATFORM_NAMES[p])) for p in PLATFORMS],
        max_size=human_bytes(settings.max_body_bytes),
        ttl_days=settings.trust_report_ttl_days)
    response.headers.update(headers or {})
    return response


@router.get("/trust", name="trust_form")
async def trust_form(request: Request) -> Response:
    return _form_page(request, FormInput(), [])


# The form's words for why ``authorize`` refused the key (the API's are for programmers).
KEY_REFUSED = {
    "missing": "enter your recruiter key",
    "invalid": "this key is not valid, or has been revoked",
    "scope": "this key cannot run trust checks (it lacks the recruiter scope)",
    "rate": "too many checks with this key; try again in {wait} seconds",
}


def _key_error(refused: KeyRefused) -> FormError:
    reason = KEY_REFUSED[refused.reason].format(wait=refused.retry_after)
    return FormError(refused.status, "access_key", None, reason)


@router.post("/trust", name="trust_form_submit")
async def submit_trust_form(request: Request) -> Response:
    """Check the score from the form; on success, go to the new report's page."""
    settings: Settings = request.app.state.settings
    try:
        form_data = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS,
                                       max_part_size=settings.max_body_bytes)
    except StarletteHTTPException as exc:
        return _form_page(request, FormInput(), [FormError(
            400, "snapshot_file", None, f"the form could not be read ({exc.detail})")], 400)
    form = await FormInput.read(form_data)
    try:
        key = await authorize(request, form.access_key, ("recruiter",))
    except KeyRefused as refused:
        # A 429 says when to come back, as the API's does (RFC 9110 Retry-After).
        retry = {"Retry-After": str(refused.retry_after)} if refused.status == 429 else {}
        return _form_page(request, form, [_key_error(refused)], refused.status, retry)
    check, errors = form.request()
    if check is None:
        return _form_page(request, form, errors, 422)
    try:
        report, _ = await run_trust_check(check, scorer=request.app.state.scorer,
                                          database=request.app.state.database,
                                          settings=settings, api_key_id=key.id)
    except ApiError as exc:
        errors = form_errors(exc.details, form) or [
            FormError(exc.status, "snapshot_text", None, exc.message)]
        return _form_page(request, form, errors, exc.status)
    except ModelNotLoaded:
        return _form_page(request, form, [FormError(503, "snapshot_text", None, MODEL_DOWN)], 503)
    except StorageError:
        return _form_page(request, form, [FormError(503, "snapshot_text", None, NOT_SAVED)], 503)
    return RedirectResponse(request.url_for("trust_page", report_id=report.report_id).path,
                            status_code=303, headers=PAGE_HEADERS)


def report_not_found(request: Request, expired_on: datetime | None = None) -> Response:
    """The 404 page for a report that expired (``expired_on``) or never existed."""
    if expired_on is not None:
        message = (f"This trust-check report expired on {human_date(expired_on)} and can no "
                   "longer be shown.")
    else:
        message = ("There is no trust-check report at this address. It may have expired, or "
                   "the link may be incomplete.")
    return page_error(request, 404, message)


@router.get("/trust/{report_id}", name="trust_page")
async def trust_page(request: Request, report_id: str) -> Response:
    """The report, for anyone holding its link, until it expires."""
    if not is_report_id(report_id):
        return report_not_found(request)
    found = await read_report(report_id, request.app.state.database)
    if found.body is None:
        return report_not_found(request, found.expires_at)
    return render_report(request, TrustReport.model_validate(orjson.loads(found.body)))


def render_report(request: Request, report: TrustReport, *, status: int = 200,
                  dispute: Any = None) -> Response:
    """The report page; ``dispute`` is the dispute form to show again, with its problems."""
    settings: Settings = request.app.state.settings
    return render_page(
        "trust_report.html", status=status, report=report,
        platform_name=PLATFORM_NAMES[report.subject.platform],
        score_chart=score_chart(report.scores), growth_chart=growth_chart(report),
        data_age_notice=data_age_notice(report),
        expiry_notice=expiry_notice(report), dispute_contact=settings.trust_dispute_contact,
        dispute=dispute)

