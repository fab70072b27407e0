"""AccountSnapshot v1: the one input format of TrueClout (see data/README.md).

Field names are the wire names of ``SNAPSHOT.md``; do not rename them.  Every
rule the contract states is enforced here, so the API, the CLI and the batch
path reject the same inputs with the same field paths.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from trueclout.files import utc_now

SCHEMA_VERSION = "1"

PLATFORMS: tuple[str, ...] = (
    "twitter",
    "instagram",
    "tiktok",
    "youtube",
    "linkedin",
    "facebook",
    "other",
)
Platform = Literal["twitter", "instagram", "tiktok", "youtube", "linkedin", "facebook", "other"]
PostKind = Literal["original", "repost", "reply", "quote"]
EngagementKind = Literal["repost", "like", "reply", "quote"]

POST_KINDS: tuple[str, ...] = ("original", "repost", "reply", "quote")
ENGAGEMENT_KINDS: tuple[str, ...] = ("repost", "like", "reply", "quote")

# Public launch dates: a timestamp before its platform existed is a data error.
PLATFORM_FOUNDED: dict[str, datetime] = {
    "twitter": datetime(2006, 3, 21, tzinfo=UTC),
    "instagram": datetime(2010, 10, 6, tzinfo=UTC),
    "tiktok": datetime(2016, 9, 1, tzinfo=UTC),
    "youtube": datetime(2005, 2, 14, tzinfo=UTC),
    "linkedin": datetime(2002, 12, 28, tzinfo=UTC),
    "facebook": datetime(2004, 2, 4, tzinfo=UTC),
    "other": datetime(1990, 1, 1, tzinfo=UTC),
}

# Clocks differ between a platform and us; a few minutes ahead is not an error.
CLOCK_SKEW = timedelta(minutes=5)

MAX_HISTORY = 3_660
MAX_FOLLOWERS = 5_000
MAX_POSTS = 5_000
MAX_ENGAGEMENTS = 100_000
MAX_REPOSTS_MADE = 20_000
MAX_TEXT = 1_000
MAX_ID = 128
MAX_COUNT = 10**12  # fits int64 arithmetic in the kernels with room to spare

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
OptionalCount = Count | None
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
_TEXT_PATTERN = r"^[^\x00]*$"


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_character", "must not contain control characters")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


# Identifiers are printable; free text may hold anything but NUL, which no
# database stores and no platform sends.
Identifier = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID, json_schema_extra={"pattern": _ID_PATTERN}),
    AfterValidator(_printable),
]
Text = Annotated[
    str,
    Field(max_length=MAX_TEXT, json_schema_extra={"pattern": _TEXT_PATTERN}),
    AfterValidator(_no_nul),
]


class ContractModel(BaseModel):
    """Strict base: unknown fields are rejected so that a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=False)


class Profile(ContractModel):
    username: Annotated[Text, Field(min_length=1)]
    display_name: Text | None = None
    created_at: AwareDatetime
    followers_count: Count
    following_count: Count
    posts_count: Count
    listed_count: OptionalCount = None
    likes_count: OptionalCount = None
    verified: bool = False
    default_avatar: bool | None = None
    bio: Text | None = None
    url: Text | None = None
    location: Text | None = None


class FollowerProfile(Profile):
    account_id: Identifier
    followed_at: AwareDatetime | None = None


class HistoryPoint(ContractModel):
    date: date
    followers: Count
    following: OptionalCount = None


class Post(ContractModel):
    post_id: Identifier
    created_at: AwareDatetime
    kind: PostKind = "original"
    reposts_count: OptionalCount = None
    likes_count: OptionalCount = None
    replies_count: OptionalCount = None


class Engagement(ContractModel):
    actor_id: Identifier
    post_id: Identifier
    kind: EngagementKind
    at: AwareDatetime


class RepostMade(ContractModel):
    target_account_id: Identifier
    post_id: Identifier | None = None
    at: AwareDatetime


