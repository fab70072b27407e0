"""Real servers for the service tests: uvicorn on a loopback port, SQLite and PostgreSQL.

``service`` runs every test that uses it once per database (the PostgreSQL
run is marked ``postgres`` and skipped, saying why, when no server answers on
127.0.0.1:5432).  The servers score with ``DeterministicTestScorer``, a test
double: the real model is not wired into the service yet.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.service.doubles import DeterministicTestScorer
from trueclout.service.db import migrate
from trueclout.service.db.engine import Database
from trueclout.service.db.keys import create_key
from trueclout.service.db.models import StoredAssessment
from trueclout.service.runtime.app import create_app
from trueclout.service.scoring.scorer import Scorer
from trueclout.settings import Settings, get_settings

POSTGRES_ADMIN_URL = os.environ.get(
    "TRUECLOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Small limits so the tests can reach them cheaply.
TEST_LIMITS = {
    "max_body_bytes": 256 * 1024,
    "max_batch_items": 5,
    "rate_limit_per_second": 1000.0,
    "unauthenticated_rate_per_second": 1000.0,
    "key_cache_seconds": 0.0,
    "database_timeout_ms": 300,
    # No ring table appears mid-test unless a test asks for the refresher.
    "ring_refresh_seconds": 0.0,
}


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped afterwards; skips if none answers."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} "
                    f"({exc.__class__.__name__}); run scripts/ensure-test-services.sh "
                    "or set TRUECLOUT_TEST_POSTGRES_URL")
    name = f"trueclout_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_url_for(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'trueclout.db'}"


@contextmanager
def migrated_database(backend: str, tmp: Path, **settings: Any) -> Iterator[Database]:
    """An empty database at the newest revision on ``backend``, disposed afterwards."""
    with database_url_for(backend, tmp) as url:
        db = Database.from_settings(Settings(data_dir=tmp, database_url=url, **settings))
        try:
            migrate.upgrade(db.engine)
            yield db
        finally:
            db.dispose()


@dataclass
class Service:
    """A running server and handles on what it stores."""

    backend: str
    base_url: str
    settings: Settings
    database: Database
    scorer: Any
    app: FastAPI

    def new_key(self, *scopes: str, rate: float | None = None, name: str = "test") -> str:
        def create(*, session):  # type: ignore[no-untyped-def]
            return create_key(session=session, scopes=scopes, name=name,
                              rate_per_second=rate)[1]

        return self.database.call(create)

    def client(self, key: str | None = None, **kwargs) -> httpx.Client:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)

    def stored(self) -> dict[str, str]:
        """assessment_id -> stored JSON body, straight from the database."""
        with self.database.transaction() as session:
            rows = session.execute(select(StoredAssessment.assessment_id, StoredAssessment.body))
            return dict(rows.all())

    def count(self) -> int:
        with self.database.transaction() as session:
            return session.scalar(select(func.count()).select_from(StoredAssessment)) or 0


@contextmanager
def start_service(
    backend: str, tmp: Path, *, scorer: Scorer | None = None, **overrides: Any
) -> Iterator[Service]:
    with database_url_for(backend, tmp) as url:
        settings = Settings(data_dir=tmp, database_url=url, **{**TEST_LIMITS, **overrides})
        database = Database.from_settings(settings)
        migrate.upgrade(database.engine)
        scorer = scorer if scorer is not None else DeterministicTestScorer()
        app = create_app(settings, scorer=scorer, database=database)
        try:
            with running(app) as base_url:
                yield Service(backend, base_url, settings, database, scorer, app)
        finally:
            database.dispose()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Service]:
    """A server per database backend, shared by the session (each test makes its own keys)."""
    with start_service(request.param, tmp_path_factory.mktemp(request.param)) as svc:
        yield svc


@pytest.fixture(scope="session")
def sqlite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """For behaviour that does not depend on the database."""
    with start_service("sqlite", tmp_path_factory.mktemp("sqlite-only")) as svc:
        yield svc


@pytest.fixture
def platform_key(service: Service) -> str:
    return service.new_key("platform")


@pytest.fixture
def same_settings_as(monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """Point the CLI's settings (environment) at a running service's database."""

    def point(service: Service) -> None:
        monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(service.settings.data_dir))
        monkeypatch.setenv("TRUECLOUT_DATABASE_URL", service.settings.resolved_database_url)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()
