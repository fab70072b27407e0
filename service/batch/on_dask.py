"""`trueclout batch --dask | --scheduler ADDRESS`: the same run, its heavy steps on a Dask cluster.

The steps are ``batch.spread``'s (edge parts and scoring on the workers, the
graph merged and detected on the client); this module supplies the cluster.
The folder (and the model) must be at the same path on every worker: the
local disk for ``--dask``, shared storage for a remote cluster.  Results
come back in partition order, at most two per worker in flight, and are
appended to the output as they arrive, so the client's memory stays flat.

With the same ``run_id`` and ``scored_at`` the output equals the
in-process run's, byte for byte in its values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trueclout.errors import UserError
from trueclout.io import InputError, TableSpan, plan_table_chunks
from trueclout.progress import Progress, SilentProgress
from trueclout.service.batch.chunk import ScorerSpec, StageTimes, scorer_for
from trueclout.service.batch.inputs import BatchInput, open_batch_input
from trueclout.service.batch.run import BatchOptions, BatchResult, check_output
from trueclout.service.batch.spread import peak_rss_mib, run_spread

if TYPE_CHECKING:
    from distributed import Client


class DaskExecutor:
    """``batch.spread``'s executor on a Dask cluster (``cluster.ordered_map``)."""

    def __init__(self, client: Client, *, local: bool) -> None:
        from trueclout.cluster import worker_count

        self.client = client
        self.workers = worker_count(client)
        self.runner = f"dask ({self.workers} workers)"
        # A remote cluster's workers may not see the folder beside the output.
        self.shares_disk = local

    def ordered_map(self, fn: Callable[..., Any], items: Iterable[Any], *, key_prefix: str,
                    in_flight: int | None = None, **kwargs: Any) -> Iterator[Any]:
        from trueclout.cluster import ordered_map

        return ordered_map(self.client, fn, items, key_prefix=key_prefix, in_flight=in_flight,
                           **kwargs)

    def cpu_seconds(self) -> float:
        return sum(self.client.run(time.process_time).values())

    def peak_mib(self) -> list[float]:
        return list(self.client.run(peak_rss_mib).values())


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
    from trueclout.cluster import dask_client

    progress = progress or SilentProgress()
    started = time.perf_counter(), time.process_time()
    times = StageTimes()
    check_output(out, options)
    with dask_client(scheduler, n_workers=n_workers) as client:
        executor = DaskExecutor(client, local=scheduler is None)
        with times.stage("read"):
            inp = open_batch_input(source, stage_in=out.parent, on_error=options.on_error,
                                   report=progress.note, chunk_accounts=options.chunk_accounts)
        try:
            spans = plan_partitions(inp, options.chunk_accounts)
            scorer = scorer_for(spec)
            return run_spread(executor, inp, spans, out, spec, options, progress=progress,
                              times=times, model=(scorer.model_name, scorer.model_version),
                              started=started)
        finally:
            inp.cleanup()
