"""A fast decoder for one AccountSnapshot body: msgspec Structs, then the contract's own rules.

pydantic's ``validate_json`` builds and validates ~1,600 objects for a 200-follower
snapshot, which costs more than everything else in a request but the features.
msgspec decodes and type-checks the same bytes into Structs in a fraction of that.
The Structs carry the contract's field names and values, so scoring reads them as
they are (``read_snapshot_json``: Structs -> Arrow tables, no pydantic object built);
where a pydantic model is wanted, ``as_model`` fills one in without validating again.

The pydantic models in ``trueclout.contract`` stay the contract (JSON Schema,
OpenAPI, every error message).  This module is only exact on *acceptance*: what
``decode_snapshot`` returns, ``contract.validate_json`` would have returned too,
equal field by field (``as_model`` of it ``==`` the reference's).  On any doubt (a
msgspec refusal, an escape sequence it cannot vouch for, a cross-field rule that
fails) it returns None and the caller runs ``validate_json``, which produces the
error, so errors are the reference path's by construction
(``tests/core/test_fast_decoder_agrees.py``).

Known differences of ``as_model``'s models, which ``==`` ignores and nothing in TrueClout reads:
``model_fields_set`` names every field, as if all had been sent; times carry a
``datetime.timezone`` rather than pydantic's ``TzInfo`` (the same offset, the same
``isoformat``, the same Arrow tables and assessments).
"""

import re
from datetime import date, datetime
from operator import attrgetter
from typing import Annotated, Any, Literal, TypeAlias

import msgspec
from msgspec import Meta, Struct
from msgspec.structs import asdict, replace
from pydantic import BaseModel

from trueclout.contract import (
    MAX_COUNT,
    MAX_ENGAGEMENTS,
    MAX_FOLLOWERS,
    MAX_HISTORY,
    MAX_ID,
    MAX_POSTS,
    MAX_REPOSTS_MADE,
    MAX_TEXT,
    AccountSnapshot,
    Engagement,
    FollowerProfile,
    HistoryPoint,
    Post,
    Profile,
    RepostMade,
    _plainly_consistent,
    parsed_without_repeats,
    validate_json,
)

# msgspec rounds a time's fraction beyond microseconds, pydantic truncates it: a
# body with 7+ fractional digits after a time's seconds goes to pydantic.  The first
# pattern (a literal first: a fast scan) finds the rare candidates for the second.
_SEVEN_DIGITS = re.compile(rb"\.\d{7}")
_LONG_FRACTION = re.compile(rb"\d:\d\d\.\d{7}")
# A digit, ":" or "." spelt as an escape (\u0039) would hide such a fraction from them.
_ESCAPED_TIME_CHAR = re.compile(rb"\\u00(?:3|2[eE])")

Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
Score = Annotated[float, Meta(ge=0, le=100)]
Timestamp = Annotated[datetime, Meta(tz=True)]
PostKind = Literal["original", "repost", "reply", "quote"]
EngagementKind = Literal["repost", "like", "reply", "quote"]
Platform = Literal["twitter", "instagram", "tiktok", "youtube", "linkedin", "facebook", "other"]


