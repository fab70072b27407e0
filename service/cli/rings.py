"""`trueclout rings`: find rings across all accounts and write the table servers look up.

Ring detection needs every account's engagement at once, so it runs in batch
(``features.graph.table.detect_rings``) over a table folder or a JSON (Lines)
file of snapshots.  The table is written atomically; running servers pick it
up within ``TRUECLOUT_RING_TABLE_CHECK_SECONDS`` without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pyarrow as pa


def rings(
    data: Annotated[Path, typer.Argument(
        help="A Parquet table folder, or a JSON / JSON Lines file of AccountSnapshots.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the ring table (default: TRUECLOUT_RING_TABLE, "
        "i.e. <data dir>/ring_table.parquet).")] = None,
) -> None:
    """Detect dense blocks, lockstep groups and mutual-repost cores; write the ring table."""
    from trueclout.features.graph.table import detect_rings, save_ring_table
    from trueclout.service.batch.graph import read_graph_tables
    from trueclout.settings import get_settings

    target = out or get_settings().resolved_ring_table
    tables = read_graph_tables(data)
    typer.echo(f"finding rings among {tables.num_accounts:,} accounts' engagement "
               f"({tables.engagements.num_rows:,} engagements)", err=True)
    table = detect_rings(tables, on_stage=lambda stage, seconds: typer.echo(
        f"  {stage}: {seconds:.1f} s", err=True))
    save_ring_table(table, target)
    typer.echo(summary(table, target))


def summary(table: pa.Table, path: Path) -> str:
    """One line: how many accounts the table holds and how many sit in each kind of ring."""
    import pyarrow.compute as pc

    def members(column: str) -> int:
        return int(pc.sum(pc.greater(table.column(column), 0)).as_py() or 0)

    return (f"wrote ring table {path}: {table.num_rows:,} accounts; "
            f"{members('ring_block_size'):,} in dense blocks, "
            f"{members('lockstep_group_size'):,} in lockstep groups, "
            f"{members('mutual_core_size'):,} in mutual-repost cores")


def register(app: typer.Typer) -> None:
    app.command("rings")(rings)
