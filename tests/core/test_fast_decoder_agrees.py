"""The msgspec fast decoder accepts only what the contract accepts, with the same values.

``fast_contract.decode_snapshot`` returns a decoded snapshot (msgspec Structs) or None
(then the caller runs ``validate_json``, which produces every error).  So for any
body: when the fast path returns a snapshot, ``validate_json`` must accept the body
and give a snapshot equal to its ``as_model`` (``==`` and the same JSON, offsets and
microseconds included); when ``validate_json`` refuses, the fast path must have returned
None.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tests.core.test_contract_shortcuts_agree import CASES, SHIFTS, _shifted
from tests.factories import mutate, snapshot_dict
from tests.hostile_inputs import snapshot_bytes
from tests.strategies import snapshots
from trueclout.contract import (
    AccountSnapshot,
    _passes_load_json,
    describe_errors,
    field_names,
    validate_json,
)
from trueclout.fast_contract import (
    _LONG_FRACTION,
    as_model,
    decode_snapshot,
    read_snapshot_json,
    validate_snapshot_json,
)

KNOWN = field_names(AccountSnapshot)

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "data" / "samples").glob("*.json"))


def _agrees(raw: bytes | str) -> AccountSnapshot | None:
    """The fast verdict, after checking it against ``validate_json``'s."""
    decoded = decode_snapshot(raw)
    fast = as_model(decoded) if decoded is not None else None
    try:
        reference = validate_json(AccountSnapshot, raw)
    except ValidationError:
        assert fast is None, "the fast path accepted a body the contract refuses"
        return None
    assert read_snapshot_json(raw) is not None
    if fast is not None:
        assert type(fast) is AccountSnapshot
        assert fast == reference
        assert fast.model_dump_json() == reference.model_dump_json()
        assert _types(fast) == _types(reference)
    return fast


def _types(snapshot: AccountSnapshot) -> list[Any]:
    """Every value's type and, for times, its UTC offset (``==`` ignores both)."""
    out: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        else:
            offset = getattr(value, "utcoffset", None)
            out.append((type(value).__name__, offset() if callable(offset) else None))

    walk(snapshot)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_the_fast_path_agrees_on_the_bad_input_and_hostile_corpus(name: str) -> None:
    _agrees(CASES[name])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_the_samples_take_the_fast_path_with_equal_snapshots(path: Path) -> None:
    assert _agrees(path.read_bytes()) is not None


def test_the_plain_snapshot_takes_the_fast_path() -> None:
    """Not a speed test: the fast path is actually used for the documents it is for."""
    assert _agrees(snapshot_bytes()) is not None
    assert _agrees(CASES["a bigger valid snapshot"]) is not None


@pytest.mark.parametrize(("path", "by"), SHIFTS)
def test_the_fast_path_agrees_on_the_cross_field_rules(path: str, by) -> None:
    _agrees(_shifted(path, by).model_dump_json().encode())


TIMES = ["2026-11-19T08:00:00Z", "2026-11-19t08:00:00z", "2026-11-19 08:00:00Z",
         "2026-11-19T08:00Z", "2026-11-19T08:00:00.1234567Z", "2026-11-19T08:00:00.9999999Z",
         "2026-11-19T08:00:00.123456789123Z", "2026-11-19T08:00:00.123456Z",
         "2026-11-19T08:00:00.5+05:30", "2026-11-19T08:00:00,5Z", "2026-11-19T08:00:00+0100",
         "2026-11-19T08:00:00-00:00", "2026-11-19T08:00:00+23:59", "2026-11-19T08:00:00+24:00",
         "2026-11-19T08:00:60Z", "2026-11-19T24:00:00Z", "2026-11-19T08:00:00",
         "2026-11-19T08:00:00+01", "2026-11-19T8:00:00Z", "2026-11-19T08:00:00 Z",
         "2026-11-19T08:00:00.Z", "2026-11-19T08:00:00ZZ", "２０２６-11-19T08:00:00Z",
         "2026-11-19T08:00:00Z\n", "2026-11-19", "2026-11-19T08:00:00.000Z",
         "2026-11-19T08:00:00.1234567+01:00", "2026-11-19T08:00:00.123+01:00",
         "1763625600", 1763625600, None, True]
DAYS = ["2026-11-01", "2026-11-01\n", "2026-11-01T00:00:00Z", "2026-1-01", "20261101",
        "2026-02-30", "2026-11-01 ", 20261101, None]
