"""`trueclout batch --dask | --scheduler ADDRESS`: the same run, its heavy steps on a Dask cluster.

Partitions are sets of whole accounts: the chunk plan of the input table
folder (``trueclout.io.plan_table_chunks``), each partition being every row
of its accounts in all six tables.  Workers read their own partitions from
the folder (``read_table_span``), so the folder (and the model) must be at
the same path on every worker: the local disk for ``--dask``, shared storage
for a remote cluster.  JSON input is staged into a table folder beside the
output first, for the same reason.

1. **graph, distributed then on the client**: each worker turns its
   partitions into compact edge parts (``features.graph.ingest.edge_part``:
   integer codes and the partition's distinct ids, about 40 bytes per edge);
   the client gathers them, merges them and runs ring detection once, since a
   ring spans partitions.  The client therefore holds the graph (see
   docs/SCALE.md for the memory to expect); the detection itself is not
   distributed.
2. **score, distributed**: each worker runs ``batch.chunk.score_chunk`` (the
   in-process function, on the same kernels) on its partition with that
   partition's ring rows, which travel with the task.  The model is loaded
   once per worker process.
3. **write, on the client**: results come back in partition order, at most
   two per worker in flight, and are appended to the output as they arrive,
   so the client's memory stays flat.

With the same ``run_id`` and ``scored_at`` the output equals the
in-process run's, byte for byte in its values.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from trueclout.errors import UserError
from trueclout.features.graph.ingest import (
    GRAPH_COLUMNS,
    GRAPH_DICTIONARY_COLUMNS,
    EdgePart,
    edge_part,
)
from trueclout.io import InputError, TableSpan, plan_table_chunks, read_table_span
from trueclout.progress import Progress, SilentProgress
from trueclout.service.batch.chunk import (
    ChunkOutput,
    ScorerSpec,
    StageTimes,
    score_chunk,
    scorer_for,
)
from trueclout.service.batch.graph import EdgeStats, RingRows, detect_rings_in_parts
from trueclout.service.batch.inputs import BatchInput, open_batch_input
from trueclout.service.batch.run import (
    BatchOptions,
    BatchOutputs,
    BatchResult,
    check_output,
    stage_recorder,
)


def edge_part_task(span: TableSpan, *, folder: str) -> EdgePart:
    """On a worker: the compact graph of one partition (only the graph's columns are read)."""
    tables = read_table_span(Path(folder), span, columns=GRAPH_COLUMNS,
                             dictionary=GRAPH_DICTIONARY_COLUMNS, use_threads=False)
    return edge_part(tables)


def score_span_task(item: tuple[TableSpan, pa.Table | None], *, folder: str, spec: ScorerSpec,
                    options: BatchOptions) -> ChunkOutput:
    """On a worker: read one partition and assess its accounts."""
    span, graph = item
    times = StageTimes()
    with times.stage("read"):
        tables = read_table_span(Path(folder), span, use_threads=False)
    output = score_chunk(tables, graph, spec, scored_at=options.scored_at,
                         run_id=options.run_id, keep_features=options.features_out is not None)
    output.times.merge(times)
    return output


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux ``VmHWM``), NaN where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def plan_partitions(inp: BatchInput, chunk_accounts: int) -> list[TableSpan]:
    try:
        return plan_table_chunks(inp.folder, chunk_accounts=chunk_accounts)
    except InputError as exc:
        raise UserError(f"{exc}; Dask partitions need rows grouped by account in profile order: "
                        f"rewrite the folder with `trueclout convert {inp.folder} NEW_FOLDER`"
                        ) from None


def run_batch_on_dask(source: Path, out: Path, spec: ScorerSpec, options: BatchOptions, *,
                      scheduler: str | None = None, n_workers: int | None = None,
                      progress: Progress | None = None) -> BatchResult:
    """Score ``source`` on a Dask cluster (a new local one when ``scheduler`` is None)."""
    from trueclout.cluster import dask_client, ordered_map, worker_count

    progress = progress or SilentProgress()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    times = StageTimes()
    check_output(out, options)
    with dask_client(scheduler, n_workers=n_workers) as client:
        workers_cpu_before = sum(client.run(time.process_time).values())
        with times.stage("read"):
            inp = open_batch_input(source, stage_in=out.parent, on_error=options.on_error,
                                   report=progress.note, chunk_accounts=options.chunk_accounts)
        try:
            spans = plan_partitions(inp, options.chunk_accounts)
            folder = str(inp.folder.resolve())
            workers = worker_count(client)
            graph_stages: dict[str, float] = {}
            ring, stats = None, None
            if options.ring_table is not None:
                from trueclout.features.graph.table import load_ring_table

                with times.stage("graph"):
                    ring = load_ring_table(options.ring_table)
            elif not options.no_rings:
                with times.stage("graph"):
                    progress.start(f"reading the engagement graph on {workers} workers",
                                   inp.n_accounts)
                    parts = []
                    for span, part in zip(spans, ordered_map(client, edge_part_task, spans,
                                                             folder=folder,
                                                             key_prefix="edge-part"),
                                          strict=True):
                        parts.append(part)
                        progress.advance(span.num_accounts)
                    stats = EdgeStats.of(parts)
                    progress.start("finding rings (on the client)", None)
                    ring = detect_rings_in_parts(parts, on_stage=stage_recorder(graph_stages))
            rows = RingRows.of(ring, inp.account_ids)
            del ring
            scorer = scorer_for(spec)
            with BatchOutputs(out, options, (scorer.model_name, scorer.model_version),
                              source) as outputs:
                progress.start(f"scoring on {workers} workers", inp.n_accounts)
                items = _with_ring_rows(spans, rows)
                worker_times = StageTimes()
                scored = 0
                for output in ordered_map(client, score_span_task, items, folder=folder,
                                          spec=spec, options=options,
                                          key_prefix="score-span"):
                    worker_times.merge(output.times)
                    with times.stage("write"):
                        outputs.write(output.assessments, output.features)
                    scored += output.assessments.num_rows
                    progress.advance(output.assessments.num_rows)
                with times.stage("write"):
                    outputs.commit()
        finally:
            inp.cleanup()
        worker_cpu = sum(client.run(time.process_time).values()) - workers_cpu_before
        worker_peaks = list(client.run(peak_rss_mib).values())
    times.merge(worker_times)
    return BatchResult(out=out, accounts=scored, invalid=inp.invalid, ring_accounts=rows.n_found,
                       runner=f"dask ({workers} workers)", times=times,
                       wall=time.perf_counter() - started_wall,
                       cpu=time.process_time() - started_cpu, worker_cpu=worker_cpu,
                       worker_peak_mib=worker_peaks,
                       edge_stats=stats, graph_stages=graph_stages)


def _with_ring_rows(spans: list[TableSpan], rows: RingRows
                    ) -> Iterator[tuple[TableSpan, pa.Table | None]]:
    for span in spans:
        start, stop = span.rows["profiles"]
        yield span, rows.rows(start, stop)
