"""Retention: what the service keeps, for how long, and how one account's data is erased.

- **Expired data** (``purge_expired``): scored snapshots past
  ``TRUECLOUT_SNAPSHOT_RETENTION_DAYS`` (their compressed JSON is in the row,
  so it goes with it), the edges those snapshots added to the edge store
  (``db.edges``) and trust-check reports past their expiry.  Assessments
  (the audit record) stay.  Deleted in batches, one transaction each, so a
  large purge never holds a long lock; the server runs it at start-up and
  every ``TRUECLOUT_PURGE_INTERVAL_HOURS`` (``PeriodicPurge``), and
  ``trueclout purge --expired`` runs it on demand.
- **One account, on request** (``purge_account``): every stored snapshot,
  assessment, trust-check report, feedback label and dispute of that
  platform account, and the edges its snapshots added, in one transaction: all of it or nothing.

Each purge leaves one row in ``purge_log``: when, what scope, who asked, and
how many rows each table lost; never which account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trueclout.contract import PLATFORMS
from trueclout.errors import UserError
from trueclout.files import utc_now
from trueclout.service.db.edges import (
    GraphSource,
    delete_account_sources,
    delete_expired_sources,
)
from trueclout.service.db.engine import Database
from trueclout.service.db.feedback import FeedbackItem, PurgeRecord
from trueclout.service.db.idempotency import delete_account_answers, delete_expired_answers
from trueclout.service.db.models import StoredAssessment
from trueclout.service.db.snapshots import ScoredSnapshot
from trueclout.service.db.trust import StoredTrustReport, delete_expired_trust_reports
from trueclout.service.runtime.tasks import PeriodicLoop

log = logging.getLogger("trueclout.service")

BATCH_ROWS = 5_000
# Each graph source holds up to 120,000 edge rows (a full snapshot): fewer per batch.
GRAPH_BATCH_SOURCES = 200


def _log_purge(session: Session, *, scope: str, counts: dict[str, int], now: datetime,
               requested_by: str) -> None:
    session.add(PurgeRecord(at=now, scope=scope, counts=dict(counts),
                            requested_by=requested_by[:200]))


def _delete_expired_snapshot_batch(*, session: Session, now: datetime, batch: int) -> int:
    ids = select(ScoredSnapshot.id).where(ScoredSnapshot.expires_at <= now).limit(batch)
    result = session.execute(delete(ScoredSnapshot).where(ScoredSnapshot.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(database: Database, *, now: datetime | None = None,
                  requested_by: str = "trueclout purge", batch: int = BATCH_ROWS,
                  on_batch: Callable[[int], None] | None = None) -> dict[str, int]:
    """Delete expired snapshots (in batches) and expired trust reports; the counts deleted."""
    now = now or utc_now()
    snapshots = 0
    while True:
        deleted = database.call(_delete_expired_snapshot_batch, now=now, batch=batch)
        snapshots += deleted
        if on_batch is not None and deleted:
            on_batch(deleted)
        if deleted < batch:
            break
    graph_sources = 0
    while True:  # an account's edges go with the snapshot that wrote them
        deleted = database.call(delete_expired_sources, now=now, batch=GRAPH_BATCH_SOURCES)
        graph_sources += deleted
        if deleted < GRAPH_BATCH_SOURCES:
            break
    reports = database.call(delete_expired_trust_reports, now=now)
    answers = database.call(delete_expired_answers, now=now)
    counts = {"scored_snapshots": snapshots, "trust_reports": reports,
              "graph_sources": graph_sources, "idempotency_keys": answers}
    if any(counts.values()):  # a purge that found nothing leaves no trace
        database.call(_log_purge, scope="expired", counts=counts, now=now,
                      requested_by=requested_by)
    return counts


def parse_account(text: str) -> tuple[str, str]:
    """``PLATFORM:ID`` (the id may itself contain colons) -> (platform, id); else UserError."""
    platform, sep, account_id = text.partition(":")
    if not sep or not account_id:
        raise UserError(f"--account must be PLATFORM:ID (for example twitter:12345), not {text!r}")
    if platform not in PLATFORMS:
        raise UserError(f"--account: unknown platform {platform!r}; one of "
                        + ", ".join(PLATFORMS))
    return platform, account_id


def account_counts(*, session: Session, platform: str, account_id: str) -> dict[str, int]:
    """How many rows of each table hold this account's data (what a purge would remove)."""
    tables = {"scored_snapshots": ScoredSnapshot, "assessments": StoredAssessment,
              "trust_reports": StoredTrustReport, "feedback_items": FeedbackItem,
              "graph_sources": GraphSource}
    return {name: int(session.scalar(
        select(func.count()).select_from(model)
        .where(model.platform == platform, model.account_id == account_id)) or 0)
        for name, model in tables.items()}


def purge_account(*, session: Session, platform: str, account_id: str, now: datetime,
                  requested_by: str = "trueclout purge") -> dict[str, int]:
    """Erase every stored row about one account, in the caller's (single) transaction."""
    counts: dict[str, int] = {}
    # Snapshots first: they reference the assessments.
    for name, model in (("scored_snapshots", ScoredSnapshot),
                        ("assessments", StoredAssessment),
                        ("trust_reports", StoredTrustReport),
                        ("feedback_items", FeedbackItem)):
        result = session.execute(delete(model).where(model.platform == platform,
                                                     model.account_id == account_id))
        counts[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    counts["graph_sources"] = delete_account_sources(session=session, platform=platform,
                                                     account_id=account_id)
    counts["idempotency_keys"] = delete_account_answers(session=session, platform=platform,
                                                        account_id=account_id)
    _log_purge(session, scope="account", counts=counts, now=now, requested_by=requested_by)
    return counts


class PeriodicPurge:
    """The server's own purge of expired data: at start-up, then every ``interval_hours``.

    Runs in a worker thread; a failure is logged and retried at the next turn,
    never raised into the server.  With several workers each runs it; the
    deletes are idempotent, so they only share the work.
    """

    def __init__(self, database: Database, interval_hours: float) -> None:
        self.database = database
        self._loop = PeriodicLoop("trueclout-purge", interval_hours * 3600.0, self._turn,
                                  failure="the periodic purge failed; it will be retried",
                                  log=log)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _turn(self) -> None:
        from starlette.concurrency import run_in_threadpool

        counts = await run_in_threadpool(purge_expired, self.database,
                                         requested_by="server (periodic)")
        (log.info if any(counts.values()) else log.debug)(
            "purged expired data", extra={"fields": counts})
