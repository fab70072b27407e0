"""One chunk of accounts -> its assessments: the unit of work of every batch runner.

The in-process runner calls ``score_chunk`` on consecutive chunks; the Dask
runner calls it on workers, one partition (a set of whole accounts) at a
time.  Both hand it the chunk's six tables and the chunk's rows of the ring
table, and both get back an Arrow table in the layout of ``batch.outputs``.

What turns tables into assessments is a ``ChunkScorer``, built from a
picklable ``ScorerSpec`` (so a worker builds it once, from the spec sent with
its first task, and reuses it).  The real one (``ArtifactScorerSpec``) runs
the service's own composition, ``service/scoring/assess.py``, on a loaded artifact:
the same code the online path runs per snapshot, so batch equals online by
construction.

Batch runs stamp every row with the run's ``scored_at`` and derive
``assessment_id`` from the run id and the account id (a UUID5), so that the
same run id gives byte-identical output in-process and on Dask.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from trueclout.service.batch.outputs import assessments_to_table, features_to_table
from trueclout.tables import SnapshotTables

if TYPE_CHECKING:
    from trueclout.assessment import Assessment
    from trueclout.features.frame import FeatureFrame
    from trueclout.models.artifact import Artifact

STAGES: tuple[str, ...] = ("read", "graph", "features", "predict", "compose", "write")
_ID_NAMESPACE = uuid.UUID("5d0c2a3e-0b6c-4f55-9d0e-7a1c1b1f7e11")


@dataclass
class StageTimes:
    """Wall and CPU seconds per stage, summed over chunks (and over workers on Dask)."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def merge(self, other: StageTimes) -> None:
        for name in other.wall:
            self.add(name, other.wall[name], other.cpu.get(name, 0.0))


class ChunkScorer(Protocol):
    """Turns the tables of some accounts (and their ring rows) into assessments."""

    model_name: str
    model_version: str

    def assess_tables(self, tables: SnapshotTables, graph: pa.Table | None, *,
                      scored_at: datetime, times: StageTimes, keep_features: bool,
                      features: FeatureFrame | None = None,
                      ) -> tuple[Sequence[Assessment], FeatureFrame | None]:
        """One assessment per ``tables.profiles`` row, in that order; the feature frame
        too when ``keep_features``.  ``features``: the frame ``features_without_graph``
        gave for these tables, if it ran earlier.  Records stage times (features,
        predict, compose)."""
        ...

    def features_without_graph(self, tables: SnapshotTables) -> FeatureFrame:
        """The accounts' features before the ring table exists (graph columns unknown)."""
        ...


class ScorerSpec(Protocol):
    """A picklable, hashable recipe for a ``ChunkScorer`` (built once per process)."""

    def build(self) -> ChunkScorer: ...


@cache
def scorer_for(spec: ScorerSpec) -> ChunkScorer:
    """The scorer of ``spec``, built on first use in this process (workers reuse it)."""
    return spec.build()


@dataclass(frozen=True)
class ChunkOutput:
    """What a chunk gives back: assessments (and features) as Arrow tables, and stage times."""

    assessments: pa.Table
    features: pa.Table | None
    times: StageTimes


def batch_assessment_ids(run_id: str, account_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UUID5 of (run id, account id) as 32 hex digits, like the API's ids: stable per run."""
    return pa.array([uuid.uuid5(_ID_NAMESPACE, f"{run_id}\0{a}").hex
                     for a in account_ids.to_pylist()], pa.string())


def score_chunk(tables: SnapshotTables, graph: pa.Table | None, spec: ScorerSpec, *,
                scored_at: datetime, run_id: str, keep_features: bool = False,
                features: FeatureFrame | None = None) -> ChunkOutput:
    """Assess one chunk of whole accounts; rows in ``tables.profiles`` order.

    ``features``: the chunk's frame computed before the ring table existed
    (``ChunkScorer.features_without_graph``), or None to compute it here.
    """
    times = StageTimes()
    scorer = scorer_for(spec)
    assessments, frame = scorer.assess_tables(tables, graph, scored_at=scored_at, times=times,
                                              keep_features=keep_features, features=features)
    with times.stage("compose"):
        table = assessments_to_table(assessments)
        table = table.set_column(table.schema.get_field_index("assessment_id"), "assessment_id",
                                 batch_assessment_ids(run_id, table.column("account_id")))
    features = features_to_table(frame) if keep_features and frame is not None else None
    return ChunkOutput(table, features, times)


@dataclass(frozen=True)
class ArtifactScorerSpec:
    """The real scorer: a verified artifact folder, scored with ``service.assess``."""

    model_path: str

    def build(self) -> ChunkScorer:
        from trueclout.models.artifact import load_artifact

        return AssessScorer(load_artifact(self.model_path, nthread=1))


class AssessScorer:
    """``service.assess.judge`` then ``to_assessments``: the composition the online path runs.

    Stage times come from a thin wrapper around the artifact that notes when
    ``predict`` starts and ends: features are what ``judge`` does before it,
    composition (rules, reasons, contract objects) what follows.  Nothing is
    recomputed to measure it.
    """

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.model_name = artifact.name
        self.model_version = artifact.version

    def assess_tables(self, tables: SnapshotTables, graph: pa.Table | None, *,
                      scored_at: datetime, times: StageTimes, keep_features: bool,
                      features: FeatureFrame | None = None,
                      ) -> tuple[Sequence[Assessment], FeatureFrame | None]:
        from trueclout.service.scoring.assess import judge, to_assessments

        timed = _TimedPredict(self.artifact)
        started = _Clock.now()
        judgement = judge(tables, timed, graph=graph,  # type: ignore[arg-type]
                          features=features)
        judged = _Clock.now()
        assessments = to_assessments(judgement, tables, self.artifact, scored_at=scored_at)
        done = _Clock.now()
        predict_start = timed.started or started
        predict_end = timed.ended or predict_start
        times.add("features", *predict_start.minus(started))
        times.add("predict", *predict_end.minus(predict_start))
        times.add("compose", *judged.minus(predict_end))
        times.add("compose", *done.minus(judged))
        return assessments, judgement.frame if keep_features else None

    def features_without_graph(self, tables: SnapshotTables) -> FeatureFrame:
        from trueclout.features.pipeline import compute_features

        return compute_features(tables, audience_scorer=self.artifact.follower_model)


@dataclass(frozen=True)
class _Clock:
    wall: float
    cpu: float

    @classmethod
    def now(cls) -> _Clock:
        return cls(time.perf_counter(), time.process_time())

    def minus(self, earlier: _Clock) -> tuple[float, float]:
        return self.wall - earlier.wall, self.cpu - earlier.cpu


class _TimedPredict:
    """The artifact, with the start and end of its ``predict`` noted (all else delegated)."""

    def __init__(self, artifact: Artifact) -> None:
        self._artifact = artifact
        self.started: _Clock | None = None
        self.ended: _Clock | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._artifact, name)

    def predict(self, frame: Any, **options: Any) -> Any:
        self.started = _Clock.now()
        try:
            return self._artifact.predict(frame, **options)
        finally:
            self.ended = _Clock.now()