class AccountSnapshot(ContractModel):
    """What a platform knows about one account at one moment."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"title": "AccountSnapshot", "x-schema-version": SCHEMA_VERSION},
    )

    account_id: Identifier
    platform: Platform
    observed_at: AwareDatetime
    raw_score: Annotated[float, Field(ge=0, le=100)] | None = None
    profile: Profile
    follower_history: Annotated[list[HistoryPoint], Field(max_length=MAX_HISTORY)] = []
    followers: Annotated[list[FollowerProfile], Field(max_length=MAX_FOLLOWERS)] = []
    posts: Annotated[list[Post], Field(max_length=MAX_POSTS)] = []
    engagements: Annotated[list[Engagement], Field(max_length=MAX_ENGAGEMENTS)] = []
    reposts_made: Annotated[list[RepostMade], Field(max_length=MAX_REPOSTS_MADE)] = []

    @model_validator(mode="after")
    def _consistent(self) -> AccountSnapshot:
        problems = list(consistency_problems(self))
        if problems:
            raise ValidationError.from_exception_data("AccountSnapshot", problems)
        return self


def _problem(loc: tuple[str | int, ...], kind: str, message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


def _check_time(
    loc: tuple[str | int, ...], at: datetime, founded: datetime, latest: datetime
) -> InitErrorDetails | None:
    if at < founded:
        return _problem(
            loc, "before_platform", f"is before the platform existed ({founded.date()})", str(at)
        )
    if at > latest:
        return _problem(loc, "after_observed_at", "is after the snapshot's observed_at", str(at))
    return None


def consistency_problems(s: AccountSnapshot) -> list[InitErrorDetails]:
    """Cross-field rules a field type cannot express, each with its exact path."""
    out: list[InitErrorDetails] = []
    founded = PLATFORM_FOUNDED[s.platform]
    now = utc_now()
    if s.observed_at > now + CLOCK_SKEW:
        out.append(_problem(("observed_at",), "future", "is in the future", str(s.observed_at)))
    latest = s.observed_at + CLOCK_SKEW

    def check(loc: tuple[str | int, ...], at: datetime | None) -> None:
        if at is not None and (p := _check_time(loc, at, founded, latest)) is not None:
            out.append(p)

    if s.observed_at < founded:
        out.append(
            _problem(
                ("observed_at",),
                "before_platform",
                f"is before the platform existed ({founded.date()})",
                str(s.observed_at),
            )
        )
    check(("profile", "created_at"), s.profile.created_at)
    for i, f in enumerate(s.followers):
        check(("followers", i, "created_at"), f.created_at)
        check(("followers", i, "followed_at"), f.followed_at)
    seen_dates: set[date] = set()
    for i, h in enumerate(s.follower_history):
        if h.date in seen_dates:
            out.append(_problem(("follower_history", i, "date"), "duplicate", "repeats a date",
                                str(h.date)))
        seen_dates.add(h.date)
        if h.date > latest.date():
            out.append(_problem(("follower_history", i, "date"), "after_observed_at",
                                "is after the snapshot's observed_at", str(h.date)))
    post_time: dict[str, datetime] = {}
    for i, p in enumerate(s.posts):
        if p.post_id in post_time:
            out.append(_problem(("posts", i, "post_id"), "duplicate", "repeats a post_id",
                                p.post_id))
        post_time.setdefault(p.post_id, p.created_at)
        check(("posts", i, "created_at"), p.created_at)
    for i, e in enumerate(s.engagements):
        created = post_time.get(e.post_id)
        if created is None:
            out.append(_problem(("engagements", i, "post_id"), "unknown_post",
                                "does not name a post in posts", e.post_id))
            continue
        if e.at < created:
            out.append(_problem(("engagements", i, "at"), "before_post",
                                "is before the post's created_at", str(e.at)))
        elif e.at > latest:
            out.append(_problem(("engagements", i, "at"), "after_observed_at",
                                "is after the snapshot's observed_at", str(e.at)))
    for i, r in enumerate(s.reposts_made):
        check(("reposts_made", i, "at"), r.at)
    return out


def format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """``("engagements", 3, "post_id")`` -> ``engagements[3].post_id``: how users write paths."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


def describe_errors(error: ValidationError) -> list[dict[str, str]]:
    """One ``{"field", "reason", "type"}`` per problem: the shape the API and CLI both show."""
    described = []
    for e in error.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if p != "__root__")
        described.append({"field": format_loc(loc), "reason": e["msg"], "type": e["type"]})
    return described
