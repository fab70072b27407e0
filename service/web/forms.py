"""The pages' forms and their one kind of error, ``FormError``.

- The form at ``/trust``: its fields read into a ``TrustCheckRequest`` document.
- The dispute form on a report page: ``DisputeForm`` (its rules are in
  ``service/analysts/disputes.py``).

Errors are shown beside the field they concern and in a summary at the top,
in plain words; a problem inside the snapshot names its path in the snapshot
(``profile.followers_count``), as ``trueclout validate`` and the API do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from trueclout.contract import describe_errors
from trueclout.service.analysts.disputes import dispute_problems
from trueclout.service.trust.request import TrustCheckRequest

FIELD_LABELS = {
    "access_key": "Recruiter key",
    "claimed_score": "Score you were shown",
    "platform": "Platform",
    "handle": "Handle",
    "snapshot_file": "Snapshot file",
    "snapshot_text": "Pasted snapshot",
    "assessment_id": "Assessment id",
    # The dispute form on a report page.
    "statement": "What is wrong with this verdict",
    "contact": "How to reach you",
}
REQUEST_FIELDS = ("claimed_score", "platform", "handle", "assessment_id")
# A chosen file of up to this size comes back as pasted text after an error (a browser
# cannot refill a file input); a larger one must be chosen again.
ECHO_FILE_BYTES = 1024 * 1024

# Plainer words for the reasons pydantic gives, by error type.
_PLAIN_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "is not part of the snapshot format (check the spelling)",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
}
_PLAIN_BY_FIELD = {
    "claimed_score": "enter a number from 0 to 100",
    "platform": "choose the platform the account is on (needed with an assessment id)",
}
_PLAIN_BY_FIELD_AND_TYPE = {
    ("handle", "string_too_short"): "enter the account's handle (needed with an assessment id)",
    ("handle", "empty_handle"): "enter the account's handle (needed with an assessment id)",
    ("handle", "string_too_long"): "is too long for a handle",
}
_BOUND = re.compile(r"^Input should be (greater|less) than or equal to (\S+)$")


@dataclass(frozen=True)
class FormError:
    """One problem with a form, shown beside its field and in the summary."""

    status: int
    anchor: str  # the form field it belongs to (its name; on /trust also its id)
    path: str | None  # the path inside the snapshot, when it is about the snapshot
    reason: str

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.anchor, "Form")

    @property
    def sentence(self) -> str:
        """The reason as a sentence on its own, beside its field."""
        return self.reason[:1].upper() + self.reason[1:]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def errors_by_field(errors: Sequence[FormError]) -> dict[str, list[FormError]]:
    """The errors grouped by the field they are shown beside, in order."""
    by_field: dict[str, list[FormError]] = {}
    for error in errors:
        by_field.setdefault(error.anchor, []).append(error)
    return by_field


def plain_reason(field: str, error_type: str, reason: str) -> str:
    """A validation reason in the words a recruiter would use."""
    if (field, error_type) in _PLAIN_BY_FIELD_AND_TYPE:
        return _PLAIN_BY_FIELD_AND_TYPE[field, error_type]
    if field in _PLAIN_BY_FIELD and error_type not in ("mismatch",):
        return _PLAIN_BY_FIELD[field]
    if error_type in _PLAIN_BY_TYPE:
        return _PLAIN_BY_TYPE[error_type]
    bound = _BOUND.match(reason)
    if bound:
        return f"must be {bound.group(2)} or {'more' if bound.group(1) == 'greater' else 'less'}"
    reason = reason.removeprefix("Value error, ")
    return re.sub(r"^Input should be", "should be", reason)


@dataclass(frozen=True)
class FormInput:
    access_key: str = ""
    claimed_score: str = ""
    platform: str = ""
    handle: str = ""
    snapshot_text: str = ""
    assessment_id: str = ""
    file_bytes: bytes | None = None

    @classmethod
    async def read(cls, form: FormData) -> FormInput:
        upload = form.get("snapshot_file")
        file_bytes = None
        if isinstance(upload, UploadFile):
            file_bytes = await upload.read() or None
        return cls(access_key=_text(form, "access_key").strip(),
                   claimed_score=_text(form, "claimed_score"), platform=_text(form, "platform"),
                   handle=_text(form, "handle"), snapshot_text=_text(form, "snapshot_text"),
                   assessment_id=_text(form, "assessment_id"), file_bytes=file_bytes)

    def echo(self) -> dict[str, str]:
        """What the form shows again after an error, so nothing typed or chosen is lost.

        The key comes back into its (password) field: pages are sent
        ``no-store``, so it is not kept anywhere but in the open page.  A
        browser cannot refill a file input, so a chosen file of text comes
        back as the pasted snapshot (``file_kept``), up to ``ECHO_FILE_BYTES``.
        """
        kept = self.kept_file_text()
        return {"access_key": self.access_key, "claimed_score": self.claimed_score,
                "platform": self.platform, "handle": self.handle,
                "snapshot_text": self.snapshot_text if kept is None else kept,
                "assessment_id": self.assessment_id, "file_kept": "yes" if kept else ""}

    def kept_file_text(self) -> str | None:
        """The chosen file as text to show in the paste box, when it can be (else None)."""
        if (self.file_bytes is None or self.snapshot_text.strip()
                or len(self.file_bytes) > ECHO_FILE_BYTES):
            return None
        try:
            return self.file_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def snapshot_field(self) -> str:
        """The field the snapshot came from (where its errors are shown)."""
        return "snapshot_file" if self.file_bytes is not None else "snapshot_text"

    def request(self) -> tuple[TrustCheckRequest | None, list[FormError]]:
        """The validated request, or every problem the form has."""
        return form_request(self)

    def document(self) -> tuple[list[FormError], dict[str, Any]]:
        """The request document the form describes, or why it cannot be built."""
        doc: dict[str, Any] = {"claimed_score": self.claimed_score.strip() or None,
                               "platform": self.platform, "handle": self.handle}
        if self.assessment_id.strip():
            doc["assessment_id"] = self.assessment_id.strip()
        pasted = self.snapshot_text.strip()
        if self.file_bytes is not None and pasted:
            return [FormError(422, "snapshot_file", None,
                              "upload a file or paste the snapshot, not both")], doc
        raw = self.file_bytes if self.file_bytes is not None else pasted.encode()
        if raw:
            try:
                doc["snapshot"] = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                return [FormError(422, self.snapshot_field, None,
                                  f"is not valid JSON ({exc.args[0]})")], doc
            _identity_from_snapshot(doc)
        return [], doc


def _identity_from_snapshot(doc: dict[str, Any]) -> None:
    """Platform and handle left blank on the form are the snapshot's own.

    A snapshot names its account, so the form asks for them only to check a
    stored assessment; typed in, they are still compared with the snapshot.
    """
    snapshot = doc.get("snapshot")
    if not isinstance(snapshot, dict):
        return
    profile = snapshot.get("profile")
    username = profile.get("username") if isinstance(profile, dict) else None
    if not doc["platform"].strip() and isinstance(snapshot.get("platform"), str):
        doc["platform"] = snapshot["platform"]
    if not doc["handle"].strip() and isinstance(username, str):
        doc["handle"] = username


def form_request(form: FormInput) -> tuple[TrustCheckRequest | None, list[FormError]]:
    """The validated request, or every problem the form has (not just the first)."""
    errors, document = form.document()
    try:
        check = TrustCheckRequest.model_validate(document)
    except ValidationError as exc:
        # An unreadable snapshot has its error already; report the other fields' problems too.
        errors += [e for e in form_errors(describe_errors(exc), form)
                   if not (errors and e.anchor in ("snapshot_text", "snapshot_file"))]
        return None, errors
    return (None, errors) if errors else (check, [])


def form_errors(details: Sequence[Mapping[str, str]], form: FormInput) -> list[FormError]:
    """API error details (``snapshot.profile.created_at``) as errors on the form's fields."""
    errors = []
    for detail in details:
        field, kind = detail.get("field", ""), detail.get("type", "")
        reason = plain_reason(field, kind, detail.get("reason", ""))
        if field in REQUEST_FIELDS:
            errors.append(FormError(422, field, None, reason))
        elif field == "snapshot" and kind == "one_source":
            errors.append(FormError(422, "snapshot_text", None,
                                    "upload a snapshot file, paste a snapshot or give an "
                                    "assessment id"))
        elif field.startswith(("snapshot.", "snapshot[")) or field == "snapshot":
            path = field.removeprefix("snapshot").removeprefix(".") or None
            errors.append(FormError(422, form.snapshot_field, path, reason))
        else:
            errors.append(FormError(422, "snapshot_text", field or None, reason))
    return errors


@dataclass(frozen=True)
class DisputeForm:
    """What the person typed on a report page, and what is wrong with it (empty: may be filed)."""

    statement: str = ""
    contact: str = ""
    errors: tuple[FormError, ...] = ()
    # The recruiter key of whoever ran the check, if they give it (optional).
    access_key: str = ""

    @classmethod
    def read(cls, form: FormData) -> DisputeForm:
        # Browsers send line breaks as CRLF; count characters as the person typed them.
        statement = _text(form, "statement").replace("\r\n", "\n").strip()
        contact = _text(form, "contact").strip()
        return cls(statement, contact, tuple(FormError(422, name, None, reason) for name, reason
                                             in dispute_problems(statement, contact)),
                   _text(form, "access_key").strip())

    def errors_for(self, name: str) -> list[FormError]:
        return errors_by_field(self.errors).get(name, [])
