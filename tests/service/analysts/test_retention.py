"""Retention on SQLite and PostgreSQL: expired data goes, one account's data goes, nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tests.service.conftest import BACKENDS, migrated_database, start_service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import unique_snapshot
from trueclout.cli import main
from trueclout.contract import AccountSnapshot
from trueclout.service.analysts.retention import purge_account, purge_expired
from trueclout.service.db import migrate
from trueclout.service.db.edges import GraphSource
from trueclout.service.db.engine import Database
from trueclout.service.db.feedback import FeedbackItem, PurgeRecord, insert_item
from trueclout.service.db.idempotency import (
    IdempotencyAccount,
    IdempotencyClaim,
    IdempotencyRecord,
    RecordedAnswer,
    record_answer,
)
from trueclout.service.db.keys import create_key
from trueclout.service.db.models import ApiKey, StoredAssessment
from trueclout.service.db.snapshots import ScoredSnapshot, store_scored
from trueclout.service.db.trust import NewTrustReport, StoredTrustReport, store_trust_report
from trueclout.service.scoring.scorer import assessment_json
from trueclout.settings import Settings, get_settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RETENTION = 90
TABLES = (ApiKey, StoredAssessment, ScoredSnapshot, StoredTrustReport, FeedbackItem, GraphSource,
          IdempotencyRecord)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database at the newest revision, per backend."""
    with migrated_database(request.param, tmp_path) as db:
        yield db


def dump(database: Database) -> dict[str, set[tuple]]:
    """Every row of every table this module touches, as comparable tuples."""
    out = {}
    with database.transaction() as session:
        for model in TABLES:
            columns = list(model.__table__.columns)
            out[model.__tablename__] = {tuple(str(row[i]) for i in range(len(columns)))
                                        for row in session.execute(select(*columns))}
    return out


def store_account(database: Database, account_id: str, *, stored_at: datetime,
                  key_id: int | None = None) -> str:
    """One scored assessment of ``account_id`` with its snapshot; its assessment id."""
    document = unique_snapshot()
    document["account_id"] = account_id
    snapshot = AccountSnapshot.model_validate(document)
    assessment = DeterministicTestScorer().assess(snapshot, scored_at=stored_at)
    database.call(store_scored, items=[(assessment, assessment_json(assessment))],
                  documents=[orjson.dumps(document)], snapshots=[snapshot], api_key_id=key_id,
                  stored_at=stored_at, retention_days=RETENTION)
    return assessment.assessment_id


def store_report(database: Database, account_id: str, report_id: str, *,
                 expires_at: datetime) -> None:
    database.call(store_trust_report, api_key_id=None, report=NewTrustReport(
        report_id=report_id, created_at=expires_at - timedelta(days=30), expires_at=expires_at,
        platform="twitter", account_id=account_id, handle="anna_k", claimed_score=40,
        verdict="consistent", assessment_id="x" * 32, model_name="m", model_version="1",
        body="{}"))


def store_feedback(database: Database, account_id: str, assessment_id: str | None,
                   kind: str) -> None:
    database.call(insert_item, kind=kind, status="open",
                  label="confirmed_genuine" if kind == "label" else None,
                  tactics=[] if kind == "label" else None, note="a note",
                  contact="me@example.org" if kind == "dispute" else None, platform="twitter",
                  account_id=account_id, assessment_id=assessment_id,
                  report_id="r" * 43 if kind == "dispute" else None, created_at=NOW)


def store_answer(database: Database, key_id: int, account_id: str, *, at: datetime) -> None:
    """An answer recorded for an Idempotency-Key (it expires a day after ``at``)."""
    claim = IdempotencyClaim(api_key_id=key_id, key=f"{account_id}-{at.isoformat()}",
                             route="score", body_sha256="0" * 64)
    database.call(record_answer, claim=claim, now=at, accounts=[("twitter", account_id)],
                  answer=RecordedAnswer(200, orjson.dumps({"account_id": account_id})))


def populate(database: Database) -> dict[str, Any]:
    key_id = database.call(lambda *, session: create_key(
        session=session, scopes=["platform"], name="p")[0].id)
    old = NOW - timedelta(days=RETENTION + 1)
    ids = {
        "a_old": store_account(database, "acct-a", stored_at=old, key_id=key_id),
        "a_new": store_account(database, "acct-a", stored_at=NOW - timedelta(days=1)),
        "b_new": store_account(database, "acct-b", stored_at=NOW - timedelta(days=2)),
    }
    store_report(database, "acct-a", "A" * 43, expires_at=NOW - timedelta(seconds=1))
    store_report(database, "acct-a", "a" * 43, expires_at=NOW + timedelta(days=3))
    store_report(database, "acct-b", "B" * 43, expires_at=NOW + timedelta(days=3))
    for account, assessment in (("acct-a", ids["a_new"]), ("acct-b", ids["b_new"])):
        store_feedback(database, account, assessment, "label")
        store_feedback(database, account, None, "dispute")
    store_answer(database, key_id, "acct-a", at=NOW - timedelta(hours=25))  # expired
    store_answer(database, key_id, "acct-a", at=NOW - timedelta(hours=1))
    store_answer(database, key_id, "acct-b", at=NOW - timedelta(hours=1))
    return ids


