"""The AccountSnapshot contract: every rule of SNAPSHOT.md, each error naming its field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.factories import iso, mutate, snapshot_dict
from trueclout.contract import MAX_FOLLOWERS, AccountSnapshot, describe_errors


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


@pytest.mark.parametrize(
    ("path", "value", "field", "reason_part"),
    [
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
    ],
)
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
