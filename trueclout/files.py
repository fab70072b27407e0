"""Files that readers never see half-written, and the one clock every stored time comes from.

A server may read a ring table, a registry state or a model card while a
command rewrites it; a crash mid-write must leave the old file. Every writer
goes through ``atomic_path``: the data lands in a hidden ``.NAME.PID.partial``
beside the target and replaces it with one ``os.replace`` (atomic on POSIX),
or is removed if anything fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any


def utc_now(*, whole_seconds: bool = False) -> datetime:
    """The current time, timezone-aware in UTC; ``whole_seconds`` for times people read in cards."""
    now = datetime.now(UTC)
    return now.replace(microsecond=0) if whole_seconds else now


def partial_path(path: Path) -> Path:
    """The hidden staging name of ``path`` for this process (never listed as a real file)."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


@contextmanager
def atomic_path(path: Path | str, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a staging path to write; on success it replaces ``path``, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        yield tmp
        if fsync:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: Path | str, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open`` for writing, committed to ``path`` only when the block ends without error."""
    with atomic_path(path) as tmp, tmp.open(mode, **kwargs) as fh:
        yield fh


def write_atomic(path: Path | str, data: bytes | str, *, fsync: bool = False) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` in one atomic replace."""
    path = Path(path)
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def write_files(folder: Path | str, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write each ``relative name -> bytes`` under ``folder``, each file atomically."""
    folder = Path(folder)
    return {name: write_atomic(folder / name, data) for name, data in files.items()}
