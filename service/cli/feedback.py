"""`trueclout feedback list|decide|export`: the analysts' queue from a terminal.

All read the database of the current settings, like `trueclout keys`; deciding
is ``PATCH /v1/feedback/{id}``'s own function (``analysts.feedback.review_item``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from trueclout.cli.options import QuietOption
from trueclout.service.cli.common import DATE_FORMATS, utc

feedback_app = typer.Typer(help="The analysts' queue: list labels and disputes, export labels "
                                "as a labelled snapshot set for training.",
                           no_args_is_help=True)

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
    from trueclout.service.analysts.feedback import queue_page
    from trueclout.service.analysts.retention import parse_account
    from trueclout.service.cli.common import call
    from trueclout.service.db.feedback import QueueFilter

    platform, account_id = parse_account(account) if account else (None, None)
    where = QueueFilter(kind=kind.value if kind else None, label=label.value if label else None,
                        status=status.value if status else None, since=utc(since),
                        platform=platform, account_id=account_id)
    page = call(queue_page, where=where, limit=limit)
    if as_json:
        for item in page.items:
            typer.echo(item.model_dump_json())
    else:
        _print_items(page.items)
    more = "; more match (raise --limit)" if page.next_cursor else ""
    typer.echo(f"{len(page.items)} item(s){more}", err=True)


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


@feedback_app.command("decide")
def decide(
    item_id: Annotated[str, typer.Argument(help="The item's id, as `feedback list` shows it.")],
    status: Annotated[StatusName, typer.Option(help="upheld, rejected, or open again.")],
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
    label: Annotated[bool, typer.Option(
        "--label/--no-label", help="Disputes: when upholding, also file a false_positive "
        "label for the account.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the item as JSON.")] = False,
) -> None:
    """Decide a label or dispute, as an analyst would through the API."""
    from pydantic import ValidationError

    from trueclout.contract import describe_errors
    from trueclout.errors import UserError
    from trueclout.files import utc_now
    from trueclout.service.analysts.feedback import FeedbackUpdate, review_item
    from trueclout.service.cli.common import call

    try:
        update = FeedbackUpdate(status=status.value, resolution_note=note,
                                create_label=None if label else False)
    except ValidationError as exc:
        raise UserError("; ".join(f"--{d['field'].replace('_', '-')}: {d['reason']}"
                                  for d in describe_errors(exc))) from None
    item = call(review_item, item_id=item_id, update=update, key_id=None, now=utc_now())
    if as_json:
        typer.echo(item.model_dump_json())
    else:
        typer.echo(f"{item.kind} {item.id} is now {item.status}")


@feedback_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="A new folder for the labelled snapshot set.")],
    since: SinceOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write the labels filed since DATE, joined with their scored snapshots, in the training
    format (tables + labels.parquet); the latest label per account wins."""
    from trueclout.files import utc_now
    from trueclout.progress import progress_stage
    from trueclout.service.analysts.export import export_feedback
    from trueclout.service.cli.common import open_database

    database = open_database()
    try:
        with progress_stage("exporting labelled accounts", enabled=not quiet) as progress:
            summary = export_feedback(database, out=out, since=utc(since), now=utc_now(),
                                      on_progress=progress.advance)
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
