"""`trueclout batch`: score a snapshot set to a Parquet file of assessments, in-process or on Dask.

Heavy libraries (pyarrow, xgboost, dask) load inside the command, so
``trueclout --help`` stays fast.  Progress goes to stderr, the summary too;
bad input is one ``error:`` line and exit status 2 (``trueclout.cli.main``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from trueclout.errors import UserError
from trueclout.progress import StageProgress


def _scored_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--scored-at: {value!r} is not an RFC 3339 time (e.g. "
                        "2026-06-01T00:00:00Z)") from None


def _model_path(ref: str) -> Path:
    from trueclout.models.registry import ModelRegistry
    from trueclout.settings import get_settings

    return ModelRegistry(get_settings().resolved_models_dir).resolve(ref)


def batch(
    data: Annotated[Path, typer.Argument(help="Snapshots: a Parquet table folder, or a JSON "
                                               "Lines / JSON file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The Parquet file of assessments "
                                                          "to write (replaced atomically).")],
    model: Annotated[str, typer.Option(help="A model folder, a version in the registry, "
                                            "'active' or 'default'.")] = "active",
    chunk_accounts: Annotated[int, typer.Option(
        "--chunk-accounts", min=1, help="Accounts per chunk (in-process) or per partition "
        "(Dask); memory grows with it, not with the input.")] = 2_000,
    ring_table: Annotated[Path | None, typer.Option(
        "--ring-table", help="A precomputed ring table (Parquet, e.g. from `trueclout rings`) "
        "instead of detecting rings over the input.")] = None,
    no_rings: Annotated[bool, typer.Option(
        "--no-rings", help="Skip the graph stage: ring features stay unknown (NaN).")] = False,
    features: Annotated[Path | None, typer.Option(
        "--features", help="Also write the feature frame (one row per account) here.")] = None,
    on_error: Annotated[str, typer.Option(
        "--on-error", help="JSON input: 'skip' bad records (listed by line; exit status 1) "
        "or 'fail' the run before scoring.")] = "skip",
    dask: Annotated[bool, typer.Option(
        "--dask", help="Run on a new local Dask cluster (one worker process per core).")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Run on the Dask cluster whose scheduler is at ADDRESS "
        "(e.g. tcp://10.0.0.5:8786); data and model paths must be visible to its workers.")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Worker processes on this machine, in-process or of the "
        "--dask cluster (default: one per core; 1 runs everything in this process).")
    ] = None,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="Seeds the assessment ids (UUID5 of run id and account id); the "
        "same run id gives the same ids. Default: a random one.")] = None,
    scored_at: Annotated[str | None, typer.Option(
        "--scored-at", help="The scored_at of every row (RFC 3339). Default: now.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Score every account of DATA into one Parquet file: the graph stage, features, scoring.

    In-process by default, a chunk of accounts at a time (memory stays flat as
    the input grows); with --dask or --scheduler the same work runs on Dask,
    partitioned by account. The columns are described in docs/SCALE.md.
    """
    from trueclout.cluster import available_cores
    from trueclout.service.batch.chunk import ArtifactScorerSpec
    from trueclout.service.batch.inputs import OnError
    from trueclout.service.batch.run import BatchOptions, run_batch

    if on_error not in ("skip", "fail"):
        raise UserError(f"--on-error must be 'skip' or 'fail', not {on_error!r}")
    if dask and scheduler:
        raise UserError("--dask starts a local cluster and --scheduler names one; pass one")
    if workers is not None and scheduler:
        raise UserError("--workers sizes this machine's processes; the cluster at --scheduler "
                        "has its own workers")
    values: dict[str, Any] = {"chunk_accounts": chunk_accounts, "ring_table": ring_table,
                              "workers": workers or available_cores(),
                              "no_rings": no_rings, "features_out": features,
                              "on_error": OnError(on_error)}
    if run_id is not None:
        values["run_id"] = run_id
    when = _scored_at(scored_at)
    if when is not None:
        values["scored_at"] = when
    options = BatchOptions(**values)
    spec = ArtifactScorerSpec(str(_model_path(model).resolve()))
    with StageProgress(enabled=not quiet, rate_unit="accounts") as progress:
        if dask or scheduler:
            from trueclout.service.batch.on_dask import run_batch_on_dask

            result = run_batch_on_dask(data, out, spec, options, scheduler=scheduler,
                                       n_workers=workers, progress=progress)
        else:
            result = run_batch(data, out, spec, options, progress=progress)
    skipped = f", {result.invalid} invalid record(s) skipped" if result.invalid else ""
    typer.echo(f"scored {result.accounts:,} account(s){skipped} in {result.wall:.1f} s "
               f"({result.accounts_per_second:,.0f} accounts/s, {result.runner}); "
               f"{result.ring_accounts:,} in the ring table; wrote {out}", err=True)
    if result.invalid:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