def _structs(identifier: Any, text: Any, name: Any) -> dict[str, type[Struct]]:
    """The contract's models as Structs, field for field and in the same order, with the
    given string types (plain, or with the control-character patterns).  Built in a
    function (annotations evaluated, not postponed) to have both variants from one text."""

    class _Base(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
        """Unknown fields refused, as ``extra="forbid"``; ``gc=False``: decoded JSON holds
        no reference cycles, so the collector need not track thousands of them."""

    class SProfile(_Base, kw_only=True):
        username: name
        display_name: text | None = None
        created_at: Timestamp
        followers_count: Count
        following_count: Count
        posts_count: Count
        listed_count: Count | None = None
        likes_count: Count | None = None
        verified: bool = False
        default_avatar: bool | None = None
        bio: text | None = None
        url: text | None = None
        location: text | None = None

    class SFollower(SProfile, kw_only=True):
        account_id: identifier
        followed_at: Timestamp | None = None

    class SHistory(_Base, kw_only=True):
        date: date
        followers: Count
        following: Count | None = None

    class SPost(_Base, kw_only=True):
        post_id: identifier
        created_at: Timestamp
        kind: PostKind = "original"
        reposts_count: Count | None = None
        likes_count: Count | None = None
        replies_count: Count | None = None

    class SEngagement(_Base, kw_only=True):
        actor_id: identifier
        post_id: identifier
        kind: EngagementKind
        at: Timestamp

    class SRepostMade(_Base, kw_only=True):
        target_account_id: identifier
        post_id: identifier | None = None
        at: Timestamp

    class SSnapshot(_Base, kw_only=True):
        account_id: identifier
        platform: Platform
        observed_at: Timestamp
        raw_score: Score | None = None
        profile: SProfile
        follower_history: Annotated[list[SHistory], Meta(max_length=MAX_HISTORY)] = []
        followers: Annotated[list[SFollower], Meta(max_length=MAX_FOLLOWERS)] = []
        posts: Annotated[list[SPost], Meta(max_length=MAX_POSTS)] = []
        engagements: Annotated[list[SEngagement], Meta(max_length=MAX_ENGAGEMENTS)] = []
        reposts_made: Annotated[list[SRepostMade], Meta(max_length=MAX_REPOSTS_MADE)] = []

    return {"profile": SProfile, "follower": SFollower, "history": SHistory, "post": SPost,
            "engagement": SEngagement, "repost": SRepostMade, "snapshot": SSnapshot}


# Without a backslash or a DEL byte in the body, no string can hold a control character
# (JSON forbids them raw), so only lengths are checked; otherwise the patterns are too.
# Blank identifiers are checked after decoding, in bulk (``_no_blank_ids``).
_PLAIN = _structs(Annotated[str, Meta(min_length=1, max_length=MAX_ID)],
                  Annotated[str, Meta(max_length=MAX_TEXT)],
                  Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)])
_CHECKED = _structs(
    Annotated[str, Meta(min_length=1, max_length=MAX_ID, pattern=r"\A[^\x00-\x1f\x7f]*\Z")],
    Annotated[str, Meta(max_length=MAX_TEXT, pattern=r"\A[^\x00]*\Z")],
    Annotated[str, Meta(min_length=1, max_length=MAX_TEXT, pattern=r"\A[^\x00]*\Z")])
_DECODE_PLAIN = msgspec.json.Decoder(_PLAIN["snapshot"], strict=True).decode
_DECODE_CHECKED = msgspec.json.Decoder(_CHECKED["snapshot"], strict=True).decode
_new = object.__new__
# BaseModel's slots, set through their descriptors: cheaper than object.__setattr__.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


_FIELDS = {m: _fields(m) for m in (Profile, FollowerProfile, HistoryPoint, Post, Engagement,
                                   RepostMade, AccountSnapshot)}


def _model(cls: type[Any], values: dict[str, Any]) -> Any:
    """``cls.model_construct(**values)`` without its per-call overhead: ``values`` holds
    every field, already validated."""
    m = _new(cls)
    _set_dict(m, values)
    _set_fields_set(m, set(_FIELDS[cls]))
    _set_extra(m, None)
    _set_private(m, None)
    return m


def _models(cls: type[Any], items: list[Any]) -> list[Any]:
    return [_model(cls, asdict(item)) for item in items]


_ACCOUNT_ID = attrgetter("account_id")
_POST_ID = attrgetter("post_id")
_ACTOR_ID = attrgetter("actor_id")
_TARGET_ID = attrgetter("target_account_id")


def _no_blank_ids(s: Any) -> bool:
    """No identifier is only whitespace (``contract._identifier``'s ``isspace``)."""
    blank = str.isspace
    reposts = s.reposts_made
    return not (blank(s.account_id)
                or any(map(blank, map(_ACCOUNT_ID, s.followers)))
                or any(map(blank, map(_POST_ID, s.posts)))
                or any(map(blank, map(_ACTOR_ID, s.engagements)))
                or any(map(blank, map(_POST_ID, s.engagements)))
                or any(map(blank, map(_TARGET_ID, reposts)))
                or any(blank(p) for p in map(_POST_ID, reposts) if p is not None))


