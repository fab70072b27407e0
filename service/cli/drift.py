"""`trueclout drift`: are recent accounts distributed like the model's training data?

Reads recent stored snapshots (``--since``) or a snapshot set (``--data``),
computes their features with the model's own follower component, and
compares them with the model's training reference (``service/analysts/drift.py``:
the same figures the service publishes in ``/metrics``).  Exit status: 0
stable or "watch" (said in a warning), 1 drifted, 2 when it cannot tell (no
reference, no data, or fewer accounts than a verdict needs: "not enough data").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from trueclout.cli.options import QuietOption
from trueclout.service.cli.common import DATE_FORMATS, utc

DEFAULT_DAYS = 7
DEFAULT_LIMIT = 5_000


def drift(
    since: Annotated[datetime | None, typer.Option(
        formats=DATE_FORMATS, help=f"Stored snapshots scored since this date (default: the "
        f"last {DEFAULT_DAYS} days).")] = None,
    data: Annotated[Path | None, typer.Option(
        help="A snapshot set (Parquet table folder, JSON or JSON Lines) instead of the "
             "stored snapshots.")] = None,
    model: Annotated[str, typer.Option(
        help="A model folder, a version, 'active' or 'default'.")] = "active",
    limit: Annotated[int, typer.Option(
        min=1, help="At most this many of the most recently scored accounts.")]
    = DEFAULT_LIMIT,
    top: Annotated[int, typer.Option(min=0, help="Features listed, highest PSI first.")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """PSI per feature and per family against the model's training data; warns on drift."""
    import json

    from trueclout.errors import UserError
    from trueclout.files import utc_now
    from trueclout.models.reference import NOT_ENOUGH_DATA, NoReferenceError
    from trueclout.models.registry import ModelRegistry
    from trueclout.progress import StageProgress
    from trueclout.service.analysts.drift import load_model_reference, recent_tables, tables_drift
    from trueclout.service.cli.common import call
    from trueclout.settings import get_settings

    if since is not None and data is not None:
        raise UserError("give --since (stored snapshots) or --data (a snapshot set), not both")
    folder = ModelRegistry(get_settings().resolved_models_dir).resolve(model)
    try:
        reference, follower = load_model_reference(folder)
    except NoReferenceError as exc:
        raise UserError(f"no reference: {exc}") from None
    if data is not None:
        from trueclout.io import read_tables

        tables, where = read_tables(data), str(data)
    else:
        now = utc_now()
        start = utc(since) or now - timedelta(days=DEFAULT_DAYS)
        tables = call(recent_tables, since=start, limit=limit, now=now)
        where = f"stored snapshots since {start:%Y-%m-%d}"
    if tables.num_accounts == 0:
        raise UserError(f"no accounts to compare in {where}")
    with StageProgress(enabled=not (as_json or quiet)) as progress:
        report = tables_drift(reference, tables, follower, progress=progress)
    if as_json:
        typer.echo(json.dumps({"model": str(folder), "data": where, **report.to_json()},
                              indent=1, allow_nan=True))
    else:
        _print(report, where, folder, top)
    if report.status == NOT_ENOUGH_DATA:
        raise typer.Exit(2)
    if report.status == "drifted":
        raise typer.Exit(1)


def _print(report: Any, where: str, folder: Path, top: int) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    from trueclout.models.reference import MIN_ACCOUNTS, NOT_ENOUGH_DATA

    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(f"{report.n_accounts:,} accounts ({where}) against the training data of "
                  f"{folder} ({report.reference_accounts:,} accounts)")
    families = Table("family", "mean PSI", "max PSI", "features watch", "features drifted",
                     "status", title="per family (mean PSI of its features)")
    for f in report.families:
        families.add_row(f.family, f"{f.mean_psi:.3f}", f"{f.max_psi:.3f}", str(f.watch),
                         str(f.drifted), f.status)
    console.print(families)
    if top:
        features = Table("feature", "family", "PSI", "status", "NaN share: training",
                         "now", title=f"top {top} features by PSI")
        for f in sorted(report.features, key=lambda f: -f.psi)[:top]:
            features.add_row(f.name, f.family, f"{f.psi:.3f}", f.status,
                             f"{f.nan_share_reference:.0%}", f"{f.nan_share_now:.0%}")
        console.print(features)
    for note in report.notes:
        if report.status != NOT_ENOUGH_DATA:  # the verdict line below says it
            typer.echo(f"note: {note}", err=True)
    if report.excluded:
        typer.echo(f"left out: the {len(report.excluded)} graph_* features (they describe a "
                   "whole set's engagement graph; see docs/ANALYSTS.md)", err=True)
    typer.echo(f"noise floor for {report.n_accounts:,} accounts: PSI about "
               f"{report.noise_floor:.3f}", err=True)
    drifted = [f.name for f in report.features if f.status == "drifted"]
    watch = [f.name for f in report.features if f.status == "watch"]
    if report.status == NOT_ENOUGH_DATA:
        typer.echo(f"not enough data: {report.n_accounts:,} account(s) in {where}; a drift "
                   f"verdict needs at least {MIN_ACCOUNTS:,} (below that, sampling alone moves "
                   "some feature past the thresholds)", err=True)
    elif report.status == "drifted":
        typer.echo(f"warning: DRIFTED: the model is scoring a population it was not trained on "
                   f"({len(drifted)} feature(s) above PSI 0.25: {', '.join(drifted[:6])}"
                   f"{'...' if len(drifted) > 6 else ''}); check the data, then retrain", err=True)
    elif report.status == "watch":
        typer.echo(f"warning: watch: {len(watch)} feature(s) moved (PSI 0.1-0.25: "
                   f"{', '.join(watch[:6])}{'...' if len(watch) > 6 else ''})", err=True)
    else:
        typer.echo("stable: no feature moved beyond PSI 0.1", err=True)


def register(app: typer.Typer) -> None:
    app.command()(drift)
