"""Training-side commands; each group lives in a `cli_*` module beside the code it drives."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "trueclout.training.cli.simulate",
    "trueclout.training.cli.followers",
    "trueclout.training.cli.train",
)


def register(app: typer.Typer) -> None:
    """Attach every training command module that exists to the root CLI."""
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
