"""A batch run whose heavy steps run in other processes: Dask workers or a local process pool.

Partitions are sets of whole accounts: the chunk plan of the input table
folder (``trueclout.io.plan_table_chunks``), each partition being every row
of its accounts in all six tables.  Workers read their own partitions from
the folder (``read_table_span``), so the folder (and the model) must be at
the same path on every worker.  JSON input is staged into a table folder
beside the output first, for the same reason.

1. **graph, spread then in this process**: each worker turns its partitions
   into compact edge parts (``features.graph.ingest.edge_part``: integer
   codes and the partition's distinct ids, about 40 bytes per edge); this
   process gathers them, merges them and runs ring detection once, since a
   ring spans partitions.  So this process holds the graph (docs/SCALE.md
   has the memory to expect); the detection itself is not spread.
2. **score, spread**: each worker runs ``batch.chunk.score_chunk`` (the
   in-process function, on the same kernels) on its partition with that
   partition's ring rows, which travel with the task.  The model is loaded
   once per worker process.
3. **write, here**: results come back in partition order and are appended to
   the output as they arrive.

While this process detects the rings (one core, most of a large run's
time), the workers are not idle: where they see this machine's disk they
compute each partition's features meanwhile (all but the graph columns,
which are only looked up), keep them in a temporary folder beside the
output, and step 2 then reads them back instead of computing them.

With the same ``run_id`` and ``scored_at`` the output equals the one-process
run's, value for value.  What executes the tasks is an ``Executor``:
``batch.on_dask.DaskExecutor`` (a cluster) or ``batch.processes.ProcessExecutor``
(worker processes on this machine).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from trueclout.features.frame import FeatureFrame
from trueclout.features.graph.ingest import (
    GRAPH_COLUMNS,
    GRAPH_DICTIONARY_COLUMNS,
    EdgePart,
    edge_part,
)
from trueclout.io import TableSpan, read_table_span
from trueclout.progress import Progress
from trueclout.service.batch.chunk import (
    ChunkOutput,
    ScorerSpec,
    StageTimes,
    score_chunk,
    scorer_for,
)
from trueclout.service.batch.graph import EdgeStats, RingRows, detect_rings_in_parts
from trueclout.service.batch.inputs import BatchInput
from trueclout.service.batch.run import (
    BatchOptions,
    BatchOutputs,
    BatchResult,
    ring_table_for,
    stage_recorder,
)


class Executor(Protocol):
    """Runs tasks in worker processes and gives their results back in order."""

    workers: int
    runner: str  # how the summary line names it, e.g. "dask (2 workers)"
    shares_disk: bool  # the workers read and write this machine's files

    def ordered_map(self, fn: Callable[..., Any], items: Iterable[Any], *, key_prefix: str,
                    in_flight: int | None = None, **kwargs: Any) -> Iterator[Any]:
        """``fn(item, **kwargs)`` for every item in a worker; results in item order, with
        at most ``in_flight`` tasks (default: twice the workers) running or waiting."""
        ...

    def cpu_seconds(self) -> float:
        """CPU seconds the workers have spent so far."""
        ...

    def peak_mib(self) -> list[float]:
        """Each worker's peak resident memory so far."""
        ...


def edge_part_task(span: TableSpan, *, folder: str) -> EdgePart:
    """On a worker: the compact graph of one partition (only the graph's columns are read)."""
    tables = read_table_span(Path(folder), span, columns=GRAPH_COLUMNS,
                             dictionary=GRAPH_DICTIONARY_COLUMNS, use_threads=False)
    return edge_part(tables)


def features_task(span: TableSpan, *, folder: str, spec: ScorerSpec, frames: str) -> StageTimes:
    """On a worker: one partition's features before the ring table exists, kept in ``frames``."""
    times = StageTimes()
    with times.stage("read"):
        tables = read_table_span(Path(folder), span, use_threads=False)
    with times.stage("features"):
        scorer_for(spec).features_without_graph(tables).save(_frame_path(frames, span))
    return times


def score_span_task(item: tuple[TableSpan, pa.Table | None], *, folder: str, spec: ScorerSpec,
                    options: BatchOptions, frames: str | None = None) -> ChunkOutput:
    """On a worker: read one partition and assess its accounts (with the features
    ``features_task`` kept in ``frames``, when given)."""
    span, graph = item
    times = StageTimes()
    with times.stage("read"):
        tables = read_table_span(Path(folder), span, use_threads=False)
        features = None
        if frames is not None:
            path = _frame_path(frames, span)
            features = FeatureFrame.load(path)
            path.unlink()
    output = score_chunk(tables, graph, spec, scored_at=options.scored_at,
                         run_id=options.run_id, keep_features=options.features_out is not None,
                         features=features)
    output.times.merge(times)
    return output


