"""An empty database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import BACKENDS, database_url_for
from trueclout.service.db.engine import Database
from trueclout.settings import Settings


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_url_for(request.param, tmp_path) as url:
        database = Database.from_settings(
            Settings(data_dir=tmp_path, database_url=url, database_timeout_ms=300))
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture
def database(empty_database: Database) -> Database:
    from trueclout.service.db import migrate

    migrate.upgrade(empty_database.engine)
    return empty_database
