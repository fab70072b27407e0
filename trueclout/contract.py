"""AccountSnapshot v1: the one input format of TrueClout (see data/README.md).

Field names are the wire names of ``SNAPSHOT.md``; do not rename them.  Every
rule the contract states is enforced here, so the API, the CLI and the batch
path reject the same inputs with the same field paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import chain
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from trueclout.files import utc_now

SCHEMA_VERSION = "1"

M = TypeVar("M", bound=BaseModel)

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

# Strict on purpose: a count is a JSON integer (not true, "12" or 1.0) and a flag a JSON
# boolean, so a platform's serialisation bug is refused instead of guessed at.
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
OptionalCount = Count | None
Flag = StrictBool
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 3339: a full date, then (for times) "T" and the time; never a bare unix number.
_RFC3339_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_RFC3339_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
_TEXT_PATTERN = r"^[^\x00]*$"


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_character", "must not contain control characters")
    return value


def _identifier(value: str) -> str:
    """Printable and not blank: ``"   "`` names no account (one call: identifiers are many)."""
    if value.isspace():
        raise PydanticCustomError("blank", "must not be blank (only spaces)")
    return _printable(value)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


def _rfc3339(pattern: re.Pattern[str], what: str) -> Any:
    """A before-validator admitting only RFC 3339 text (or an already parsed value).

    pydantic's lax parsing would take a unix number, as a number or as text, for
    a time; the contract says RFC 3339, so anything else is refused by name.
    """

    match = pattern.match  # one call per timestamp: kept as cheap as it can be

    def check(value: Any) -> Any:
        if (match(value) if type(value) is str else isinstance(value, date)):
            return value  # a date or datetime is parsed already (tables, Python callers)
        raise PydanticCustomError("rfc3339", f"must be an RFC 3339 {what} string")

    return BeforeValidator(check)


# Times and dates are RFC 3339 text with an offset; see consistency_problems for their range.
Timestamp = Annotated[AwareDatetime, _rfc3339(_RFC3339_TIME, "date-time (2026-11-20T08:00:00Z)")]
Day = Annotated[date, _rfc3339(_RFC3339_DATE, "date (2026-11-20)")]

# Identifiers are printable and not blank; free text may hold anything but NUL,
# which no database stores and no platform sends.
Identifier = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID,
          json_schema_extra={"pattern": r"^(?=.*\S)" + _ID_PATTERN[1:]}),
    AfterValidator(_identifier),
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
    created_at: Timestamp
    followers_count: Count
    following_count: Count
    posts_count: Count
    listed_count: OptionalCount = None
    likes_count: OptionalCount = None
    verified: Flag = False
    default_avatar: Flag | None = None
    bio: Text | None = None
    url: Text | None = None
    location: Text | None = None


class FollowerProfile(Profile):
    account_id: Identifier
    followed_at: Timestamp | None = None


class HistoryPoint(ContractModel):
    date: Day
    followers: Count
    following: OptionalCount = None


class Post(ContractModel):
    post_id: Identifier
    created_at: Timestamp
    kind: PostKind = "original"
    reposts_count: OptionalCount = None
    likes_count: OptionalCount = None
    replies_count: OptionalCount = None


class Engagement(ContractModel):
    actor_id: Identifier
    post_id: Identifier
    kind: EngagementKind
    at: Timestamp


class RepostMade(ContractModel):
    target_account_id: Identifier
    post_id: Identifier | None = None
    at: Timestamp


class AccountSnapshot(ContractModel):
    """What a platform knows about one account at one moment."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"title": "AccountSnapshot", "x-schema-version": SCHEMA_VERSION},
    )

    account_id: Identifier
    platform: Platform
    observed_at: Timestamp
    raw_score: Annotated[StrictFloat, Field(ge=0, le=100)] | None = None
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
    return [] if _plainly_consistent(s) else problems_item_by_item(s)


