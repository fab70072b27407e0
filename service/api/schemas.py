"""Response bodies of the API other than the Assessment itself (published in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from trueclout.assessment import Assessment, ModelRef, Risk, Tactics
from trueclout.contract import Platform


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Out):
    field: str
    reason: str
    type: str | None = None


class ErrorInfo(_Out):
    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] = []


class ErrorBody(_Out):
    """Every 4xx/5xx answer has this shape."""

    error: ErrorInfo


class BatchItem(_Out):
    """The result for the snapshot at ``index``: an assessment or an error, never both."""

    index: int
    status: Literal["ok", "error"]
    assessment: Assessment | None = None
    error: ErrorInfo | None = None


class BatchResponse(_Out):
    results: list[BatchItem]
    scored: int
    failed: int
    stored: bool


class ScorePoint(_Out):
    """One stored assessment, reduced to what a trajectory shows."""

    assessment_id: str
    scored_at: datetime
    raw_score: float | None  # the caller's own score, echoed exactly as sent
    adjusted_score: float | None
    risk: Risk
    tactics: Tactics
    confidence_level: str
    model: ModelRef


class HistoryPage(_Out):
    platform: Platform
    account_id: str
    order: Literal["newest_first"] = "newest_first"
    points: list[ScorePoint]
    next_cursor: str | None


class ModelCard(_Out):
    name: str
    version: str
    card: dict[str, Any]


class Health(_Out):
    status: Literal["ok"]


class Readiness(_Out):
    status: Literal["ready"]
    checks: dict[str, str]


_DESCRIPTIONS = {
    400: "Not JSON, or a request this endpoint cannot take",
    401: "No API key, or an unknown or revoked one",
    403: "The API key lacks the scope this endpoint needs",
    404: "Not found",
    413: "The body is larger than the configured maximum",
    415: "The body was sent with a Content-Type other than application/json",
    422: "Validation failed; `details` names each field",
    429: "Rate limit exceeded; see the `Retry-After` header",
    503: "Model not loaded, or the database failed (nothing was stored)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the standard error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS.get(s, "Error")}
            for s in statuses}
