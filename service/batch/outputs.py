"""The Parquet layout of batch assessments, and writers that never leave half a file.

One row per account, columns named after the Assessment contract's wire
names (``trueclout.assessment``): scalars are flat columns, lists and
optional objects are nested Arrow columns (Parquet stores them natively):

========================== ==================================================================
column                     Assessment field
========================== ==================================================================
``assessment_id``          ``assessment_id``
``account_id``             ``account_id``
``platform``               ``platform``
``scored_at``              ``scored_at`` (timestamp, microseconds, UTC)
``raw_score``              ``raw_score`` (null: not given)
``adjusted_score``         ``adjusted_score`` (null: no raw score)
``risk_probability``       ``risk.probability``
``risk_level``             ``risk.level``
``risk_flag``              ``risk.flag``
``tactic_<name>``          ``tactics.<name>`` for each tactic (``TACTICS``)
``confidence_level``       ``confidence.level``
``confidence_notes``       ``confidence.notes`` (list of strings)
``reasons``                ``reasons``: list of struct {code, family, message, contribution}
``authentic_reach``        ``authentic_reach``: struct {followers, followers_low,
                           followers_high, fake_share, fake_share_low, fake_share_high}, or null
``evidence``               ``evidence``: struct {suspicious_days: list of dates}, or null
``model``                  ``model``: struct {name, version}
========================== ==================================================================

``assessments_to_table`` and ``table_to_assessments`` convert both ways
(the round trip is exact, and tested), so a consumer can read a row back as
the very JSON ``POST /v1/score`` returns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from trueclout.assessment import TACTICS, Assessment
from trueclout.errors import UserError
from trueclout.files import partial_path

if TYPE_CHECKING:
    from trueclout.features.frame import FeatureFrame

BATCH_FORMAT = "trueclout-batch-assessments"
BATCH_FORMAT_VERSION = "1"
TS = pa.timestamp("us", tz="UTC")

REASON_TYPE = pa.struct([("code", pa.string()), ("family", pa.string()),
                         ("message", pa.string()), ("contribution", pa.float64())])
REACH_TYPE = pa.struct([("followers", pa.int64()), ("followers_low", pa.int64()),
                        ("followers_high", pa.int64()), ("fake_share", pa.float64()),
                        ("fake_share_low", pa.float64()), ("fake_share_high", pa.float64())])
EVIDENCE_TYPE = pa.struct([("suspicious_days", pa.list_(pa.date32()))])
MODEL_TYPE = pa.struct([("name", pa.string()), ("version", pa.string())])

ASSESSMENT_SCHEMA = pa.schema([
    pa.field("assessment_id", pa.string(), nullable=False),
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("scored_at", TS, nullable=False),
    pa.field("raw_score", pa.float64()),
    pa.field("adjusted_score", pa.float64()),
    pa.field("risk_probability", pa.float64(), nullable=False),
    pa.field("risk_level", pa.string(), nullable=False),
    pa.field("risk_flag", pa.bool_(), nullable=False),
    *(pa.field(f"tactic_{t}", pa.float64(), nullable=False) for t in TACTICS),
    pa.field("confidence_level", pa.string(), nullable=False),
    pa.field("confidence_notes", pa.list_(pa.string()), nullable=False),
    pa.field("reasons", pa.list_(REASON_TYPE), nullable=False),
    pa.field("authentic_reach", REACH_TYPE),
    pa.field("evidence", EVIDENCE_TYPE),
    pa.field("model", MODEL_TYPE, nullable=False),
])

# The shape of ``Assessment.model_dump()``, converted by Arrow in one call.
_DUMP_TYPE = pa.struct([
    ("assessment_id", pa.string()), ("account_id", pa.string()), ("platform", pa.string()),
    ("scored_at", TS), ("raw_score", pa.float64()), ("adjusted_score", pa.float64()),
    ("risk", pa.struct([("probability", pa.float64()), ("level", pa.string()),
                        ("flag", pa.bool_())])),
    ("tactics", pa.struct([(t, pa.float64()) for t in TACTICS])),
    ("reasons", pa.list_(REASON_TYPE)),
    ("authentic_reach", REACH_TYPE),
    ("confidence", pa.struct([("level", pa.string()), ("notes", pa.list_(pa.string()))])),
    ("model", MODEL_TYPE),
    ("evidence", EVIDENCE_TYPE),
])


def assessments_to_table(assessments: Sequence[Assessment]) -> pa.Table:
    """Assessments as rows of ``ASSESSMENT_SCHEMA``, in order."""
    dumped = pa.array([a.model_dump() for a in assessments], _DUMP_TYPE)
    risk, tactics, confidence = (dumped.field(n) for n in ("risk", "tactics", "confidence"))
    columns: dict[str, pa.Array] = {
        **{n: dumped.field(n) for n in ("assessment_id", "account_id", "platform", "scored_at",
                                        "raw_score", "adjusted_score")},
        "risk_probability": risk.field("probability"),
        "risk_level": risk.field("level"),
        "risk_flag": risk.field("flag"),
        **{f"tactic_{t}": tactics.field(t) for t in TACTICS},
        "confidence_level": confidence.field("level"),
        "confidence_notes": confidence.field("notes"),
        **{n: dumped.field(n) for n in ("reasons", "authentic_reach", "evidence", "model")},
    }
    return pa.Table.from_arrays([columns[f.name] for f in ASSESSMENT_SCHEMA],
                                schema=ASSESSMENT_SCHEMA)


def table_to_assessments(table: pa.Table) -> list[Assessment]:
    """Rows of a batch output back as Assessments (the API's JSON), in row order."""
    missing = [f.name for f in ASSESSMENT_SCHEMA if f.name not in table.column_names]
    if missing:
        raise UserError(f"not a batch assessment table: missing columns {missing}")
    out = []
    for row in table.select(ASSESSMENT_SCHEMA.names).to_pylist():
        out.append(Assessment.model_validate({
            **{n: row[n] for n in ("assessment_id", "account_id", "platform", "scored_at",
                                   "raw_score", "adjusted_score", "reasons", "authentic_reach",
                                   "evidence", "model")},
            "risk": {"probability": row["risk_probability"], "level": row["risk_level"],
                     "flag": row["risk_flag"]},
            "tactics": {t: row[f"tactic_{t}"] for t in TACTICS},
            "confidence": {"level": row["confidence_level"], "notes": row["confidence_notes"]},
        }))
    return out


def features_to_table(frame: FeatureFrame) -> pa.Table:
    """A feature frame as ``account_id``, the features in registry order, and
    ``sufficiency_<family>`` per family."""
    columns: dict[str, pa.Array] = {"account_id": pa.array(frame.account_ids.tolist(),
                                                            pa.string())}
    for j, name in enumerate(frame.names):
        columns[name] = pa.array(frame.values[:, j], pa.float64())
    for family, values in frame.sufficiency.items():
        columns[f"sufficiency_{family}"] = pa.array(values, pa.float64())
    return pa.table(columns)


class AtomicParquetWriter:
    """Streams tables into one Parquet file, a row group per write, renamed into place at the end.

    Readers see the old file or the finished new one, never a partial one; a
    run that fails (or is interrupted) removes its temporary file.
    """

    def __init__(self, path: Path, schema: pa.Schema,
                 metadata: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise UserError(f"{self.path}: is a folder; --out names a Parquet file")
        if not self.path.parent.is_dir():
            raise UserError(f"{self.path.parent}: no such folder for the output")
        self.schema = schema.with_metadata({k.encode(): str(v).encode()
                                            for k, v in (metadata or {}).items()})
        self.partial = partial_path(self.path)
        self._writer = pq.ParquetWriter(self.partial, self.schema, compression="zstd")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table.cast(self.schema))
            self.rows += table.num_rows

    def commit(self) -> Path:
        self._writer.close()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        self._writer.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def batch_metadata(**values: Any) -> dict[str, str]:
    """Schema metadata of a batch output: its format, and what produced it."""
    return {"trueclout.format": BATCH_FORMAT, "trueclout.format_version": BATCH_FORMAT_VERSION,
            **{f"trueclout.{k}": str(v) for k, v in values.items()}}


def read_batch_metadata(path: Path) -> dict[str, str]:
    """The ``trueclout.*`` metadata of a batch output file."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode().removeprefix("trueclout."): v.decode() for k, v in meta.items()
            if k.startswith(b"trueclout.")}
