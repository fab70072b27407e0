"""SQLite's write-ahead log: a server copies it into the database from a background loop, so
no request pays for a checkpoint inside its commit; nothing is lost either way."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.service.conftest import running
from tests.service.doubles import DeterministicTestScorer
from trueclout.service.db.engine import Database
from trueclout.service.runtime.app import create_app
from trueclout.settings import Settings

BLOB = 256 * 1024  # 40 of them: 10 MiB, about 2,500 pages, well past SQLite's 1,000


def _write(database: Database, blobs: int = 40) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS scratch (b BLOB)"))
    for _ in range(blobs):  # one commit each, as requests commit
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO scratch (b) VALUES (randomblob(:n))"), {"n": BLOB})


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_a_server_database_leaves_checkpoints_to_the_loop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    database = Database.from_settings(settings, background_checkpoints=True)
    db_file = Path(database.engine.url.database or "")
    wal = db_file.with_name(db_file.name + "-wal")
    try:
        assert database.background_checkpoints
        _write(database)
        # No commit copied the log: it holds every page written, the file few of them.
        assert _size(wal) > 9 * 2**20 and _size(db_file) < 2**20
        log, copied = database.checkpoint() or (0, -1)
        assert log > 2_000 and copied == log  # all of it, nobody reading
        assert _size(db_file) > 9 * 2**20
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 40
    finally:
        database.dispose()


def test_other_databases_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(data_dir=tmp_path))
    db_file = Path(database.engine.url.database or "")
    try:
        assert not database.background_checkpoints
        _write(database)
        assert _size(db_file) > 5 * 2**20  # commits past 1,000 pages copied the log
    finally:
        database.dispose()
    postgres = Database(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"),
                        background_checkpoints=True)
    assert not postgres.background_checkpoints and postgres.checkpoint() is None


def test_the_server_runs_the_checkpoints(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), scorer=DeterministicTestScorer())
    database: Database = app.state.database
    db_file = Path(database.engine.url.database or "")
    assert database.background_checkpoints
    with running(app):
        _write(database)
        deadline = time.monotonic() + 10
        while _size(db_file) < 9 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _size(db_file) > 9 * 2**20, "the loop did not copy the log within 10 s"
