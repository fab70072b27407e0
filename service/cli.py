"""Service commands: `trueclout serve`."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per core).")] = 1,
    local: Annotated[
        bool, typer.Option("--local", help="Local mode: SQLite under the data dir, a fresh key.")
    ] = False,
) -> None:
    """Start the scoring service."""
    import os

    import uvicorn

    if local:
        os.environ["TRUECLOUT_MODE"] = "local"

    uvicorn.run(
        "trueclout.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
