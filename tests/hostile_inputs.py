"""The hostile-input corpus: snapshots every entry point must refuse, naming the field.

``BAD_FIELDS`` are single-field mistakes (the contract's own cases); ``HOSTILE``
are the whole-body attacks and contract loopholes of issue 16 (floods of keys,
dates at the end of time, lax types, duplicate keys).  Each case is raw bytes,
so duplicate keys and unknown constants survive until a parser sees them.
The contract tests, the HTTP corpus and the CLI corpus all run these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.factories import mutate, snapshot_dict

# (path, value, field named, part of the reason): one mistake each.
BAD_FIELDS: list[tuple[str, Any, str, str]] = [
    ("profile", ..., "profile", "Field required"),
    ("profile.followers_count", -1, "profile.followers_count", "greater than or equal to 0"),
    ("followers[1].following_count", -5, "followers[1].following_count", "greater than"),
    ("profile.created_at", "2020-01-01T00:00:00", "profile.created_at", "timezone"),
    ("observed_at", "2026-11-20T08:00:00", "observed_at", "timezone"),
    ("engagements[2].post_id", "nope", "engagements[2].post_id", "does not name a post"),
    ("profile.favourite_colour", "blue", "profile.favourite_colour", "Extra inputs"),
    ("platform", "myspace", "platform", "Input should be"),
    ("raw_score", 101, "raw_score", "less than or equal to 100"),
    ("account_id", "", "account_id", "at least 1 character"),
    ("profile.bio", "x" * 1001, "profile.bio", "at most 1000 characters"),
    ("posts[1].post_id", "p0", "posts[1].post_id", "repeats a post_id"),
    ("profile.created_at", "2001-01-01T00:00:00Z", "profile.created_at",
     "before the platform existed"),
    # Issue 16, item 2: the end of time is "in the future", not an overflow.
    ("observed_at", "9999-12-31T23:59:59Z", "observed_at", "in the future"),
    ("observed_at", "9999-12-31T23:59:59-14:00", "observed_at", "in the future"),
    ("profile.created_at", "9999-12-31T23:59:59Z", "profile.created_at", "after the snapshot"),
    ("observed_at", "0001-01-01T00:00:00+14:00", "observed_at", "before the platform"),
    ("follower_history[0].date", "9999-12-31", "follower_history[0].date", "after the snapshot"),
    # Item 3: strict types.
    ("profile.followers_count", True, "profile.followers_count", "valid integer"),
    ("profile.followers_count", "12", "profile.followers_count", "valid integer"),
    ("profile.followers_count", 1.0, "profile.followers_count", "valid integer"),
    ("follower_history[0].followers", 10.5, "follower_history[0].followers", "valid integer"),
    ("profile.verified", 1, "profile.verified", "valid boolean"),
    ("profile.verified", "true", "profile.verified", "valid boolean"),
    ("raw_score", "30", "raw_score", "valid number"),
    ("observed_at", 1_763_625_600, "observed_at", "RFC 3339"),
    ("observed_at", "1763625600", "observed_at", "RFC 3339"),
    ("engagements[0].at", 1_763_625_600.5, "engagements[0].at", "RFC 3339"),
    ("follower_history[0].date", 0, "follower_history[0].date", "RFC 3339"),
    ("account_id", "   ", "account_id", "blank"),
    ("follower_history[0].date", "0001-01-01", "follower_history[0].date",
     "before the platform existed"),
]


def snapshot_bytes(path: str | None = None, value: Any = None) -> bytes:
    """A valid snapshot as JSON, or one with ``path`` set to ``value`` (``...`` removes it)."""
    document = snapshot_dict()
    if path is not None:
        document = mutate(document, path, value)
    return json.dumps(document).encode()


def _with_top_level(extra: str) -> bytes:
    """The valid snapshot with raw JSON text spliced in as its last member(s)."""
    return snapshot_bytes()[:-1] + b", " + extra.encode() + b"}"


def _unknown_keys(count: int) -> bytes:
    return _with_top_level(", ".join(f'"k{i}": 1' for i in range(count)))


def _unknown_keys_in_followers(per_follower: int) -> bytes:
    document = snapshot_dict()
    for follower in document["followers"]:
        follower.update({f"x{i}": 1 for i in range(per_follower)})
    return json.dumps(document).encode()


@dataclass(frozen=True)
class Hostile:
    """A body (raw bytes) and the field its refusal must name."""

    name: str
    body: Callable[[], bytes]
    field: str
    kind: str  # the error ``type``


HOSTILE: list[Hostile] = [
    # Item 1: floods of unknown keys get one short answer, not one entry per key.
    Hostile("20k unknown top-level keys", lambda: _unknown_keys(20_000), "(document)",
            "too_many_keys"),
    Hostile("unknown keys spread over followers", lambda: _unknown_keys_in_followers(30),
            "(document)", "too_many_unknown_keys"),
    # Item 3: a duplicate key is refused, naming its path.
    Hostile("duplicate top-level key", lambda: _with_top_level('"platform": "tiktok"'),
            "platform", "duplicate_key"),
    Hostile("duplicate nested key", lambda: snapshot_bytes().replace(
        b'"username": "anna_k"', b'"username": "anna_k", "username": "someone_else"', 1),
        "profile.username", "duplicate_key"),
    Hostile("NaN is not JSON", lambda: snapshot_bytes().replace(
        b'"raw_score": 42.5', b'"raw_score": NaN', 1), "(document)", "json_invalid"),
    Hostile("not JSON", lambda: b'{"account_id": ', "(document)", "json_invalid"),
    Hostile("nested a thousand deep", lambda: b"[" * 5_000 + b"]" * 5_000, "(document)",
            "json_invalid"),
]
