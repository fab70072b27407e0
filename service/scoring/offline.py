"""`trueclout score`: the API's scoring path, on a file, without a server or a database."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, TypeVar

from trueclout.errors import UserError
from trueclout.files import atomic_open, utc_now
from trueclout.io import count_accounts, iter_records
from trueclout.progress import Progress, SilentProgress
from trueclout.service.scoring import scorer as scoring
from trueclout.settings import Settings

T = TypeVar("T")

CHUNK = 256


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, size)):
        yield chunk


@contextmanager
def _sink(out: Path | None) -> Iterator[IO[str]]:
    """stdout, or ``out`` written atomically (a failed run never leaves a partial file there)."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_open(out, "w", encoding="utf-8") as fh:
        yield fh


def score_file(
    path: Path,
    out: Path | None,
    *,
    settings: Settings,
    report: Callable[[str], None],
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Assess every valid snapshot in ``path``; returns (scored, invalid).

    Each invalid record is reported (``file:line ...``) and skipped.  The
    scorer comes from the same loader as the server's, and each line is
    exactly the JSON body ``POST /v1/score`` returns, to ``out`` or stdout.
    """
    progress = progress or SilentProgress()
    try:
        scorer = scoring.require_ready(scoring.load_scorer(settings))
    except scoring.ModelNotLoaded as exc:
        raise UserError(str(exc)) from exc
    good = bad = 0
    progress.start("scoring", count_accounts(path))
    with _sink(out) as sink:
        for chunk in _chunks(iter_records(path), CHUNK):
            valid = []
            for record in chunk:
                if record.error is not None:
                    bad += 1
                    for line in record.error.lines():
                        report(f"{path}:{line}")
                else:
                    valid.append(record.snapshot)
            if valid:
                for assessment in scorer.assess_many(valid, scored_at=utc_now()):
                    sink.write(scoring.assessment_json(assessment))
                    sink.write("\n")
                good += len(valid)
            progress.advance(len(chunk))
    return good, bad
