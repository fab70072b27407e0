"""`trueclout batch`: score a large snapshot set to one Parquet file of assessments.

The run, whatever executes it:

1. **read**: the input is checked (a table folder) or staged (JSON Lines,
   parsed once; bad records reported by line), and its account ids read;
2. **graph**: rings are detected once over every account (or a ring table is
   loaded), because a ring is only visible across accounts;
3. **score**: chunks of whole accounts go through ``batch.chunk.score_chunk``
   (features, prediction, the service's assessment composition) with their
   rows of the ring table;
4. **write**: each chunk's rows are appended as one row group to a temporary
   file, renamed into place when every chunk is done.

In-process (the default, ``run_batch``) the chunks are read one after the
other, so memory is bounded by a chunk and the graph's compact arrays,
whatever the number of accounts.  With ``workers`` > 1, steps 2 (the edge
parts) and 3 run in that many worker processes (``batch.processes``), as
``batch.on_dask.run_batch_on_dask`` runs them on a Dask cluster, with the
same functions per partition (``batch.spread``).  Rows come out in input
order either way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from trueclout.errors import UserError
from trueclout.files import utc_now
from trueclout.io import (
    DEFAULT_CHUNK_ACCOUNTS,
    InputError,
    TableSpan,
    iter_table_chunks,
    plan_table_chunks,
)
from trueclout.progress import Progress, SilentProgress
from trueclout.service.batch.chunk import ScorerSpec, StageTimes, score_chunk, scorer_for
from trueclout.service.batch.graph import EdgeStats, RingRows, detect_rings_streaming
from trueclout.service.batch.inputs import BatchInput, OnError, open_batch_input
from trueclout.service.batch.outputs import (
    ASSESSMENT_SCHEMA,
    AtomicParquetWriter,
    batch_metadata,
)
from trueclout.tables import SnapshotTables


@dataclass(frozen=True)
class BatchOptions:
    """Everything that shapes a run but the input, the output and the model."""

    chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS
    workers: int = 1  # processes for the edge parts and the scoring (in-process runs)
    ring_table: Path | None = None
    no_rings: bool = False
    features_out: Path | None = None
    on_error: OnError = OnError.skip
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    scored_at: datetime = field(default_factory=lambda: utc_now(whole_seconds=True))

    def __post_init__(self) -> None:
        if self.chunk_accounts < 1:
            raise UserError("--chunk-accounts must be at least 1")
        if self.workers < 1:
            raise UserError("--workers must be at least 1")
        if self.ring_table is not None and self.no_rings:
            raise UserError("--ring-table and --no-rings contradict each other; pass one")
        if self.scored_at.tzinfo is None:
            raise UserError("--scored-at needs a time zone (e.g. 2026-06-01T00:00:00Z)")


@dataclass
class BatchResult:
    """What a run did, for the summary line and the benchmark."""

    out: Path
    accounts: int
    invalid: int
    ring_accounts: int
    runner: str
    times: StageTimes
    wall: float
    cpu: float
    worker_cpu: float = 0.0  # Dask: CPU seconds of the worker processes during the run
    worker_peak_mib: list[float] = field(default_factory=list)  # Dask: each worker's peak RSS
    edge_stats: EdgeStats | None = None
    graph_stages: dict[str, float] = field(default_factory=dict)

    @property
    def accounts_per_second(self) -> float:
        return self.accounts / self.wall if self.wall > 0 else 0.0


def rings_source(options: BatchOptions) -> str:
    if options.no_rings:
        return "none (graph features unknown)"
    if options.ring_table is not None:
        return f"ring table {options.ring_table}"
    return "detected over the input"


def ring_table_for(options: BatchOptions, times: StageTimes,
                   detect: Callable[[], tuple[pa.Table, EdgeStats | None]]
                   ) -> tuple[pa.Table | None, EdgeStats | None]:
    """The ring table of this run: skipped, loaded, or ``detect()``-ed over the input."""
    if options.no_rings:
        return None, None
    with times.stage("graph"):
        if options.ring_table is not None:
            from trueclout.features.graph.table import load_ring_table

            return load_ring_table(options.ring_table), None
        return detect()


def stage_recorder(into: dict[str, float]) -> Callable[[str, float], None]:
    """An ``on_stage`` hook that sums each graph stage's seconds into ``into``."""
    def on_stage(stage: str, seconds: float) -> None:
        into[stage] = into.get(stage, 0.0) + seconds

    return on_stage


class BatchOutputs:
    """The assessment file and, with ``--features``, the feature file: written, committed
    and (on any failure inside the ``with``) aborted together, so no half file is left."""

    def __init__(self, out: Path, options: BatchOptions, spec_model: tuple[str, str],
                 source: Path) -> None:
        meta = batch_metadata(run_id=options.run_id, scored_at=options.scored_at.isoformat(),
                              model_name=spec_model[0], model_version=spec_model[1],
                              source=str(source), rings=rings_source(options))
        self.writer = AtomicParquetWriter(out, ASSESSMENT_SCHEMA, meta)
        self.features: AtomicParquetWriter | None = None
        if options.features_out is not None:
            from trueclout.features.registry import FEATURE_NAMES

            try:
                self.features = AtomicParquetWriter(options.features_out,
                                                    _feature_schema(FEATURE_NAMES), meta)
            except BaseException:
                self.writer.abort()
                raise

    def write(self, assessments: pa.Table, features: pa.Table | None) -> None:
        self.writer.write(assessments)
        if self.features is not None and features is not None:
            self.features.write(features)

    def commit(self) -> None:
        if self.features is not None:
            self.features.commit()
        self.writer.commit()

    def __enter__(self) -> BatchOutputs:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.writer.abort()
            if self.features is not None:
                self.features.abort()