def _frame_path(frames: str, span: TableSpan) -> Path:
    return Path(frames) / f"{span.index}.npz"


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux ``VmHWM``), NaN where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_spread(executor: Executor, inp: BatchInput, spans: list[TableSpan], out: Path,
               spec: ScorerSpec, options: BatchOptions, *, progress: Progress,
               times: StageTimes, model: tuple[str, str],
               started: tuple[float, float]) -> BatchResult:
    """The graph and scoring steps of a run over ``spans`` of an opened input, on ``executor``.

    ``started`` is the run's (wall, CPU) start, ``times`` what it measured so
    far (reading the input); ``model`` the scorer's name and version.
    """
    folder = str(inp.folder.resolve())
    workers = executor.workers
    workers_cpu_before = executor.cpu_seconds()
    graph_stages: dict[str, float] = {}
    worker_times = StageTimes()
    detecting = options.ring_table is None and not options.no_rings
    frames = (tempfile.mkdtemp(prefix=".trueclout-features-", dir=out.parent)
              if detecting and executor.shares_disk else None)

    def detect() -> tuple[pa.Table, EdgeStats]:
        progress.start(f"reading the engagement graph on {workers} workers", inp.n_accounts)
        parts = []
        for span, part in zip(spans, executor.ordered_map(
                edge_part_task, spans, folder=folder, key_prefix="edge-part"), strict=True):
            parts.append(part)
            progress.advance(span.num_accounts)
        stats = EdgeStats.of(parts)
        detect_here = functools.partial(detect_rings_in_parts, parts,
                                        on_stage=stage_recorder(graph_stages))
        del parts  # detection empties the list as it merges
        return _detect_meanwhile(detect_here, executor, spans, progress, worker_times,
                                 folder=folder, spec=spec, frames=frames), stats

    try:
        ring, stats = ring_table_for(options, times, detect)
        rows = RingRows.of(ring, inp.account_ids)
        del ring
        scored = 0
        with BatchOutputs(out, options, model, inp.source) as outputs:
            progress.start(f"scoring on {workers} workers", inp.n_accounts)
            for output in executor.ordered_map(score_span_task, _with_ring_rows(spans, rows),
                                               folder=folder, spec=spec, options=options,
                                               frames=frames, key_prefix="score-span"):
                worker_times.merge(output.times)
                with times.stage("write"):
                    outputs.write(output.assessments, output.features)
                scored += output.assessments.num_rows
                progress.advance(output.assessments.num_rows)
            with times.stage("write"):
                outputs.commit()
    finally:
        if frames is not None:
            shutil.rmtree(frames, ignore_errors=True)
    times.merge(worker_times)
    return BatchResult(out=out, accounts=scored, invalid=inp.invalid, ring_accounts=rows.n_found,
                       runner=executor.runner, times=times,
                       wall=time.perf_counter() - started[0],
                       cpu=time.process_time() - started[1],
                       worker_cpu=executor.cpu_seconds() - workers_cpu_before,
                       worker_peak_mib=executor.peak_mib(),
                       edge_stats=stats, graph_stages=graph_stages)


def _detect_meanwhile(detect: Callable[[], pa.Table], executor: Executor,
                      spans: list[TableSpan], progress: Progress, worker_times: StageTimes, *,
                      folder: str, spec: ScorerSpec, frames: str | None) -> pa.Table:
    """``detect()`` here, while the workers compute every partition's features into
    ``frames`` (when given): detection holds one core for most of a large run.

    One worker fewer than there are computes them at a time, so the detection
    (which the whole run waits for) keeps a core of its own where the workers
    are one per core on this machine.
    """
    if frames is None:
        progress.start("finding rings (in this process)", None)
        return detect()
    with ThreadPoolExecutor(1, thread_name_prefix="trueclout-rings") as thread:
        detecting = thread.submit(detect)
        progress.start(f"features on {executor.workers} workers while rings are found",
                       sum(span.num_accounts for span in spans))
        for span, spent in zip(spans, executor.ordered_map(
                features_task, spans, folder=folder, spec=spec, frames=frames,
                key_prefix="features", in_flight=max(1, executor.workers - 1)), strict=True):
            worker_times.merge(spent)
            progress.advance(span.num_accounts)
        progress.start("finding rings (in this process)", None)
        return detecting.result()


def _with_ring_rows(spans: list[TableSpan], rows: RingRows
                    ) -> Iterator[tuple[TableSpan, pa.Table | None]]:
    for span in spans:
        start, stop = span.rows["profiles"]
        yield span, rows.rows(start, stop)