STRINGS = ["x", "", " ", "\u00a0", "\u2003", "\x1c", "\x85", "a\x7fb", "a\x1fb", "a\nb",
           "a\tb", "a\x00b", "\U0001f600" * 128, "\U0001f600" * 129, "é" * 128, "é" * 129,
           "x" * 1000, "x" * 1001, "é" * 1000, "\\", "\"", "a\u2028b", 1, None, True, [], {}]
NUMBERS = [0, 1, -1, -0, 0.0, -0.0, 1.0, 1.5, 100, 100.0, 100.00000000000001, 1e2, 10**12,
           10**12 + 1, 2**63, 2**64, -(2**63) - 1, 1e12, True, False, "1", None, [], {}]
FIELDS = {
    "observed_at": TIMES, "profile.created_at": TIMES, "followers[0].created_at": TIMES,
    "followers[1].followed_at": TIMES, "posts[0].created_at": TIMES,
    "engagements[0].at": TIMES, "follower_history[0].date": DAYS,
    "account_id": STRINGS, "followers[0].account_id": STRINGS, "posts[0].post_id": STRINGS,
    "engagements[0].actor_id": STRINGS, "profile.username": STRINGS,
    "profile.display_name": STRINGS, "profile.bio": STRINGS, "followers[1].location": STRINGS,
    "raw_score": NUMBERS, "profile.followers_count": NUMBERS, "posts[1].likes_count": NUMBERS,
    "follower_history[1].following": NUMBERS, "followers[0].listed_count": NUMBERS,
    "profile.verified": [True, False, None, 0, 1, "true"],
    "followers[0].default_avatar": [True, False, None, 0, "false"],
    "platform": ["twitter", "other", "Twitter", "myspace", None, 1],
    "posts[0].kind": ["original", "quote", "like", None, "ORIGINAL"],
    "engagements[0].kind": ["like", "reply", "original", None],
    "followers": [[], None, {}, "x"], "posts[1]": [None, {}, [], "p"],
}
EDITS = [(path, value) for path, values in FIELDS.items() for value in values]


@pytest.mark.parametrize(("path", "value"), EDITS, ids=[f"{p}={v!r:.20}" for p, v in EDITS])
def test_the_fast_path_agrees_on_one_edited_field(path: str, value: Any) -> None:
    doc = mutate(snapshot_dict(), path, value)
    _agrees(json.dumps(doc).encode())
    _agrees(json.dumps(doc, ensure_ascii=False).encode())  # no escapes: the plain decoder


def test_a_missing_field_and_an_explicit_default_agree() -> None:
    for path in ["profile.display_name", "profile.verified", "posts[0].likes_count", "followers",
                 "followers[0].followed_at", "raw_score", "profile.created_at"]:
        _agrees(json.dumps(mutate(snapshot_dict(), path, ...)).encode())


def test_time_fractions_are_truncated_as_pydantic_does() -> None:
    """msgspec rounds a fraction beyond microseconds; such bodies go to pydantic."""
    doc = mutate(snapshot_dict(), "posts[0].created_at", "2026-11-01T08:00:00.9999999Z")
    raw = json.dumps(doc).encode()
    assert decode_snapshot(raw) is None
    assert validate_snapshot_json(raw) == validate_json(AccountSnapshot, raw)


@pytest.mark.parametrize("spelt", [b"08:00:00\\u002e9999999Z", b"08:00:00.999999\\u00399Z",
                                   b"08:00:00\\u002E1234567Z", b"08\\u003a00:00.9999999Z",
                                   b"08:00:00\\u002e5Z"])
def test_a_long_fraction_spelt_with_escapes_is_left_to_pydantic(spelt: bytes) -> None:
    raw = snapshot_bytes().replace(b"08:00:00Z", spelt, 1)
    assert raw != snapshot_bytes()
    assert decode_snapshot(raw) is None
    _agrees(raw)
    assert validate_snapshot_json(raw) == validate_json(AccountSnapshot, raw)


def test_refused_bodies_get_the_reference_errors() -> None:
    for raw in [snapshot_bytes("profile.followers_count", -1), b"{", b"[]",
                snapshot_bytes("engagements[2].post_id", "nope")]:
        with pytest.raises(ValidationError) as reference:
            validate_json(AccountSnapshot, raw)
        for read in (validate_snapshot_json, read_snapshot_json):
            with pytest.raises(ValidationError) as fast:
                read(raw)
            assert describe_errors(fast.value) == describe_errors(reference.value)