def _feature_schema(names: tuple[str, ...]) -> pa.Schema:
    from trueclout.features.registry import FEATURES_BY_FAMILY

    return pa.schema([pa.field("account_id", pa.string()),
                      *(pa.field(n, pa.float64()) for n in names),
                      *(pa.field(f"sufficiency_{f}", pa.float64()) for f in FEATURES_BY_FAMILY)])


def check_output(out: Path, options: BatchOptions) -> None:
    """Refuse an unusable output path before any long work."""
    for path, what in ((out, "--out"), (options.features_out, "--features")):
        if path is None:
            continue
        if path.is_dir():
            raise UserError(f"{path}: is a folder; {what} names a Parquet file")
        if not path.parent.is_dir():
            raise UserError(f"{path.parent}: no such folder for {what}")
    if options.features_out is not None and options.features_out.resolve() == out.resolve():
        raise UserError("--features and --out name the same file")


def read_chunks(folder: Path, chunk_accounts: int) -> Iterator[SnapshotTables]:
    """The input's chunks; a file that breaks the contract mid-way is a user error."""
    chunks = iter_table_chunks(folder, chunk_accounts=chunk_accounts)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise UserError(f"{folder}: {exc}") from None
        yield chunk


def run_batch(source: Path, out: Path, spec: ScorerSpec, options: BatchOptions, *,
              progress: Progress | None = None) -> BatchResult:
    """Score every account of ``source`` on this machine, chunk by chunk, into ``out``.

    With ``options.workers`` > 1 and more than one chunk, worker processes
    read the edge parts and score the chunks; an input folder whose rows are
    not grouped by account cannot be split so, and is read in one stream here.
    """
    progress = progress or SilentProgress()
    started = time.perf_counter(), time.process_time()
    times = StageTimes()
    check_output(out, options)
    with times.stage("read"):
        inp = open_batch_input(source, stage_in=out.parent, on_error=options.on_error,
                               report=progress.note, chunk_accounts=options.chunk_accounts)
    try:
        spans = _worker_spans(inp, options, progress)
        if spans is not None:
            from trueclout.service.batch.processes import ProcessExecutor
            from trueclout.service.batch.spread import run_spread

            scorer = scorer_for(spec)
            with ProcessExecutor(min(options.workers, len(spans))) as executor:
                return run_spread(executor, inp, spans, out, spec, options, progress=progress,
                                  times=times, model=(scorer.model_name, scorer.model_version),
                                  started=started)
        return _run_in_one_process(inp, out, spec, options, progress=progress, times=times,
                                   started=started)
    finally:
        inp.cleanup()


def _worker_spans(inp: BatchInput, options: BatchOptions,
                  progress: Progress) -> list[TableSpan] | None:
    """The chunks worker processes would take, or None where one process does the run."""
    if options.workers < 2 or inp.n_accounts <= options.chunk_accounts:
        return None
    try:
        return plan_table_chunks(inp.folder, chunk_accounts=options.chunk_accounts)
    except InputError as exc:
        progress.note(f"{exc}: read in one process (`trueclout convert` groups the rows, "
                      "so that worker processes can share the run)")
        return None


def _run_in_one_process(inp: BatchInput, out: Path, spec: ScorerSpec, options: BatchOptions, *,
                        progress: Progress, times: StageTimes,
                        started: tuple[float, float]) -> BatchResult:
    """Steps 2 to 4 of a run in this process: one chunk after the other."""
    graph_stages: dict[str, float] = {}

    def detect() -> tuple[pa.Table, EdgeStats]:
        progress.start("reading the engagement graph", inp.n_accounts)
        return detect_rings_streaming(
            inp.folder, chunk_accounts=options.chunk_accounts, on_chunk=progress.advance,
            on_start=lambda: progress.start("finding rings", None),
            on_stage=stage_recorder(graph_stages))

    ring, stats = ring_table_for(options, times, detect)
    rows = RingRows.of(ring, inp.account_ids)
    del ring
    scorer = scorer_for(spec)
    with BatchOutputs(out, options, (scorer.model_name, scorer.model_version),
                      inp.source) as outputs:
        progress.start("scoring", inp.n_accounts)
        start = 0
        chunks = read_chunks(inp.folder, options.chunk_accounts)
        while True:
            with times.stage("read"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            stop = start + chunk.num_accounts
            result = score_chunk(chunk, rows.rows(start, stop), spec,
                                 scored_at=options.scored_at, run_id=options.run_id,
                                 keep_features=outputs.features is not None)
            times.merge(result.times)
            with times.stage("write"):
                outputs.write(result.assessments, result.features)
            progress.advance(chunk.num_accounts)
            start = stop
        with times.stage("write"):
            outputs.commit()
    return BatchResult(out=out, accounts=start, invalid=inp.invalid, ring_accounts=rows.n_found,
                       runner="in-process", times=times,
                       wall=time.perf_counter() - started[0],
                       cpu=time.process_time() - started[1], edge_stats=stats,
                       graph_stages=graph_stages)
