"""The ring table at scoring time: loaded once, looked up per request, reloaded when it changes.

Rings are found in batch over every account's engagement
(``trueclout rings``, ``features.graph.table``) and written atomically to a
Parquet file.  A server looks each scored account up in memory (a dict from
account id to row: O(1), no file read per request) and checks the file's
modification time and size at most every ``check_seconds``; when they
change it loads the new file, so an updated table takes effect without a
restart.  No file: the graph features are unknown (NaN), not clean.  A file
that cannot be read keeps the previous table in service and is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from trueclout.errors import UserError
from trueclout.features.graph.table import load_ring_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    table: pa.Table
    rows: dict[str, int]
    signature: tuple[int, int]  # (mtime_ns, size) of the file it came from


class RingTableLookup:
    """Ring-table rows for the accounts being scored, from a file that may be replaced."""

    def __init__(self, path: Path | None, *, check_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_seconds = check_seconds
        self._clock = clock
        self._loaded: _Loaded | None = None
        self._checked_at = -float("inf")
        self._lock = threading.Lock()
        self.refresh(force=True)

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def accounts(self) -> int:
        return len(self._loaded.rows) if self._loaded else 0

    def rows_for(self, account_ids: Sequence[str]) -> pa.Table | None:
        """The table's rows of these accounts (any found), or None without a table."""
        self.refresh()
        loaded = self._loaded
        if loaded is None:
            return None
        rows = [r for a in account_ids if (r := loaded.rows.get(a)) is not None]
        return loaded.table.take(pa.array(rows, pa.int64()))

    def refresh(self, *, force: bool = False) -> None:
        """Reload when the file changed (checked at most every ``check_seconds``)."""
        now = self._clock()
        if self.path is None or (not force and now - self._checked_at < self.check_seconds):
            return
        with self._lock:
            if not force and now - self._checked_at < self.check_seconds:
                return
            self._checked_at = now
            self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        assert self.path is not None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._loaded is not None:
                log.warning("ring table %s is gone; graph features are unknown until it "
                            "returns", self.path)
            self._loaded = None
            return
        signature = (stat.st_mtime_ns, stat.st_size)
        if self._loaded is not None and self._loaded.signature == signature:
            return
        try:
            table = load_ring_table(self.path)
        except UserError as exc:
            log.error("ring table %s not loaded (%s); keeping the previous one", self.path, exc)
            return
        ids = table.column("account_id").to_pylist()
        self._loaded = _Loaded(table, {a: i for i, a in enumerate(ids)}, signature)
        log.info("ring table %s loaded: %d accounts", self.path, len(ids))