@settings(max_examples=80, deadline=None)
@given(snapshots())
def test_generated_snapshots_take_the_fast_path_with_equal_values(snapshot) -> None:
    raw = snapshot.model_dump_json().encode()
    fast = _agrees(raw)
    # Only the shared pre-check (an escaped backslash, say) or a long fraction sends a
    # valid snapshot to pydantic.
    assert fast is not None or not _passes_load_json(raw, KNOWN) or _LONG_FRACTION.search(raw)
    _agrees(json.dumps(json.loads(raw)).encode())  # escaped non-ASCII: the checked decoder


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(TIMES + DAYS + STRINGS[:12]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FIELDS) + ["followers[1].username", "posts[1].replies_count",
                                         "reposts_made", "engagements[1].post_id",
                                         "follower_history[0].followers"]),
       JSON_VALUES, st.booleans())
def test_the_fast_path_agrees_on_generated_edits(path: str, value: Any, ascii_only: bool
                                                  ) -> None:
    doc = mutate(snapshot_dict(), path, value)
    _agrees(json.dumps(doc, ensure_ascii=ascii_only).encode())


def test_an_engagement_moved_before_its_post_is_left_to_pydantic() -> None:
    snapshot = validate_json(AccountSnapshot, snapshot_bytes())
    snapshot.engagements[0].at -= timedelta(days=20_000)
    assert _agrees(snapshot.model_dump_json().encode()) is None


def _bodies_for_scoring() -> list[bytes]:
    return [*(p.read_bytes() for p in SAMPLES), snapshot_bytes(),
            json.dumps(mutate(snapshot_dict(), "observed_at", "2026-11-20T09:30:00+01:30")
                       ).encode()]


def test_the_fast_path_gives_the_same_tables() -> None:
    """Same Arrow tables (values, types, time zones) from both snapshots."""
    from trueclout.tables import snapshots_to_tables

    for raw in _bodies_for_scoring():
        fast = decode_snapshot(raw)
        assert fast is not None
        a = snapshots_to_tables([fast])
        b = snapshots_to_tables([validate_json(AccountSnapshot, raw)])
        for name, table in a.items():
            assert table.schema == b[name].schema and table.equals(b[name]), name


def _assert_same_assessments(raws: list[bytes]) -> None:
    """The shipped model scores the decoded Structs (the API's reading) and the reference
    path's pydantic snapshots identically."""
    from tests.service.model_support import shipped_model
    from trueclout.service.scoring.assess import assess_snapshots

    fast = [decode_snapshot(raw) for raw in raws]
    assert all(s is not None for s in fast)
    reference = [validate_json(AccountSnapshot, raw) for raw in raws]
    at = max(s.observed_at for s in reference) + timedelta(hours=1)

    def scored(snapshots: list[Any]) -> list[str]:  # without the random assessment_id
        return [a.model_dump_json(exclude={"assessment_id"}) for a in assess_snapshots(
            snapshots, shipped_model(), graph=None, scored_at=at)]

    assert scored(fast) == scored(reference)


def test_the_fast_path_gives_the_same_assessments() -> None:
    """On the samples and the benchmark's kind of snapshot (issue 17's done-when)."""
    _assert_same_assessments(_bodies_for_scoring())


def test_the_fast_path_gives_the_same_assessments_on_a_simulated_world() -> None:
    """Every account of a simulated world (organic, bought, pods, growth, churn), as the
    JSON a platform would send (issue 17's done-when)."""
    from trueclout.tables import tables_to_snapshots
    from trueclout.training.sim.world import simulate_world

    world = simulate_world(60, seed=17)
    raws = [s.model_dump_json().encode() for s in tables_to_snapshots(world.tables)]
    _assert_same_assessments(raws)


def test_keys_checked_skips_only_the_repeated_key_check() -> None:
    """For bytes inside a document validate_json accepted (a batch envelope): the same
    Struct as the full check gives, and a repeated key, which such a document cannot hold,
    is the one thing no longer looked for."""
    raw = snapshot_bytes()
    assert decode_snapshot(raw, keys_checked=True) == decode_snapshot(raw)
    repeated = raw.replace(b'{"account_id":', b'{"account_id":"x","account_id":', 1)
    assert repeated != raw
    assert decode_snapshot(repeated) is None
    assert decode_snapshot(repeated, keys_checked=True) is not None
