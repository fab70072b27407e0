"""What a recruiter sends: the claimed score, the account, and its snapshot or an assessment id.

The same rules serve ``POST /v1/trust-check`` (JSON) and the form at
``/trust``: the form builds the same request, so both reject the same inputs
with the same field paths (``claimed_score``, ``snapshot.profile.created_at``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from trueclout.contract import AccountSnapshot, Platform

MAX_HANDLE = 128
MAX_ASSESSMENT_ID = 64


def _handle(value: str) -> str:
    cleaned = value.strip().removeprefix("@").strip()
    if not cleaned:
        raise PydanticCustomError("empty_handle", "must name the account's handle")
    if any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise PydanticCustomError("control_character", "must not contain control characters")
    return cleaned


def _assessment_id(value: str) -> str:
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise PydanticCustomError(
            "assessment_id", "must be an assessment id as the platform received it "
            "(letters, digits, '-' and '_')")
    return value


Handle = Annotated[str, Field(min_length=1, max_length=MAX_HANDLE + 1), AfterValidator(_handle)]
AssessmentId = Annotated[str, Field(min_length=1, max_length=MAX_ASSESSMENT_ID),
                         AfterValidator(_assessment_id)]


class TrustCheckRequest(BaseModel):
    """A trust check: give ``snapshot`` or ``assessment_id``, exactly one."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    claimed_score: Annotated[float, Field(
        ge=0, le=100, description="The influence score the recruiter was shown (0-100).")]
    platform: Annotated[Platform, Field(description="The platform the account is on.")]
    handle: Annotated[Handle, Field(
        description="The account's handle (username), with or without a leading @.")]
    snapshot: Annotated[AccountSnapshot | None, Field(
        description="The account's snapshot (AccountSnapshot v1).")] = None
    assessment_id: Annotated[AssessmentId | None, Field(
        description="Instead of a snapshot: the id of an assessment a platform stored; its "
                    "snapshot is scored again with the active model.")] = None

    @model_validator(mode="after")
    def _one_source(self) -> TrustCheckRequest:
        if (self.snapshot is None) == (self.assessment_id is None):
            both = self.snapshot is not None
            message = ("give either a snapshot or an assessment_id, not both" if both
                       else "give either a snapshot or an assessment_id")
            raise ValidationError.from_exception_data("TrustCheckRequest", [InitErrorDetails(
                type=PydanticCustomError("one_source", message),
                loc=("assessment_id" if both else "snapshot",), input=None)])
        return self


def identity_problems(request: TrustCheckRequest, snapshot: AccountSnapshot
                      ) -> list[dict[str, str]]:
    """Where the account named in the request is not the one the snapshot describes.

    A report about the wrong account would be worse than none, so a mismatch
    is refused rather than reported on.
    """
    problems = []
    if snapshot.platform != request.platform:
        problems.append({"field": "platform", "type": "mismatch",
                         "reason": f"does not match the snapshot, which is of a "
                                   f"{snapshot.platform!r} account"})
    username = snapshot.profile.username.strip().removeprefix("@")
    if username.casefold() != request.handle.casefold():
        problems.append({"field": "handle", "type": "mismatch",
                         "reason": f"does not match the snapshot, whose profile.username is "
                                   f"{username!r}"})
    return problems