def problems_item_by_item(s: AccountSnapshot) -> list[InitErrorDetails]:
    """``consistency_problems`` one item at a time: slower, and names every problem."""
    out: list[InitErrorDetails] = []
    founded = PLATFORM_FOUNDED[s.platform]
    # Every time lies between the platform's launch and observed_at (plus clock skew), and
    # observed_at is not in the future; so no arithmetic below can leave datetime's range.
    latest = utc_now() + CLOCK_SKEW
    if s.observed_at > latest:
        out.append(_problem(("observed_at",), "future", "is in the future", str(s.observed_at)))
    else:
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
        if h.date < founded.date():
            out.append(_problem(("follower_history", i, "date"), "before_platform",
                                f"is before the platform existed ({founded.date()})",
                                str(h.date)))
        elif h.date > latest.date():
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


def _plainly_consistent(s: AccountSnapshot) -> bool:
    """True only when ``problems_item_by_item`` finds nothing: the same rules as whole-list
    minima and maxima (no call per item); False sends the snapshot through it, which names
    each problem.  Reads attributes only, so ``fast_contract``'s Structs pass through too."""
    founded = PLATFORM_FOUNDED[s.platform]
    if not founded <= s.observed_at <= utc_now() + CLOCK_SKEW:
        return False
    latest = s.observed_at + CLOCK_SKEW
    followers, posts = s.followers, s.posts
    times = [s.profile.created_at, *[f.created_at for f in followers],
             *[p.created_at for p in posts], *[r.at for r in s.reposts_made]]
    followed = [f.followed_at for f in followers if f.followed_at is not None]
    if min(times) < founded or max(times) > latest or (
            followed and (min(followed) < founded or max(followed) > latest)):
        return False
    days = [h.date for h in s.follower_history]
    if days and (len(set(days)) != len(days) or min(days) < founded.date()
                 or max(days) > latest.date()):
        return False
    post_time = {p.post_id: p.created_at for p in posts}
    if len(post_time) != len(posts):
        return False  # a repeated post_id
    get = post_time.get
    return all((created := get(e.post_id)) is not None and created <= e.at <= latest
               for e in s.engagements)


