"""`trueclout feedback list` and `trueclout feedback export`: the analysts' queue from a terminal.

Both read the database of the current settings, like `trueclout keys`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

feedback_app = typer.Typer(help="The analysts' queue: list labels and disputes, export labels "
                                "as a labelled snapshot set for training.",
                           no_args_is_help=True)

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
SinceOption = Annotated[datetime | None, typer.Option(
    formats=DATE_FORMATS, help="Only items filed at or after this date/time (UTC unless a "
    "zone is given).")]


class KindName(StrEnum):
    label = "label"
    dispute = "dispute"


class StatusName(StrEnum):
    open = "open"
    upheld = "upheld"
    rejected = "rejected"


class LabelChoice(StrEnum):
    confirmed_manipulation = "confirmed_manipulation"
    false_positive = "false_positive"
    confirmed_genuine = "confirmed_genuine"


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def open_database() -> Any:
    from trueclout.service.runtime.server import prepare_database
    from trueclout.settings import get_settings

    return prepare_database(get_settings())


def call(fn: Any, **kwargs: Any) -> Any:
    """A data function in one transaction; database failures become one user-facing message."""
    from trueclout.errors import UserError
    from trueclout.service.db.engine import StorageError

    database = open_database()
    try:
        return database.call(fn, **kwargs)
    except StorageError as exc:
        raise UserError(f"the database refused the operation ({exc})") from exc
    finally:
        database.dispose()


@feedback_app.command("list")
def list_feedback(
    kind: Annotated[KindName | None, typer.Option(help="label or dispute.")] = None,
    label: Annotated[LabelChoice | None, typer.Option()] = None,
    status: Annotated[StatusName | None, typer.Option()] = None,
    since: SinceOption = None,
    account: Annotated[str | None, typer.Option(
        help="One account, as PLATFORM:ID (for example twitter:12345).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout.")] = False,
) -> None:
    """The newest items of the queue, filtered."""
    from trueclout.service.analysts.feedback import item_out
    from trueclout.service.analysts.retention import parse_account
    from trueclout.service.db.feedback import QueueFilter, list_items

    platform, account_id = parse_account(account) if account else (None, None)
    where = QueueFilter(kind=kind.value if kind else None, label=label.value if label else None,
                        status=status.value if status else None, since=utc(since),
                        platform=platform, account_id=account_id)
    def page(*, session: Any) -> tuple[list[Any], bool]:
        rows, cursor = list_items(session=session, where=where, limit=limit)
        return [item_out(r) for r in rows], cursor is not None

    rows, more = call(page)
    if as_json:
        for item in rows:
            typer.echo(item.model_dump_json())
    else:
        _print_items(rows)
    typer.echo(f"{len(rows)} item(s){'; more match (raise --limit)' if more else ''}", err=True)


def _print_items(items: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "filed", "kind", "status", "account", "label / tactics", "text")
    for item in items:
        what = item.label or "-"
        if item.tactics:
            what += " (" + ", ".join(item.tactics) + ")"
        text = item.statement if item.kind == "dispute" else item.note
        table.add_row(item.id, item.created_at.strftime("%Y-%m-%d %H:%M"), item.kind,
                      item.status, f"{item.platform}:{item.account_id}", what,
                      (text or "")[:60] + ("..." if text and len(text) > 60 else ""))
    Console(width=160).print(table)


@feedback_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="A new folder for the labelled snapshot set.")],
    since: SinceOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write the labels filed since DATE, joined with their scored snapshots, in the training
    format (tables + labels.parquet); the latest label per account wins."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from trueclout.files import utc_now
    from trueclout.service.analysts.export import export_feedback

    database = open_database()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=Console(stderr=True), disable=quiet) as progress:
            task = progress.add_task("exporting labelled accounts", total=None)
            summary = export_feedback(database, out=out, since=utc(since), now=utc_now(),
                                      on_progress=lambda n: progress.advance(task, n))
    finally:
        database.dispose()
    by_label = ", ".join(f"{n} {name}" for name, n in sorted(summary.by_label.items()))
    typer.echo(f"exported {summary.exported} account(s) ({by_label}) to {out}")
    if summary.superseded:
        typer.echo(f"{summary.superseded} earlier label(s) superseded by a later label of the "
                   "same account", err=True)
    if summary.skipped:
        typer.echo(f"skipped {summary.skipped}: {summary.snapshot_expired} snapshot(s) past "
                   f"retention, {summary.no_stored_assessment} without a stored assessment, "
                   f"{summary.snapshot_invalid} no longer valid", err=True)
    typer.echo(f"next: trueclout train BASE_DATA --from-feedback {out}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
