"""Options every long-running command shares, written once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

# Every command that shows progress bars takes -q; results and errors still print.
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
