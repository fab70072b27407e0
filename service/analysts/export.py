"""Feedback labels -> a labelled snapshot set in the training format (`trueclout feedback export`).

The folder written is exactly what ``trueclout train`` reads (SNAPSHOT.md,
"Labels"): the six snapshot tables (``trueclout.io.TablesWriter``) and
``labels.parquet`` with ``account_id``, one 0/1 column per tactic,
``group_id`` and ``kind``, plus ``label_source``, ``platform``,
``feedback_id``, ``assessment_id`` and ``labelled_at`` for the record; and
``manifest.json`` with what was exported and what was skipped, and why.

- Labels that were not rejected and were filed since ``since`` take part;
  for each account the **latest** label wins (an analyst's later judgement
  replaces an earlier one); the others are counted as superseded.
- Each label is joined with the snapshot its assessment was computed from.
  A snapshot past its retention (or purged) cannot be exported: counted and
  skipped, as are labels with no stored assessment (from a dispute about an
  account no platform stored) and stored snapshots that no longer pass the
  contract.
- ``confirmed_manipulation`` sets its tactics to 1 and the others to 0;
  ``false_positive`` and ``confirmed_genuine`` set every tactic to 0.
  ``kind`` is the label's name, so reports slice by it.
- ``group_id`` is empty: each account is its own group.
- Account ids must be unique in a snapshot set; an id used on two platforms
  becomes ``platform:id`` in both the snapshot and the labels.

The folder appears whole or not at all (written aside, then renamed); an
existing folder is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from trueclout.assessment import TACTICS
from trueclout.contract import MAX_ID, AccountSnapshot
from trueclout.errors import UserError
from trueclout.io import LABELS_FILE, TablesWriter
from trueclout.service.db.engine import Database
from trueclout.service.db.feedback import FeedbackItem, labels_since
from trueclout.service.db.snapshots import ScoredSnapshot, decode_snapshot
from trueclout.tables import snapshots_to_tables

CHUNK_LABELS = 500
MANIFEST_FILE = "manifest.json"

LABELS_SCHEMA = pa.schema([
    ("account_id", pa.string()),
    *((t, pa.int8()) for t in TACTICS),
    ("group_id", pa.string()),
    ("kind", pa.string()),
    ("label_source", pa.string()),
    ("platform", pa.string()),
    ("feedback_id", pa.string()),
    ("assessment_id", pa.string()),
    ("labelled_at", pa.timestamp("us", tz="UTC")),
])


@dataclass
class ExportSummary:
    """What an export wrote and what it skipped (the manifest)."""

    since: str | None
    exported_at: str
    labels_considered: int = 0
    superseded: int = 0
    exported: int = 0
    snapshot_expired: int = 0
    no_stored_assessment: int = 0
    snapshot_invalid: int = 0
    renamed: int = 0
    by_label: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return self.snapshot_expired + self.no_stored_assessment + self.snapshot_invalid

    def to_json(self) -> dict[str, Any]:
        return {"format": "trueclout-feedback-export", **asdict(self),
                "rule": "latest label per account; rejected labels excluded"}


def latest_per_account(labels: Sequence[FeedbackItem]) -> list[FeedbackItem]:
    """The latest label of each account, in filing order (labels come oldest first)."""
    latest: dict[tuple[str, str], FeedbackItem] = {}
    for label in labels:
        latest[(label.platform, label.account_id)] = label
    return sorted(latest.values(), key=lambda item: (item.created_at, item.id))


def export_ids(labels: Sequence[FeedbackItem]) -> dict[tuple[str, str], str]:
    """The account id each exported account gets: its own, or ``platform:id`` on a clash."""
    platforms: dict[str, set[str]] = {}
    for label in labels:
        platforms.setdefault(label.account_id, set()).add(label.platform)
    out = {}
    for label in labels:
        key = (label.platform, label.account_id)
        clash = len(platforms[label.account_id]) > 1
        out[key] = f"{label.platform}:{label.account_id}"[:MAX_ID] if clash else label.account_id
    return out


def _snapshots_of(*, session: Session, assessment_ids: list[str]) -> dict[str, Any]:
    rows = session.execute(
        select(ScoredSnapshot.assessment_id, ScoredSnapshot.snapshot,
               ScoredSnapshot.content_encoding, ScoredSnapshot.expires_at)
        .where(ScoredSnapshot.assessment_id.in_(assessment_ids)))
    return {row.assessment_id: row for row in rows}


def _label_row(label: FeedbackItem, account_id: str) -> dict[str, Any]:
    tactics = set(label.tactics or []) if label.label == "confirmed_manipulation" else set()
    return {"account_id": account_id, **{t: int(t in tactics) for t in TACTICS},
            "group_id": None, "kind": label.label,
            "label_source": "dispute" if label.derived_from else "analyst",
            "platform": label.platform, "feedback_id": label.item_id,
            "assessment_id": label.assessment_id, "labelled_at": label.created_at}


def export_feedback(
    database: Database,
    *,
    out: Path,
    since: datetime | None,
    now: datetime,
    on_progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the labelled snapshot set of the feedback filed since ``since`` into ``out``."""
    out = Path(out)
    if out.exists():
        raise UserError(f"{out} already exists; choose a new folder for the export")
    summary = ExportSummary(since=since.isoformat() if since else None,
                            exported_at=now.isoformat())
    labels = database.call(labels_since, since=since)
    summary.labels_considered = len(labels)
    chosen = latest_per_account(labels)
    summary.superseded = len(labels) - len(chosen)
    ids = export_ids(chosen)
    summary.renamed = sum(ids[k] != k[1] for k in ids)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    rows: list[dict[str, Any]] = []
    try:
        with TablesWriter(staging) as writer:
            for start in range(0, len(chosen), CHUNK_LABELS):
                part = chosen[start:start + CHUNK_LABELS]
                snapshots = _export_chunk(database, part, ids, now, summary, rows)
                if snapshots:
                    writer.write(snapshots_to_tables(snapshots))
                if on_progress is not None:
                    on_progress(len(part))
        if not rows:
            raise UserError(_nothing_to_export(summary))
        pq.write_table(pa.Table.from_pylist(rows, schema=LABELS_SCHEMA), staging / LABELS_FILE)
        (staging / MANIFEST_FILE).write_text(
            json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return summary


def _export_chunk(database: Database, labels: Sequence[FeedbackItem],
                  ids: dict[tuple[str, str], str], now: datetime, summary: ExportSummary,
                  rows: list[dict[str, Any]]) -> list[AccountSnapshot]:
    wanted = [label.assessment_id for label in labels if label.assessment_id]
    stored = database.call(_snapshots_of, assessment_ids=wanted) if wanted else {}
    snapshots = []
    for label in labels:
        if label.assessment_id is None:
            summary.no_stored_assessment += 1
            continue
        row = stored.get(label.assessment_id)
        if row is None or row.expires_at <= now:
            summary.snapshot_expired += 1
            continue
        try:
            snapshot = AccountSnapshot.model_validate_json(
                decode_snapshot(row.snapshot, row.content_encoding))
        except (ValidationError, ValueError):
            summary.snapshot_invalid += 1
            continue
        account_id = ids[(label.platform, label.account_id)]
        if account_id != snapshot.account_id:
            snapshot = snapshot.model_copy(update={"account_id": account_id})
        snapshots.append(snapshot)
        rows.append(_label_row(label, account_id))
        summary.exported += 1
        summary.by_label[label.label or ""] = summary.by_label.get(label.label or "", 0) + 1
    return snapshots


def _nothing_to_export(summary: ExportSummary) -> str:
    since = f" since {summary.since}" if summary.since else ""
    if not summary.labels_considered:
        return f"no feedback labels were filed{since}; nothing to export"
    return (f"none of the {summary.labels_considered} label(s){since} could be exported: "
            f"{summary.snapshot_expired} snapshot(s) past retention, "
            f"{summary.no_stored_assessment} without a stored assessment, "
            f"{summary.snapshot_invalid} no longer valid")
