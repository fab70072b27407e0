"""Progress of long jobs on stderr: one bar per stage (training, batch scoring, evaluation).

Every long job reports through one small protocol, ``Progress``
(``start(stage, total)``, ``advance(n)``, ``note(line)``), so the code doing
the work never imports rich. ``StageProgress`` is its terminal face and the
only place that builds a bar; ``SilentProgress`` is the default for library
callers and tests; ``progress_stage`` wraps a one-stage job and
``progress_steps`` a job of many short steps shown on one bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Progress(Protocol):
    """Where a long job reports: a stage with an expected total (None: open-ended), steps, notes.

    ``describe`` renames the running stage, for jobs of many short steps (``progress_steps``).
    """

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def describe(self, stage: str) -> None: ...

    def note(self, line: str) -> None: ...


class Step(Protocol):
    """One step of a ``progress_steps`` stage: say what it is, count ``advance`` of the total."""

    def __call__(self, description: str, advance: int = 1) -> None: ...


class SilentProgress:
    """Reports nowhere: what library code uses when no one is watching."""

    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def describe(self, stage: str) -> None:
        pass

    def note(self, line: str) -> None:
        pass


class StageProgress:
    """Stages with a bar each; ``rate_unit`` adds a throughput column ("12,345 accounts/s").

    ``transient`` clears the bars when the job ends (for commands whose output is a table).
    """

    def __init__(self, enabled: bool = True, *, rate_unit: str | None = None,
                 transient: bool = False) -> None:
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
        # stdout stays the command's own: results printed while a bar runs must not go to stderr
        self._progress = Progress(*columns, console=self.console, disable=not enabled,
                                  transient=transient, redirect_stdout=False)
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
        # A line is one record's message: never wrapped, whatever the console's width (a
        # file or pipe gets 80 columns), so `grep` and log readers see it whole.
        self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def describe(self, stage: str) -> None:
        """Rename the running stage: one bar that says which step of the job it is on."""
        if self._task is not None:
            self._progress.update(self._task, description=stage)

    def _finish(self) -> None:
        """Close the running stage as complete (an open-ended one at what it counted)."""
        if self._task is not None:
            task = self._progress.tasks[-1]
            done = task.completed if task.total is None else task.total
            self._progress.update(self._task, total=done or 1, completed=done or 1)
            self._task = None


@contextmanager
def progress_stage(stage: str, total: int | None = None, *, enabled: bool = True,
                   rate_unit: str | None = None, transient: bool = False) -> Iterator[Progress]:
    """One bar for a one-stage job: ``with progress_stage("scoring", n) as p: p.advance()``."""
    with StageProgress(enabled, rate_unit=rate_unit, transient=transient) as progress:
        progress.start(stage, total)
        yield progress


def progress_steps(progress: Progress, total: int | None) -> Step:
    """One stage of ``total`` steps whose text says which step the job is on.

    A study has too many short steps for a bar each, so one bar is renamed at
    every step instead.
    """
    progress.start("starting", total)

    def step(description: str, advance: int = 1) -> None:
        progress.describe(description)
        progress.advance(advance)

    return step
