"""`trueclout purge --expired` and `trueclout purge --account PLATFORM:ID` (retention.py)."""

from __future__ import annotations

from typing import Annotated

import typer


def purge(
    expired: Annotated[bool, typer.Option(
        "--expired", help="Delete scored snapshots past retention and expired trust reports.")]
    = False,
    account: Annotated[str | None, typer.Option(
        help="Delete everything stored about one account, PLATFORM:ID (for example "
             "twitter:12345): snapshots, assessments, trust reports, labels and disputes.")]
    = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --account: only count what would be deleted.")] = False,
) -> None:
    """Remove data the service must no longer keep; counts per table are printed and logged."""
    from trueclout.errors import UserError

    if expired == (account is not None):
        raise UserError("give either --expired or --account PLATFORM:ID")
    if account is None:
        _purge_expired(dry_run)
    else:
        _purge_account(account, dry_run)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())


def _purge_expired(dry_run: bool) -> None:
    from trueclout.errors import UserError
    from trueclout.progress import progress_stage
    from trueclout.service.analysts.retention import purge_expired
    from trueclout.service.cli.common import open_database

    if dry_run:
        raise UserError("--dry-run applies to --account only")
    database = open_database()
    try:
        with progress_stage("deleting expired snapshots") as progress:
            counts = purge_expired(database, requested_by="trueclout purge --expired",
                                   on_batch=progress.advance)
    finally:
        database.dispose()
    typer.echo(f"deleted {_summary(counts)}")


def _purge_account(account: str, dry_run: bool) -> None:
    from trueclout.files import utc_now
    from trueclout.service.analysts.retention import account_counts, parse_account, purge_account
    from trueclout.service.cli.common import call

    platform, account_id = parse_account(account)
    if dry_run:
        counts = call(account_counts, platform=platform, account_id=account_id)
        typer.echo(f"would delete {_summary(counts)} for {platform}:{account_id}")
        return
    counts = call(purge_account, platform=platform, account_id=account_id, now=utc_now(),
                  requested_by="trueclout purge --account")
    typer.echo(f"deleted {_summary(counts)} for {platform}:{account_id}")
    if not any(counts.values()):
        typer.echo("nothing was stored about this account", err=True)


def register(app: typer.Typer) -> None:
    app.command()(purge)
