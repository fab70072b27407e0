"""One engine per process, built from settings: SQLite (WAL, busy timeout) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from trueclout.errors import UserError
from trueclout.settings import Settings

T = TypeVar("T")

# An unreachable PostgreSQL host fails /readyz and commands in seconds, not minutes.
CONNECT_TIMEOUT_S = 10
# SQLite copies its write-ahead log into the database inside the commit that takes the
# log past 1,000 pages: that request pays the copy and an fsync (the benchmark store's
# p99 went from 2.1 to 7.7 ms).  A server checkpoints from a background loop instead
# (``Database.checkpoint``); its requests checkpoint themselves only if the log reaches
# this many pages (about 200 MB: the loop has stopped), so it never grows without bound.
DEFERRED_CHECKPOINT_PAGES = 50_000


class StorageError(Exception):
    """The database refused or failed a read or write; nothing of that transaction was kept."""


def normalise_url(url: str) -> str:
    """Accept the usual ``postgresql://`` spelling; route it to psycopg 3 (the driver we ship)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def build_engine(settings: Settings, *, background_checkpoints: bool = False) -> Engine:
    """The engine for ``settings``: a bad URL is the user's error, named as such.

    ``hide_parameters`` keeps stored payloads out of error messages and logs.  With
    ``background_checkpoints``, SQLite leaves checkpoints to ``Database.checkpoint``.
    """
    url_text = normalise_url(settings.resolved_database_url)
    try:
        url = make_url(url_text)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types here
        raise UserError(f"TRUECLOUT_DATABASE_URL is not a database URL: {exc}") from exc
    timeout_ms = settings.database_timeout_ms
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True,
                               connect_args={"timeout": timeout_ms / 1000})
        event.listen(engine, "connect", _sqlite_pragmas(
            timeout_ms, DEFERRED_CHECKPOINT_PAGES if background_checkpoints else None))
        return engine
    if url.get_backend_name() == "postgresql":
        # A write that waits longer than this for a lock fails instead of hanging.
        return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                             connect_args={"options": f"-c lock_timeout={timeout_ms}",
                                           "connect_timeout": CONNECT_TIMEOUT_S})
    raise UserError(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")


def _sqlite_pragmas(timeout_ms: int,
                    checkpoint_pages: int | None) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers (history, key look-ups) proceed while one writer writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if checkpoint_pages is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
        cursor.close()

    return on_connect


class Database:
    """The engine and its sessions; ``run`` moves blocking work off the event loop."""

    def __init__(self, engine: Engine, *, background_checkpoints: bool = False) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # True when the owner must call ``checkpoint`` now and then (SQLite built so).
        self.background_checkpoints = (background_checkpoints
                                       and engine.dialect.name == "sqlite")

    @classmethod
    def from_settings(cls, settings: Settings, *,
                      background_checkpoints: bool = False) -> Database:
        """``background_checkpoints``: for a server, which runs ``checkpoint`` in a loop."""
        return cls(build_engine(settings, background_checkpoints=background_checkpoints),
                   background_checkpoints=background_checkpoints)

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy SQLite's write-ahead log into the database file, without waiting for or
        blocking readers and writers (``PASSIVE``); (log pages, pages copied) as SQLite
        reports them, or None where there is nothing to do (PostgreSQL)."""
        if self.engine.dialect.name != "sqlite":
            return None
        with self.engine.connect() as conn:
            _busy, log, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(log), int(copied)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run ``fn(session=..., **kwargs)`` in one transaction; failures raise StorageError."""
        try:
            with self.transaction() as session:
                return fn(session=session, **kwargs)
        except SQLAlchemyError as exc:
            raise StorageError(str(exc.__class__.__name__)) from exc

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """``call`` in a worker thread, so a slow or locked database never stalls other requests."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.call, fn, **kwargs)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