def _passes_load_json_given_structs(raw: bytes) -> bool:
    """``contract._passes_load_json`` for a body the Structs accepted: only its parse and
    duplicate-key check are left to do.  Every object of such a body is a Struct's, so its
    keys are known ones (unknown fields are refused) and, with no key repeated, at most
    17 of them: the key-flood checks cannot fail."""
    return parsed_without_repeats(raw) is not None


# A snapshot the contract accepted, as scoring reads it: the pydantic model, or the
# decoded Struct (same attribute names, same values; see ``decode_snapshot``).
ScorableSnapshot: TypeAlias = AccountSnapshot | Struct


def decode_snapshot(raw: bytes | str, *, keys_checked: bool = False) -> Struct | None:
    """``raw`` as the decoded Struct, whose ``as_model`` equals ``validate_json(AccountSnapshot,
    raw)``, or None where this path cannot vouch for the verdict (the caller then runs
    ``validate_json``, which also names every problem of a refused body).

    ``keys_checked``: ``raw`` lies inside a document that ``validate_json`` already
    accepted (a batch envelope), so orjson parses it and no object of it repeats a key;
    the duplicate-key check (about a third of this function's time) is not run again."""
    if type(raw) is not bytes or (_SEVEN_DIGITS.search(raw) is not None
                                  and _LONG_FRACTION.search(raw) is not None):
        return None
    if b"\\u00" in raw and _ESCAPED_TIME_CHAR.search(raw) is not None:
        return None
    decode = _DECODE_PLAIN if b"\\" not in raw and b"\x7f" not in raw else _DECODE_CHECKED
    try:
        s = decode(raw)
    except msgspec.DecodeError:  # its ValidationError included
        return None
    if not keys_checked and not _passes_load_json_given_structs(raw):
        return None
    if not _no_blank_ids(s):
        return None
    return s if _plainly_consistent(s) else None


def as_model(s: Struct) -> AccountSnapshot:
    """A Struct from ``decode_snapshot`` as the pydantic AccountSnapshot, not validated again."""
    values = asdict(s)
    values["profile"] = _model(Profile, asdict(s.profile))
    values["follower_history"] = _models(HistoryPoint, s.follower_history)
    values["followers"] = _models(FollowerProfile, s.followers)
    values["posts"] = _models(Post, s.posts)
    values["engagements"] = _models(Engagement, s.engagements)
    values["reposts_made"] = _models(RepostMade, s.reposts_made)
    snapshot: AccountSnapshot = _model(AccountSnapshot, values)
    return snapshot


def with_account_id(snapshot: ScorableSnapshot, account_id: str) -> ScorableSnapshot:
    """The same snapshot under another ``account_id`` (the model or the Struct, as given)."""
    if isinstance(snapshot, AccountSnapshot):
        return snapshot.model_copy(update={"account_id": account_id})
    return replace(snapshot, account_id=account_id)


def read_snapshot_json(raw: bytes | str, *, keys_checked: bool = False) -> ScorableSnapshot:
    """The accepted snapshot as scoring reads it: the Struct when ``decode_snapshot`` vouches
    for the body, else ``validate_json``'s model.  Raises ValidationError (always the
    reference path's).  ``keys_checked`` as for ``decode_snapshot``."""
    fast = decode_snapshot(raw, keys_checked=keys_checked)
    return fast if fast is not None else validate_json(AccountSnapshot, raw)


def validate_snapshot_json(raw: bytes | str) -> AccountSnapshot:
    """``validate_json(AccountSnapshot, raw)``, through ``decode_snapshot`` when it can
    vouch for the body.  Raises ValidationError (always the reference path's)."""
    fast = decode_snapshot(raw)
    return as_model(fast) if fast is not None else validate_json(AccountSnapshot, raw)
