"""The `trueclout` command: the one composition root that wires every part together.

Sub-commands live beside the code they drive (``training/cli/``,
``service/cli/``); the maintainers' tools are the hidden ``trueclout dev`` group
(``dev.py``).  Command modules import heavy libraries inside the command bodies
so that `trueclout --help` starts fast.
"""

from __future__ import annotations

import os
import sys

# OpenMP threads (XGBoost) spin while idle by default, which starves the other
# core on small machines; passive waiting costs nothing measurable.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="trueclout",
    help="Separates quality influence from manipulation before an influence score is published.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(
        help="AccountSnapshots: a JSON or JSON Lines file, or a Parquet table folder (as "
             "`trueclout simulate` writes; a bad account is named by its row).")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Check every snapshot in FILE against the contract; list each bad record by line."""
    from trueclout.io import iter_records

    good = bad = 0
    for rec in iter_records(file):
        if rec.error is None:
            good += 1
            continue
        bad += 1
        if not quiet:
            for line in rec.error.lines():
                typer.echo(f"{file}:{line}", err=True)
    typer.echo(f"{good} valid, {bad} invalid snapshot(s) in {file}")
    if bad or good == 0:
        raise typer.Exit(1)


JSONL_SUFFIXES = (".jsonl", ".ndjson")


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="JSON, JSON Lines, or a Parquet table folder.")],
    dest: Annotated[Path, typer.Argument(
        help="A .jsonl (or .ndjson) file, or a folder for Parquet tables (a name without a "
             "suffix).")],
    chunk_accounts: Annotated[int, typer.Option(min=1)] = 2_000,
) -> None:
    """Convert a snapshot set between JSON Lines and Parquet tables (streaming)."""
    from trueclout.errors import UserError
    from trueclout.io import TablesWriter, iter_snapshots, iter_table_chunks, write_jsonl

    jsonl = dest.suffix in JSONL_SUFFIXES
    if not jsonl and dest.suffix and not dest.is_dir():
        # A folder of Parquet named out.csv would surprise whoever opens it.
        raise UserError(f"{dest}: convert writes JSON Lines ({', '.join(JSONL_SUFFIXES)}) or a "
                        f"folder of Parquet tables (a name without a suffix), not "
                        f"{dest.suffix!r} files")
    if jsonl:
        n = write_jsonl(iter_snapshots(source), dest)
    else:
        n = 0
        with TablesWriter(dest) as writer:
            for chunk in iter_table_chunks(source, chunk_accounts=chunk_accounts):
                writer.write(chunk)
                n += chunk.num_accounts
    typer.echo(f"wrote {n} account(s) to {dest}")


def _register_subcommands() -> None:
    """Attach the command groups of the other packages, and the hidden ``dev`` group."""
    from trueclout.cli import dev
    from trueclout.service import cli as service_cli
    from trueclout.training import cli as training_cli

    for module in (training_cli, service_cli, dev):
        module.register(app)


_register_subcommands()


def usage_error_line(exc: Exception) -> str:
    """Click's usage error as one line, naming the command and where its help is.

    Click prints a usage block and a hint over three lines; every other error
    of the CLI is one ``error:`` line, so these are too.
    """
    message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return message
    return f"{ctx.command_path}: {message} (see `{ctx.command_path} --help`)"


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one message and exit status 2, never a traceback."""
    from trueclout.errors import UserError

    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except (UserError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors
        import click

        # typer >= 0.25 raises its own copy of click's exceptions (typer.TyperException)
        if isinstance(exc, click.exceptions.ClickException | typer.TyperException) and hasattr(
            exc, "format_message"
        ):
            typer.echo(f"error: {usage_error_line(exc)}", err=True)
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort | typer.Abort):
            return 1
        raise
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
