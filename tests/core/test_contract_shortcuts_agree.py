"""The contract's shortcuts give the reference path's verdicts, errors included.

``validate_json`` skips ``load_json``'s stdlib pass when a cheaper check shows it
would pass, and ``consistency_problems`` checks whole-list minima and maxima
before going item by item.  Both must accept and refuse exactly what the
reference path does, with the same field paths, types and messages.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.factories import mutate, snapshot_dict
from tests.hostile_inputs import BAD_FIELDS, HOSTILE, snapshot_bytes
from tests.strategies import snapshots
from trueclout.contract import (
    AccountSnapshot,
    _passes_load_json,
    _plainly_consistent,
    describe_errors,
    field_names,
    load_json,
    problems_item_by_item,
    validate_json,
)

KNOWN = field_names(AccountSnapshot)
BASE = snapshot_bytes()
SPLICES = {  # raw edits of the valid body: (what, replaced by)
    "duplicate key in a follower": (b'"username": "follower1"',
                                    b'"username": "follower1", "username": "x"'),
    "duplicate key with the same value": (b'"username": "follower1"',
                                          b'"username": "follower1", "username": "follower1"'),
    "duplicate key spelt with an escape": (b'"username": "follower1"',
                                           b'"username": "follower1", "user\\u006eame": "x"'),
    "duplicate key inside a wrong-typed object": (b'"bio": "Cycling, maps, coffee."',
                                                  b'"bio": {"a": 1, "a": 2}'),
    "duplicate key nested deep in a wrong-typed value": (
        b'"bio": "Cycling, maps, coffee."', b'"bio": {"a": {"b": [1, {"c": 1, "c": 2}]}}'),
    "65 keys in a wrong-typed object": (
        b'"bio": "Cycling, maps, coffee."',
        b'"bio": {' + b", ".join(b'"k%d": 1' % i for i in range(65)) + b"}"),
    "one unknown key": (b'"username": "follower1"', b'"username": "follower1", "zzz": 1'),
    "quotes and colons inside a string": (b'"bio": "Cycling, maps, coffee."',
                                          b'"bio": "a: \\"b\\": {c} [d]:"'),
    "an escaped backslash": (b'"bio": "Cycling', b'"bio": "C\\\\ycling'),
    "a lone surrogate": (b'"bio": "Cycling', b'"bio": "Cy\\ud800cling'),
    "NaN": (b'"raw_score": 42.5', b'"raw_score": NaN'),
    "Infinity": (b'"raw_score": 42.5', b'"raw_score": Infinity'),
    "a float beyond float64": (b'"raw_score": 42.5', b'"raw_score": 1e400'),
    "an integer beyond 64 bits": (b'"followers_count": 1200',
                                  b'"followers_count": 123456789012345678901234567890'),
    "a trailing comma": (b'"raw_score": 42.5', b'"raw_score": 42.5,'),
    "a raw control character in a string": (b'"bio": "Cycling', b'"bio": "Cy\x01cling'),
    "invalid UTF-8": (b'"bio": "Cycling', b'"bio": "Cy\xff\xfecling'),
    "a UTF-8 encoded surrogate": (b'"bio": "Cycling', b'"bio": "Cy\xed\xa0\x80cling'),
    "a vertical tab as whitespace": (b'"raw_score": 42.5', b'"raw_score":\x0b42.5'),
    "a comment": (b'"raw_score": 42.5', b'"raw_score": 42.5 /* x */'),
}
WHOLE = {
    "empty": b"", "null": b"null", "a list": b"[]", "an empty object": b"{}",
    "trailing text": BASE + b"x", "two documents": BASE + BASE,
    "a UTF-8 BOM": b"\xef\xbb\xbf" + BASE,
    "UTF-16": BASE.decode().encode("utf-16"), "as str": BASE.decode(),
    "as str with a BOM": "\ufeff" + BASE.decode(),
    "nested 900 deep": b"[" * 900 + b"]" * 900, "nested 1100 deep": b"[" * 1100 + b"]" * 1100,
    "60 unknown top-level keys": BASE[:-1] + b", "
    + b", ".join(b'"k%d": 1' % i for i in range(60)) + b"}",
    "a bigger valid snapshot": json.dumps(snapshot_dict(
        followers=60, posts=10, engagements_per_post=6, history_days=30)).encode(),
}
CASES: dict[str, bytes | str] = {
    **{f"bad field {path}={value!r:.30}": snapshot_bytes(path, value)
       for path, value, _, _ in BAD_FIELDS},
    **{f"hostile: {case.name}": case.body() for case in HOSTILE},
    **{name: BASE.replace(old, new, 1) for name, (old, new) in SPLICES.items()},
    **WHOLE,
}


def _verdict(call) -> object:
    try:
        call()
    except ValidationError as exc:
        return exc.title, describe_errors(exc, limit=10_000)
    return "accepted"


def _reference(raw: bytes | str) -> object:
    return _verdict(lambda: (load_json(raw, known_keys=KNOWN, title="AccountSnapshot"),
                             AccountSnapshot.model_validate_json(raw)))


@pytest.mark.parametrize("name", list(CASES))
def test_validate_json_gives_the_reference_verdict_and_errors(name: str) -> None:
    raw = CASES[name]
    assert _verdict(lambda: validate_json(AccountSnapshot, raw)) == _reference(raw)


@pytest.mark.parametrize("known", [KNOWN, None], ids=["known keys", "any keys"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_cheap_check_never_passes_what_load_json_refuses(name: str, known) -> None:
    raw = CASES[name]
    if _passes_load_json(raw, known):
        load_json(raw, known_keys=known)  # must not raise


def test_plain_snapshots_take_the_shortcut() -> None:
    """Not a speed test: the shortcut is actually used for the documents it is for."""
    assert _passes_load_json(BASE, KNOWN)
    assert _passes_load_json(CASES["a bigger valid snapshot"], KNOWN)


# ---------------------------------------------------------------------------------------------
# Cross-field rules: whole-list minima and maxima against the item-by-item rules

HOUR = timedelta(hours=1)


def _shifted(path: str, by: timedelta | None):
    """A valid snapshot with the time at ``path`` moved by ``by`` (None: set to None)."""
    snapshot = validate_json(AccountSnapshot, BASE)
    *parents, last = path.replace("]", "").replace("[", ".").split(".")
    target = snapshot
    for part in parents:
        target = target[int(part)] if part.isdigit() else getattr(target, part)
    value = getattr(target, last)
    setattr(target, last, None if by is None else value + by)
    return snapshot


SHIFTS = [
    ("observed_at", timedelta(days=3650)), ("observed_at", -timedelta(days=7300)),
    ("profile.created_at", -timedelta(days=7300)), ("profile.created_at", timedelta(days=400)),
    ("followers[1].created_at", timedelta(days=4000)),
    ("followers[2].followed_at", HOUR), ("followers[0].followed_at", -timedelta(days=9000)),
    ("followers[0].followed_at", None),
    ("follower_history[2].date", timedelta(days=1)), ("follower_history[0].date", -timedelta(
        days=9000)), ("follower_history[4].date", timedelta(days=30)),
    ("posts[0].created_at", HOUR), ("posts[1].created_at", -timedelta(days=9000)),
    ("engagements[0].at", -timedelta(days=30)), ("engagements[3].at", timedelta(days=30)),
    ("engagements[1].at", timedelta(minutes=4)),
]


@pytest.mark.parametrize(("path", "by"), SHIFTS)
def test_consistency_shortcut_agrees_with_the_item_by_item_rules(path: str, by) -> None:
    snapshot = _shifted(path, by)
    assert _plainly_consistent(snapshot) == (problems_item_by_item(snapshot) == [])


def test_repeated_post_ids_and_unknown_posts_are_left_to_the_item_by_item_rules() -> None:
    snapshot = validate_json(AccountSnapshot, BASE)
    snapshot.posts[1].post_id = snapshot.posts[0].post_id
    assert not _plainly_consistent(snapshot) and problems_item_by_item(snapshot)
    snapshot = validate_json(AccountSnapshot, BASE)
    snapshot.engagements[2].post_id = "nope"
    assert not _plainly_consistent(snapshot) and problems_item_by_item(snapshot)


@settings(max_examples=60, deadline=None)
@given(snapshots(), st.data())
def test_consistency_shortcut_agrees_on_generated_snapshots(snapshot, data) -> None:
    assert _plainly_consistent(snapshot) and problems_item_by_item(snapshot) == []
    raw = snapshot.model_dump_json().encode()
    assert _verdict(lambda: validate_json(AccountSnapshot, raw)) == _reference(raw)
    if snapshot.engagements:  # an engagement moved before its post
        i = data.draw(st.integers(0, len(snapshot.engagements) - 1))
        snapshot.engagements[i].at -= timedelta(days=20_000)
        assert not _plainly_consistent(snapshot) and problems_item_by_item(snapshot)


def test_a_mutated_document_still_names_the_same_field() -> None:
    raw = json.dumps(mutate(snapshot_dict(), "posts[1].created_at", "2001-01-01T00:00:00Z"))
    verdict = _verdict(lambda: validate_json(AccountSnapshot, raw))
    assert verdict == _reference(raw)
    assert verdict[1][0]["field"] == "posts[1].created_at"
