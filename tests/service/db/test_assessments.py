"""Stored assessments round-trip exactly, times stay UTC-aware, cursors are checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.factories import snapshot_dict
from tests.service.doubles import DeterministicTestScorer
from trueclout.contract import AccountSnapshot
from trueclout.service.db.assessments import HistoryCursor, account_history, store_assessments
from trueclout.service.db.engine import Database
from trueclout.service.scoring.scorer import assessment_json


def test_times_and_bodies_round_trip(database: Database) -> None:
    snap = AccountSnapshot.model_validate(snapshot_dict(account_id="rt"))
    # A non-UTC offset and microseconds must come back as the same instant, in UTC.
    when = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=timezone(timedelta(hours=5)))
    assessment = DeterministicTestScorer().assess(snap, scored_at=when)
    body = assessment_json(assessment)
    database.call(store_assessments, items=[(assessment, body)], api_key_id=None)
    rows, cursor = database.call(account_history, platform="twitter", account_id="rt", limit=5)
    (row,) = rows
    assert cursor is None
    assert row.scored_at == when and row.scored_at.tzinfo == UTC
    assert row.body == body
    assert row.tactics == assessment.tactics.model_dump()


def test_cursors_round_trip_and_reject_anything_else() -> None:
    cursor = HistoryCursor(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), 42)
    assert HistoryCursor.decode(cursor.encode()) == cursor
    for bad in ("", "zzz", "bm90LWEtY3Vyc29y", HistoryCursor(cursor.scored_at, 1).encode()[:-3]):
        with pytest.raises(ValueError, match="not a cursor"):
            HistoryCursor.decode(bad)
