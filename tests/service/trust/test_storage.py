"""Scored snapshots and trust reports in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import delete, select

from tests.factories import snapshot_dict
from tests.service.conftest import Service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import assert_error, unique_snapshot, write_lock
from tests.service.trust.conftest import count_rows
from trueclout.contract import AccountSnapshot
from trueclout.service.db.engine import Database
from trueclout.service.db.models import StoredAssessment
from trueclout.service.db.snapshots import (
    ENCODING,
    ScoredSnapshot,
    decode_snapshot,
    encode_snapshot,
    find_scored_snapshot,
    store_scored,
)
from trueclout.service.db.trust import (
    NewTrustReport,
    delete_expired_trust_reports,
    find_trust_report,
    store_trust_report,
)
from trueclout.service.scoring.scorer import assessment_json

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _scored(n: int = 1):  # type: ignore[no-untyped-def]
    scorer = DeterministicTestScorer()
    docs = [snapshot_dict(account_id=f"acct-{i}") for i in range(n)]
    snapshots = [AccountSnapshot.model_validate(d) for d in docs]
    assessments = [scorer.assess(s, scored_at=NOW) for s in snapshots]
    return docs, snapshots, [(a, assessment_json(a)) for a in assessments]


def test_snapshots_are_kept_with_their_assessment_until_retention_ends(
    database: Database
) -> None:
    docs, snapshots, items = _scored(2)
    raw = orjson.dumps(docs[0])
    database.call(store_scored, items=items, documents=[raw, docs[1]], snapshots=snapshots,
                  api_key_id=None,
                  stored_at=NOW, retention_days=30)
    first, second = (a.assessment_id for a, _ in items)
    found = database.call(find_scored_snapshot, assessment_id=first, now=NOW)
    assert found.status == "found" and found.snapshot_json == raw
    assert orjson.loads(database.call(find_scored_snapshot, assessment_id=second,
                                      now=NOW).snapshot_json or b"") == docs[1]
    later = NOW + timedelta(days=30)
    assert database.call(find_scored_snapshot, assessment_id=first, now=later).status == \
        "expired"
    assert database.call(find_scored_snapshot, assessment_id="nope", now=NOW).status == \
        "unknown"
    with database.transaction() as session:
        row = session.scalars(select(ScoredSnapshot)
                              .where(ScoredSnapshot.assessment_id == first)).one()
        assert (row.platform, row.account_id, row.size_bytes) == ("twitter", "acct-0", len(raw))
        assert len(row.snapshot) < len(raw)  # compressed


def test_retention_zero_keeps_no_snapshot(database: Database) -> None:
    docs, snapshots, items = _scored(1)
    database.call(store_scored, items=items, documents=docs, snapshots=snapshots,
                  api_key_id=None,
                  stored_at=NOW, retention_days=0)
    with database.transaction() as session:
        assert session.scalar(select(StoredAssessment.assessment_id)) == items[0][0].assessment_id
        assert session.scalars(select(ScoredSnapshot)).all() == []


def test_deleting_an_assessment_deletes_its_snapshot(database: Database) -> None:
    docs, snapshots, items = _scored(2)
    database.call(store_scored, items=items, documents=docs, snapshots=snapshots,
                  api_key_id=None,
                  stored_at=NOW, retention_days=30)
    gone = items[0][0].assessment_id
    with database.transaction() as session:
        session.execute(delete(StoredAssessment).where(StoredAssessment.assessment_id == gone))
    with database.transaction() as session:
        left = session.scalars(select(ScoredSnapshot.assessment_id)).all()
    assert left == [items[1][0].assessment_id]


def _report(report_id: str, expires_at: datetime) -> NewTrustReport:
    return NewTrustReport(report_id=report_id, created_at=NOW, expires_at=expires_at,
                          platform="twitter", account_id="a", handle="anna_k",
                          claimed_score=35, verdict="consistent", assessment_id="x",
                          model_name="m", model_version="1", body='{"report_id": "r"}')


def test_reports_are_found_until_they_expire_and_can_be_purged(database: Database) -> None:
    database.call(store_trust_report, report=_report("live", NOW + timedelta(days=1)),
                  api_key_id=None)
    database.call(store_trust_report, report=_report("old", NOW - timedelta(seconds=1)),
                  api_key_id=None)
    live = database.call(find_trust_report, report_id="live", now=NOW)
    assert (live.status, live.body) == ("found", '{"report_id": "r"}')
    assert database.call(find_trust_report, report_id="old", now=NOW).status == "expired"
    assert database.call(find_trust_report, report_id="none", now=NOW).status == "unknown"
    assert database.call(delete_expired_trust_reports, now=NOW) == 1
    assert database.call(find_trust_report, report_id="old", now=NOW).status == "unknown"
    assert database.call(find_trust_report, report_id="live", now=NOW).status == "found"


def test_scoring_stores_each_snapshot_with_its_assessment(trust_service: Service) -> None:
    good, bad = unique_snapshot(), {**unique_snapshot(), "platform": "myspace"}
    with trust_service.client(trust_service.new_key("platform")) as client:
        one = client.post("/v1/score", json=good).json()["assessment_id"]
        batch = client.post("/v1/score/batch", json={"snapshots": [bad, good]}).json()
    two = batch["results"][1]["assessment"]["assessment_id"]
    assert batch["results"][0]["status"] == "error"
    for assessment_id in (one, two):
        found = trust_service.database.call(find_scored_snapshot, assessment_id=assessment_id,
                                            now=datetime.now(UTC))
        assert found.status == "found"
        assert orjson.loads(found.snapshot_json or b"") == good
    with trust_service.database.transaction() as session:
        row = session.scalars(select(ScoredSnapshot)
                              .where(ScoredSnapshot.assessment_id == one)).one()
        kept = row.expires_at - row.stored_at
    assert kept == timedelta(days=trust_service.settings.snapshot_retention_days)


@pytest.mark.parametrize("store", ["false", "true"])
def test_a_dry_run_or_a_failed_write_keeps_no_snapshot(trust_service: Service,
                                                       store: str) -> None:
    before = count_rows(trust_service, ScoredSnapshot)
    with trust_service.client(trust_service.new_key("platform")) as client:
        if store == "false":
            response = client.post("/v1/score", params={"store": "false"},
                                   json=unique_snapshot())
            assert response.status_code == 200
        else:
            with write_lock(trust_service):
                response = client.post("/v1/score", json=unique_snapshot())
            assert_error(response, 503, "storage_error")
    assert count_rows(trust_service, ScoredSnapshot) == before


def test_snapshots_stored_before_zstd_still_read_back() -> None:
    """Rows written with zlib (the encoding until 2026-12-07) decode as before; new rows are
    zstd; an encoding nobody wrote is refused, not guessed."""
    raw = orjson.dumps(snapshot_dict())
    data, size = encode_snapshot(raw)
    assert (ENCODING, size) == ("zstd", len(raw)) and len(data) < len(raw)
    assert decode_snapshot(data, "zstd") == raw
    assert decode_snapshot(zlib.compress(raw, 1), "zlib") == raw
    with pytest.raises(ValueError, match="unknown snapshot encoding 'br'"):
        decode_snapshot(data, "br")
