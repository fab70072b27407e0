"""Service commands: `serve`, `keys create|list|revoke`, `score`, `rings`, `trust-check`, `history`.

Every command reads the same settings (``TRUECLOUT_DATA_DIR``,
``TRUECLOUT_DATABASE_URL``, ...), so a key created here works against a server
started with the same settings.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trueclout.cli.options import QuietOption

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


class ScopeName(StrEnum):
    platform = "platform"
    analyst = "analyst"
    recruiter = "recruiter"


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per core).")] = 1,
    local: Annotated[
        bool, typer.Option("--local", help="Local mode: SQLite under the data dir, a fresh key.")
    ] = False,
) -> None:
    """Start the scoring service (upgrading the database first)."""
    import os

    from trueclout.service.runtime.server import (
        describe_database,
        issue_local_key,
        prepare_database,
        run_server,
    )
    from trueclout.settings import get_settings

    if local:
        os.environ["TRUECLOUT_MODE"] = "local"
        get_settings.cache_clear()
    settings = get_settings()
    database = prepare_database(settings)
    try:
        if local:
            key = issue_local_key(database)
            url = f"http://{host}:{port}"
            typer.echo(
                f"TrueClout local mode\n"
                f"  database: {describe_database(settings)}\n"
                f"  API key (all scopes; replaces the previous local-mode key): {key}\n"
                f"  try:  curl -H 'Authorization: Bearer {key}' {url}/v1/models/active\n"
                f"  docs: {url}/docs"
            )
    finally:
        database.dispose()
    run_server("trueclout.service.runtime.app:serving_app", host=host, port=port, workers=workers,
               log_level=settings.log_level)


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[ScopeName], typer.Option(
        "--scope", help="What the key may do; repeat for several scopes.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
    rate: Annotated[float | None, typer.Option(
        help="Requests per second for this key (default: TRUECLOUT_RATE_LIMIT_PER_SECOND).")]
    = None,
) -> None:
    """Create a key and print only the key on stdout (details go to stderr)."""
    from trueclout.service.cli.common import call
    from trueclout.service.db.keys import create_key

    def create(*, session):  # type: ignore[no-untyped-def]
        row, secret = create_key(session=session, scopes=[s.value for s in scope],
                                 name=name or "unnamed", rate_per_second=rate)
        return row.id, row.scopes, secret

    key_id, scopes, secret = call(create)
    typer.echo(secret)
    typer.echo(f"created key {key_id} (scopes: {scopes}); it is shown only once", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, name, prefix, scopes, rate, created, last used, revoked (never the key)."""
    from rich.console import Console
    from rich.table import Table

    from trueclout.service.cli.common import call
    from trueclout.service.db.keys import list_keys

    def when(t) -> str:  # type: ignore[no-untyped-def]
        return t.strftime("%Y-%m-%d %H:%M") if t else "-"

    table = Table("id", "name", "prefix", "scopes", "rate/s", "created", "last used", "revoked")
    for k in call(list_keys):
        table.add_row(str(k.id), k.name, k.key_prefix + "...", k.scopes,
                      "default" if k.rate_per_second is None else f"{k.rate_per_second:g}",
                      when(k.created_at), when(k.last_used_at), when(k.revoked_at))
    Console(width=140).print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The id `keys list` shows.")]) -> None:
    """Revoke a key; servers stop accepting it within TRUECLOUT_KEY_CACHE_SECONDS."""
    from trueclout.service.cli.common import call
    from trueclout.service.db.keys import revoke_key

    def revoke(*, session):  # type: ignore[no-untyped-def]
        row = revoke_key(session=session, key_id=key_id)
        return row.name, row.revoked_at

    name, revoked_at = call(revoke)
    typer.echo(f"key {key_id} ({name}) revoked at {revoked_at:%Y-%m-%d %H:%M:%S} UTC", err=True)


def score(
    file: Annotated[Path, typer.Argument(
        help="AccountSnapshots: a JSON or JSON Lines file, or a Parquet table folder "
             "(as `trueclout simulate` writes).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write assessments here (JSON Lines) instead of stdout.")] = None,
    quiet: QuietOption = False,
) -> None:
    """Score FILE offline with the active model: one assessment per line, as the API returns it.

    Invalid snapshots are listed on stderr by line and skipped; the exit status
    is then 1.  Nothing is stored.
    """
    import sys

    from trueclout.progress import StageProgress
    from trueclout.service.scoring.offline import score_file
    from trueclout.settings import get_settings

    # A bar only on a terminal: in a log, the lines naming invalid records are what matters.
    with StageProgress(enabled=sys.stderr.isatty() and not quiet,
                       rate_unit="snapshots") as progress:
        good, bad = score_file(file, out, settings=get_settings(), progress=progress,
                               report=lambda line: typer.echo(line, err=True))
    typer.echo(f"scored {good} snapshot(s), {bad} invalid in {file}", err=True)
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from trueclout.service.cli import batch as cli_batch
    from trueclout.service.cli import rings as cli_rings

    app.command()(serve)
    app.command()(score)
    app.add_typer(keys_app, name="keys")
    cli_rings.register(app)
    cli_batch.register(app)
    from trueclout.service.cli import drift as cli_drift
    from trueclout.service.cli import feedback as cli_feedback
    from trueclout.service.cli import history as cli_history
    from trueclout.service.cli import retention as cli_retention
    from trueclout.service.cli import trust as cli_trust

    for module in (cli_feedback, cli_retention, cli_drift, cli_trust, cli_history):
        module.register(app)
