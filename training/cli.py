"""Training-side commands: `trueclout simulate` (more arrive with training and evaluation)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this package's commands to the root CLI."""