def format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """``("engagements", 3, "post_id")`` -> ``engagements[3].post_id``: how users write paths."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


MAX_ERRORS_SHOWN = 50


def describe_errors(error: ValidationError, limit: int = MAX_ERRORS_SHOWN
                    ) -> list[dict[str, str]]:
    """One ``{"field", "reason", "type"}`` per problem: the shape the API and CLI both show.

    At most ``limit`` problems, then one ``too_many_errors`` entry with the count of the
    rest: a hostile document with a million bad keys gets a short answer.
    """
    described = []
    # Without inputs and context: only what is shown is built (a large input is not copied).
    for e in error.errors(include_url=False, include_input=False, include_context=False):
        if len(described) == limit:
            break
        loc = tuple(p for p in e["loc"] if p != "__root__")
        described.append({"field": format_loc(loc), "reason": e["msg"], "type": e["type"]})
    if (rest := error.error_count() - len(described)) > 0:
        described.append({"field": "(document)", "reason": f"and {rest} more problem(s) not "
                          "listed", "type": "too_many_errors"})
    return described


# ---------------------------------------------------------------------------------------------
# Reading JSON documents: what pydantic's parser lets through silently


# The widest object of the contract has 17 fields; a few typos more are still reported each.
MAX_KEYS_PER_OBJECT = 64


class _Refused(dict[str, Any]):
    """Stands in for an object the parser refused (duplicate or too many keys), so the
    document's shape is kept and the object's path can be found afterwards."""

    def __init__(self, kind: str, message: str, key: str | None = None) -> None:
        super().__init__()
        self.kind, self.message, self.key = kind, message, key


class _DocumentRefused(Exception):
    """Parsing stopped early: the document has more unknown keys than are worth listing."""


@cache
def field_names(*models: type[BaseModel]) -> frozenset[str] | None:
    """Every key an object of ``models`` (nested models included) may have; None when one
    holds free-form JSON (``Any``, a ``dict``), whose keys no list can bound."""
    names: set[str] = set()
    for model in models:
        schema = model.model_json_schema()
        if not _closed(schema):
            return None
        for definition in (schema, *schema.get("$defs", {}).values()):
            names.update(definition.get("properties", {}))
    return frozenset(names)


def _closed(schema: Any) -> bool:
    """Whether a JSON Schema admits no free-form object anywhere (``{}`` admits anything)."""
    if isinstance(schema, list):
        return all(_closed(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema == {} or schema.get("additionalProperties", False) is not False:
        return False
    return all(_closed(v) for k, v in schema.items()
               if k not in ("properties", "$defs", "examples", "default", "const", "enum"))\
        and all(_closed(v) for k in ("properties", "$defs")
                for v in schema.get(k, {}).values())


def load_json(raw: bytes | str, *, known_keys: frozenset[str] | None = None,
              title: str = "document") -> Any:
    """The JSON value of ``raw``, refusing what a JSON parser would let pass silently.

    A key twice in one object is refused (the last one would win while both are
    stored), and so is an object with more than ``MAX_KEYS_PER_OBJECT`` keys.  With
    ``known_keys``, parsing stops after ``MAX_ERRORS_SHOWN`` keys outside it, before
    a validator would list each of a million unknown keys.  Raises ValidationError
    naming each path (``followers[3].username``), ``json_invalid`` for no JSON.
    """
    refused: list[_Refused] = []
    unknown: list[str] = []

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > MAX_KEYS_PER_OBJECT:
            marker = _Refused("too_many_keys", f"has {len(pairs)} keys; an object of this "
                              f"contract has at most {MAX_KEYS_PER_OBJECT}")
            refused.append(marker)
            return marker
        obj = dict(pairs)
        if len(obj) != len(pairs):
            key = next(k for i, (k, _) in enumerate(pairs) if any(k == o for o, _ in pairs[:i]))
            marker = _Refused("duplicate_key", "is a duplicate key: the object has it "
                              "more than once", key)
            refused.append(marker)
            return marker
        if known_keys is not None and not known_keys.issuperset(obj):
            unknown.extend(obj.keys() - known_keys)
            if len(unknown) > MAX_ERRORS_SHOWN:
                raise _DocumentRefused
        return obj

    try:
        document = json.loads(raw, object_pairs_hook=build, parse_constant=_no_constant)
    except _DocumentRefused:
        sample = ", ".join(repr(k[:40]) for k in sorted(set(unknown))[:5])
        raise _invalid(title, [_problem((), "too_many_unknown_keys", f"has more than "
                       f"{MAX_ERRORS_SHOWN} keys this contract does not define ({sample}, "
                       "...)", None)]) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and bad encodings too
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise _invalid(title, [InitErrorDetails(
            type=PydanticCustomError("json_invalid", "Invalid JSON: {error}",
                                     {"error": reason}), loc=(), input=None)]) from None
    if refused:
        problems = [_problem(loc, marker.kind, marker.message, None)
                    for loc, marker in _refused_paths(document, refused)]
        raise _invalid(title, problems)
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _invalid(title: str, problems: list[InitErrorDetails]) -> ValidationError:
    return ValidationError.from_exception_data(title, problems)


def _refused_paths(document: Any, refused: list[_Refused]
                   ) -> Iterator[tuple[tuple[str | int, ...], _Refused]]:
    """Where each refused object sits (the parser builds objects inside out, so it cannot
    tell); its duplicate key, if any, ends the path.  At most ``MAX_ERRORS_SHOWN``."""
    wanted = {id(m) for m in refused}
    found = 0
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack and found < MAX_ERRORS_SHOWN:
        loc, value = stack.pop()
        if isinstance(value, _Refused) and id(value) in wanted:
            found += 1
            yield (loc + (value.key,) if value.key is not None else loc), value
        elif isinstance(value, dict):
            stack.extend((loc + (k,), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((loc + (i,), v) for i, v in reversed(list(enumerate(value))))


def validate_json(model: type[M], raw: bytes | str, *, known_keys: frozenset[str] | None = None,
                  ) -> M:
    """``raw`` as ``model``: ``load_json``'s checks, then pydantic's own JSON parser (exact
    field paths, faster than validating the parsed value).  Raises ValidationError."""
    known = field_names(model) if known_keys is None else known_keys
    if not _passes_load_json(raw, known):
        load_json(raw, known_keys=known, title=model.__name__)
    return model.model_validate_json(raw)


# ---------------------------------------------------------------------------------------------
# load_json's verdict, cheaply, for the common document
#
# load_json calls a Python hook per object (about 1,600 in a 200-follower snapshot), which
# costs more than pydantic's whole parse of the same bytes.  For a plain document orjson
# (stricter than the stdlib parser: what it accepts, json.loads accepts) and a few C-level
# passes over the parsed objects reach the same verdict; anything unusual (a nested
# container deeper than a snapshot's, an escaped backslash, any refusal) goes to load_json
# itself, so every error it reports is still its own.

# Levels of nesting checked here; deeper documents (none valid here) go to load_json, which
# also knows when the stdlib parser would give up.
_PLAIN_DEPTH = 8


def _passes_load_json(raw: bytes | str, known_keys: frozenset[str] | None) -> bool:
    """True only when ``load_json(raw, known_keys=known_keys)`` would not raise; False
    when it might (then load_json decides)."""
    parsed = parsed_without_repeats(raw)
    if parsed is None:
        return False
    document, again = parsed
    return _plain_objects(document, known_keys, objects=again.count(b"{"),
                          arrays=again.count(b"["))


def parsed_without_repeats(raw: bytes | str) -> tuple[Any, bytes] | None:
    """(document, orjson's re-serialisation of it) when orjson parses ``raw`` (what it
    accepts, json.loads does) and no object repeats a key; None when either is in doubt.

    A repeated key is dropped by the parse, and with it at least one string (its name):
    strings are counted by their unescaped quotes before and after.
    """
    if not isinstance(raw, bytes | str):
        return None
    try:
        document = orjson.loads(raw)
        again = orjson.dumps(document)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    before = _strings(raw)
    return (document, again) if before is not None and before == _strings(again) else None


def _strings(text: bytes | str) -> int | None:
    """How many strings the JSON ``text`` holds (its quotes not escaped, halved); None when
    an escaped backslash makes that count unsure (\\\\" ends a string, \\" does not)."""
    quote, backslash = ('"', "\\") if isinstance(text, str) else (b'"', b"\\")
    quotes = text.count(quote)
    if backslash in text:  # rare: the test is a memchr, the counts below are not
        if backslash + backslash in text:
            return None
        quotes -= text.count(backslash + quote)
    return quotes // 2


def _plain_objects(document: Any, known_keys: frozenset[str] | None, *,
                   objects: int, arrays: int) -> bool:
    """Every object at most MAX_KEYS_PER_OBJECT keys, all in ``known_keys`` (when given),
    checked a level at a time with C-level passes.  ``objects`` and ``arrays``: the
    document's ``{`` and ``[`` (strings included): once that many are found, none is left
    below (a snapshot's 13,000 scalars are then never looked at)."""
    level, found = [document], 0
    for _ in range(_PLAIN_DEPTH):
        dicts = [v for v in level if type(v) is dict]
        lists = [v for v in level if type(v) is list]
        if dicts and (max(map(len, dicts)) > MAX_KEYS_PER_OBJECT or (
                known_keys is not None and not known_keys.issuperset(set().union(*dicts)))):
            return False
        found += len(dicts) + len(lists)
        level = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)] \
            if found < objects + arrays else []
        if not level:
            return True
    return False