def test_expired_snapshots_and_reports_go_and_nothing_else(database: Database) -> None:
    ids = populate(database)
    before = dump(database)
    counts = purge_expired(database, now=NOW, batch=1)  # batches of one: the loop is exercised
    after = dump(database)
    # acct-a's graph source came from its newer snapshot, which is still kept.
    assert counts == {"scored_snapshots": 1, "trust_reports": 1, "graph_sources": 0,
                      "idempotency_keys": 1}
    gone = {name: before[name] - after[name] for name in before}
    assert after[ScoredSnapshot.__tablename__] <= before[ScoredSnapshot.__tablename__]
    assert [row for row in gone["scored_snapshots"] if ids["a_old"] in row]
    assert len(gone["scored_snapshots"]) == 1 and len(gone["trust_reports"]) == 1
    assert all(not gone[name] for name in ("api_keys", "assessments", "feedback_items"))
    assert all(not (after[name] - before[name]) for name in before)  # nothing changed either
    with database.transaction() as session:
        [record] = session.scalars(select(PurgeRecord)).all()
    assert (record.scope, record.counts) == ("expired", counts)
    assert purge_expired(database, now=NOW) == {"scored_snapshots": 0, "trust_reports": 0,
                                                 "graph_sources": 0, "idempotency_keys": 0}


def test_one_accounts_data_goes_in_one_transaction_and_the_rest_stays(database: Database
                                                                      ) -> None:
    populate(database)
    before = dump(database)
    counts = database.call(purge_account, platform="twitter", account_id="acct-a", now=NOW,
                           requested_by="test")
    after = dump(database)
    assert counts == {"scored_snapshots": 2, "assessments": 2, "trust_reports": 2,
                      "feedback_items": 2, "graph_sources": 1, "idempotency_keys": 2}
    for name, rows in after.items():
        assert rows <= before[name], name  # nothing added or changed
        assert not [row for row in rows if "acct-a" in row], name  # nothing of acct-a left
        assert len(before[name] - rows) == counts.get(name, 0), name
    with database.transaction() as session:
        [record] = session.scalars(select(PurgeRecord)).all()
        answers_about = session.scalars(select(IdempotencyAccount.account_id)).all()
    assert answers_about == ["acct-b"]  # the recorded answers' accounts went with them
    assert record.counts == counts and record.scope == "account"
    assert "acct-a" not in orjson.dumps(record.counts).decode() + record.requested_by


def test_a_failed_account_purge_leaves_everything(database: Database) -> None:
    populate(database)
    before = dump(database)

    def purge_then_fail(*, session: Any) -> None:
        purge_account(session=session, platform="twitter", account_id="acct-a", now=NOW)
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        database.call(purge_then_fail)
    assert dump(database) == before


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch, database: Database) -> Iterator[Database]:
    monkeypatch.setenv("TRUECLOUT_DATABASE_URL",
                       database.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def test_the_purge_command(cli_on: Database, capsys: pytest.CaptureFixture[str]) -> None:
    populate(cli_on)
    assert main(["purge", "--account", "twitter:acct-b", "--dry-run"]) == 0
    assert "would delete 1 scored_snapshots, 1 assessments, 1 trust_reports, 2 feedback_items" \
        in capsys.readouterr().out
    assert main(["purge", "--account", "twitter:acct-b"]) == 0
    assert "deleted 1 scored_snapshots, 1 assessments" in capsys.readouterr().out
    assert main(["purge", "--account", "twitter:acct-b"]) == 0
    assert "nothing was stored about this account" in capsys.readouterr().err
    assert main(["purge", "--expired"]) == 0  # the old snapshot of acct-a is past retention
    assert "deleted 1 scored_snapshots" in capsys.readouterr().out
    for args, message in ((["purge"], "give either --expired or --account"),
                          (["purge", "--expired", "--account", "twitter:1"], "give either"),
                          (["purge", "--account", "12345"], "must be PLATFORM:ID"),
                          (["purge", "--account", "friendster:1"], "unknown platform"),
                          (["purge", "--expired", "--dry-run"], "--account only")):
        assert main(args) == 2, args
        assert message in capsys.readouterr().err


def test_the_server_purges_expired_data_when_it_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trueclout.db'}"
    database = Database.from_settings(Settings(data_dir=tmp_path, database_url=url))
    migrate.upgrade(database.engine)
    expired = store_account(database, "acct-old",
                            stored_at=datetime.now(UTC) - timedelta(days=RETENTION + 1))
    database.dispose()
    with start_service("sqlite", tmp_path, purge_interval_hours=24) as service:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with service.database.transaction() as session:
                left = session.scalars(select(ScoredSnapshot.assessment_id)).all()
            if not left:
                break
            time.sleep(0.05)
        assert expired not in left
        with service.database.transaction() as session:
            assert session.scalars(select(StoredAssessment.assessment_id)).all() == [expired]
