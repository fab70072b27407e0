"""Progress of long jobs on stderr: one bar per stage (training, batch scoring, evaluation).

Both the training commands and batch scoring report through the same small
protocol (``start(stage, total)``, ``advance(n)``, ``note(line)``), so the
code doing the work never imports rich; this class is its terminal face.
"""

from __future__ import annotations

from typing import Any


class StageProgress:
    """Stages with a bar each; ``rate_unit`` adds a throughput column ("12,345 accounts/s")."""

    def __init__(self, enabled: bool = True, *, rate_unit: str | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text("" if speed is None or task.total is None
                            else f"{speed:,.0f} {rate_unit}/s")

        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                              MofNCompleteColumn()]
        if rate_unit is not None:
            columns.append(RateColumn())
        columns.append(TimeElapsedColumn())
        if rate_unit is not None:
            columns.append(TimeRemainingColumn())
        self.console = Console(stderr=True)
        self._progress = Progress(*columns, console=self.console, disable=not enabled)
        self._task: Any = None

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self._progress.stop()

    def start(self, stage: str, total: int | None) -> None:
        self._finish()
        self._task = self._progress.add_task(stage, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def note(self, line: str) -> None:
        self._progress.console.print(line, markup=False, highlight=False)

    def _finish(self) -> None:
        """Close the running stage as complete (an open-ended one at what it counted)."""
        if self._task is not None:
            task = self._progress.tasks[-1]
            done = task.completed if task.total is None else task.total
            self._progress.update(self._task, total=done or 1, completed=done or 1)
            self._task = None
