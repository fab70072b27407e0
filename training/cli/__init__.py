"""Training-side commands; each group lives in a module of this room beside the code it drives."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the training commands (simulate, followers, train/evaluate/models) to the root CLI."""
    from trueclout.training.cli import followers, simulate, train

    for module in (simulate, followers, train):
        module.register(app)
