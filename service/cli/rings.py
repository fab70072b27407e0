"""`trueclout rings`: find rings across all accounts and write the table servers look up.

Ring detection needs every account's engagement at once.  Two sources:

- ``trueclout rings DATA`` (``rings build``): a table folder or a JSON (Lines)
  file of snapshots, through ``features.graph.table.detect_rings``;
- ``trueclout rings refresh``: the service's edge store (everything scored and
  stored), through ``service.runtime.ring_refresh``: the same refresh the
  server runs every ``TRUECLOUT_RING_REFRESH_SECONDS``, under the same lease in
  the database, so it is safe while the service runs.

The table is written atomically; running servers pick it up within
``TRUECLOUT_RING_TABLE_CHECK_SECONDS`` without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    import click
    import pyarrow as pa

DEFAULT_COMMAND = "build"


class _BuildByDefault(TyperGroup):
    """`trueclout rings DATA` means `trueclout rings build DATA` (it predates the group)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


rings_app = typer.Typer(
    cls=_BuildByDefault, no_args_is_help=True,
    help="Find rings across accounts: from snapshot files (`rings DATA`) or from everything "
         "the service has scored (`rings refresh`).")

OutOption = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Where to write the ring table (default: TRUECLOUT_RING_TABLE, "
    "i.e. <data dir>/ring_table.parquet).")]


@rings_app.command("build")
def build(
    data: Annotated[Path, typer.Argument(
        help="A Parquet table folder, or a JSON / JSON Lines file of AccountSnapshots.")],
    out: OutOption = None,
) -> None:
    """Detect dense blocks, lockstep groups and mutual-repost cores; write the ring table."""
    from trueclout.features.graph.table import detect_rings, save_ring_table
    from trueclout.service.batch.graph import read_graph_tables
    from trueclout.settings import get_settings

    target = out or get_settings().resolved_ring_table
    tables = read_graph_tables(data)
    typer.echo(f"finding rings among {tables.num_accounts:,} accounts' engagement "
               f"({tables.engagements.num_rows:,} engagements)", err=True)
    table = detect_rings(tables, on_stage=_echo_stage)
    save_ring_table(table, target)
    typer.echo(summary(table, target))


@rings_app.command("refresh")
def refresh(
    out: OutOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Recompute even if the edge store has not changed.")] = False,
    scheduler: Annotated[str | None, typer.Option(
        help="Read the edge store on this Dask scheduler (default: "
             "TRUECLOUT_RING_REFRESH_SCHEDULER; none: in this process).")] = None,
) -> None:
    """Recompute the ring table from the service's edge store (one refresher at a time).

    Exits 3 when another refresh holds the lease.
    """
    from trueclout.errors import UserError
    from trueclout.features.graph.table import load_ring_table
    from trueclout.service.cli.common import open_database
    from trueclout.service.db.engine import StorageError
    from trueclout.service.runtime.ring_refresh import BUSY_EXIT, LeaseLost, RingRefresher
    from trueclout.settings import get_settings

    settings = get_settings()
    database = open_database()
    try:
        refresher = RingRefresher(database, out or settings.resolved_ring_table,
                                  scheduler=scheduler or settings.ring_refresh_scheduler)
        outcome = refresher.refresh(force=force, on_stage=_echo_stage)
    except StorageError as exc:
        raise UserError(f"the database refused the refresh ({exc}); nothing written") from exc
    except LeaseLost as exc:
        raise UserError(f"{exc}; nothing written") from exc
    finally:
        database.dispose()
    if outcome.status == "busy":
        typer.echo(f"error: {outcome.message()}", err=True)
        raise typer.Exit(BUSY_EXIT)
    if outcome.status == "refreshed":
        typer.echo(summary(load_ring_table(outcome.path), outcome.path)
                   + f" (from {outcome.edges:,} stored edges in {outcome.seconds:.1f} s)")
    else:
        typer.echo(outcome.message())


def _echo_stage(stage: str, seconds: float) -> None:
    typer.echo(f"  {stage}: {seconds:.1f} s", err=True)


def summary(table: pa.Table, path: Path) -> str:
    """One line: how many accounts the table holds and how many sit in each kind of ring."""
    import pyarrow.compute as pc

    def members(column: str) -> int:
        return int(pc.sum(pc.greater(table.column(column), 0)).as_py() or 0)

    return (f"wrote ring table {path}: {table.num_rows:,} accounts; "
            f"{members('ring_block_size'):,} in dense blocks, "
            f"{members('lockstep_group_size'):,} in lockstep groups, "
            f"{members('mutual_core_size'):,} in mutual-repost cores")


def register(app: Any) -> None:
    app.add_typer(rings_app, name="rings")
