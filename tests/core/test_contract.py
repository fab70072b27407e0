"""The AccountSnapshot contract: every rule of SNAPSHOT.md, each error naming its field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tests.factories import iso, mutate, snapshot_dict
from tests.hostile_inputs import BAD_FIELDS, HOSTILE, Hostile
from trueclout.contract import (
    MAX_ERRORS_SHOWN,
    MAX_FOLLOWERS,
    AccountSnapshot,
    describe_errors,
    field_names,
    validate_json,
)


def errors_of(doc) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as info:
        AccountSnapshot.model_validate_json(json.dumps(doc))
    return describe_errors(info.value)


def test_valid_snapshot_parses() -> None:
    snap = AccountSnapshot.model_validate_json(json.dumps(snapshot_dict()))
    assert snap.profile.username == "anna_k"
    assert len(snap.engagements) == 4


def test_lists_and_optionals_may_be_missing() -> None:
    doc = snapshot_dict()
    for key in ("follower_history", "followers", "posts", "engagements", "reposts_made",
                "raw_score"):
        doc.pop(key)
    snap = AccountSnapshot.model_validate_json(json.dumps(doc))
    assert snap.posts == [] and snap.raw_score is None


@pytest.mark.parametrize(("path", "value", "field", "reason_part"), BAD_FIELDS)
def test_bad_snapshots_name_the_field(path, value, field, reason_part) -> None:
    errs = errors_of(mutate(snapshot_dict(), path, value))
    assert any(e["field"] == field and reason_part in e["reason"] for e in errs), errs


def test_engagement_before_its_post_is_rejected() -> None:
    doc = snapshot_dict()
    doc["engagements"][0]["at"] = iso(datetime(2026, 1, 1, tzinfo=UTC))
    errs = errors_of(doc)
    assert {"engagements[0].at"} <= {e["field"] for e in errs}
    assert any("before the post" in e["reason"] for e in errs)


def test_duplicate_history_dates_are_rejected() -> None:
    doc = snapshot_dict()
    doc["follower_history"][3]["date"] = doc["follower_history"][1]["date"]
    errs = errors_of(doc)
    assert errs == [{"field": "follower_history[3].date", "reason": "repeats a date",
                     "type": "duplicate"}]


def test_observed_at_in_the_future_is_rejected() -> None:
    future = datetime.now(UTC) + timedelta(days=2)
    doc = snapshot_dict(observed=future)
    errs = errors_of(doc)
    assert any(e["field"] == "observed_at" and "future" in e["reason"] for e in errs)


def test_times_after_observation_are_rejected() -> None:
    doc = snapshot_dict()
    doc["posts"][0]["created_at"] = iso(datetime(2026, 11, 21, tzinfo=UTC))
    errs = errors_of(doc)
    assert any(e["field"] == "posts[0].created_at" for e in errs)


def test_oversize_list_is_rejected() -> None:
    doc = snapshot_dict(followers=1)
    doc["followers"] = doc["followers"] * (MAX_FOLLOWERS + 1)
    errs = errors_of(doc)
    assert any(e["field"] == "followers" and "at most 5000" in e["reason"] for e in errs)


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = mutate(snapshot_dict(), "profile.followers_count", -1)
    doc = mutate(doc, "engagements[0].post_id", "zzz")
    fields = {e["field"] for e in errors_of(doc)}
    assert {"profile.followers_count"} <= fields


@pytest.mark.parametrize(
    ("path", "value"),
    [("account_id", "a\x00b"), ("engagements[0].actor_id", "x\ny"), ("profile.bio", "hi\x00"),
     ("profile.username", "\x00")],
)
def test_control_characters_are_rejected_where_no_store_keeps_them(path, value) -> None:
    errs = errors_of(mutate(snapshot_dict(), path, value))
    assert any(e["field"] == path and "characters" in e["reason"] for e in errs), errs


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_hostile_bodies_are_refused_naming_the_path(case: Hostile) -> None:
    with pytest.raises(ValidationError) as info:
        validate_json(AccountSnapshot, case.body())
    errs = describe_errors(info.value)
    assert [(e["field"], e["type"]) for e in errs] == [(case.field, case.kind)], errs


def test_a_million_unknown_keys_stop_parsing_with_one_short_error() -> None:
    keys = ", ".join(f'"k{i}": 1' for i in range(1_000_000))
    body = json.dumps(snapshot_dict()).encode()[:-1] + b", " + keys.encode() + b"}"
    with pytest.raises(ValidationError) as info:
        validate_json(AccountSnapshot, body)
    [error] = describe_errors(info.value)
    assert error["type"] == "too_many_keys" and "1000010 keys" in error["reason"]


def test_the_error_list_is_capped_with_a_count_of_the_rest() -> None:
    doc = snapshot_dict()
    doc["followers"] = [dict(doc["followers"][0], followers_count=-1, following_count=-1,
                             account_id=f"f{i}") for i in range(40)]
    errs = errors_of(doc)
    assert len(errs) == MAX_ERRORS_SHOWN + 1
    assert errs[-1] == {"field": "(document)", "reason": "and 30 more problem(s) not listed",
                        "type": "too_many_errors"}


def test_python_callers_get_the_same_strict_types() -> None:
    """Batch items and the /trust form validate parsed JSON: RFC 3339 text is a time there
    too, and a unix number still is not."""
    assert AccountSnapshot.model_validate(snapshot_dict()).profile.username == "anna_k"
    for path, value in (("observed_at", 1_763_625_600), ("profile.posts_count", "3"),
                        ("profile.verified", 1)):
        with pytest.raises(ValidationError) as info:
            AccountSnapshot.model_validate(mutate(snapshot_dict(), path, value))
        assert [e["field"] for e in describe_errors(info.value)] == [path]


def test_free_form_models_have_no_closed_key_set() -> None:
    assert "followers_count" in (field_names(AccountSnapshot) or ())

    class Envelope(BaseModel):
        snapshots: list[Any]

    assert field_names(Envelope) is None  # its items' keys are not its own
