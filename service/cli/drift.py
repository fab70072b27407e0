"""`trueclout drift`: are recent accounts distributed like the model's training data?

Reads recent stored snapshots (``--since``) or a snapshot set (``--data``),
computes their features with the model's own follower component, and
compares them with the model's training reference (``service/analysts/drift.py``:
the same figures the service publishes in ``/metrics``).  Exit status: 0
stable or "watch" (said in a warning), 1 drifted, 2 when it cannot tell (no
reference, no data).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from trueclout.service.cli.feedback import DATE_FORMATS, utc

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
) -> None:
    """PSI per feature and per family against the model's training data; warns on drift."""
    import json

    from trueclout.errors import UserError
    from trueclout.models.reference import NoReferenceError
    from trueclout.models.registry import ModelRegistry
    from trueclout.service.analysts.drift import drift_report, load_model_reference
    from trueclout.settings import get_settings

    if since is not None and data is not None:
        raise UserError("give --since (stored snapshots) or --data (a snapshot set), not both")
    folder = ModelRegistry(get_settings().resolved_models_dir).resolve(model)
    try:
        reference, follower = load_model_reference(folder)
    except NoReferenceError as exc:
        raise UserError(f"no reference: {exc}") from None
    if data is not None:
        tables, where = _read_set(data), str(data)
    else:
        start = utc(since) or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
        tables, where = _stored_tables(start, limit), f"stored snapshots since {start:%Y-%m-%d}"
    if tables.num_accounts == 0:
        raise UserError(f"no accounts to compare in {where}")
    x, names = _features(tables, follower, quiet=as_json)
    report = drift_report(reference, x, names)
    if as_json:
        typer.echo(json.dumps({"model": str(folder), "data": where, **report.to_json()},
                              indent=1, allow_nan=True))
    else:
        _print(report, where, folder, top)
    if report.status == "drifted":
        raise typer.Exit(1)


def _read_set(data: Path) -> Any:
    from trueclout.io import read_tables

    return read_tables(data)


def _stored_tables(since: datetime, limit: int) -> Any:
    """The latest stored snapshot of each recently scored account (unexpired), as tables."""
    from sqlalchemy import select

    from trueclout.contract import AccountSnapshot
    from trueclout.files import utc_now
    from trueclout.service.cli.feedback import call
    from trueclout.service.db.snapshots import ScoredSnapshot, decode_snapshot
    from trueclout.tables import snapshots_to_tables

    def read(*, session: Any) -> list[Any]:
        query = (select(ScoredSnapshot.platform, ScoredSnapshot.account_id,
                        ScoredSnapshot.snapshot, ScoredSnapshot.content_encoding)
                 .where(ScoredSnapshot.stored_at >= since, ScoredSnapshot.expires_at > utc_now())
                 .order_by(ScoredSnapshot.stored_at.desc(), ScoredSnapshot.id.desc()))
        seen: set[tuple[str, str]] = set()
        rows = []
        for row in session.execute(query.execution_options(yield_per=500)):
            key = (row.platform, row.account_id)
            if key in seen:
                continue
            seen.add(key)
            rows.append(row)
            if len(rows) >= limit:
                break
        return rows

    snapshots = []
    for i, row in enumerate(call(read)):
        snapshot = AccountSnapshot.model_validate_json(
            decode_snapshot(row.snapshot, row.content_encoding))
        # Ids need only be unique here: one account per platform and id.
        snapshots.append(snapshot.model_copy(update={"account_id": f"{i}:{row.account_id}"}))
    return snapshots_to_tables(snapshots)


def _features(tables: Any, follower: Any, *, quiet: bool) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from trueclout.features.pipeline import compute_features

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=quiet) as progress:
        task = progress.add_task(f"computing features of {tables.num_accounts:,} accounts")
        frame = compute_features(tables, audience_scorer=follower)
        progress.update(task, completed=1, total=1)
    return frame.values, frame.names


def _print(report: Any, where: str, folder: Path, top: int) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

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
        typer.echo(f"note: {note}", err=True)
    if report.excluded:
        typer.echo(f"left out: the {len(report.excluded)} graph_* features (they describe a "
                   "whole set's engagement graph; see docs/ANALYSTS.md)", err=True)
    typer.echo(f"noise floor for {report.n_accounts:,} accounts: PSI about "
               f"{report.noise_floor:.3f}", err=True)
    drifted = [f.name for f in report.features if f.status == "drifted"]
    watch = [f.name for f in report.features if f.status == "watch"]
    if report.status == "drifted":
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
