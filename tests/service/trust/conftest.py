"""Servers for the trust-check tests: the scripted double, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.service.conftest import (
    BACKENDS,
    Service,
    migrated_database,
    start_service,
)
from tests.service.trust.doubles import ScriptedScorer
from tests.service.trust.samples import Sample, samples, scripts_by_account
from trueclout.service.db.engine import Database
from trueclout.service.db.snapshots import ScoredSnapshot
from trueclout.service.db.trust import StoredTrustReport
from trueclout.service.scoring.scorer import UnavailableScorer

TRUST_TTL_DAYS = 7
CHROMIUM = Path(os.environ.get("TRUECLOUT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (skips, saying how, when absent)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium not found at {CHROMIUM}: run "
                    "scripts/ensure-test-services.sh (or set TRUECLOUT_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session", params=BACKENDS)
def trust_service(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A server per database whose scorer follows the sample scripts (see samples.py)."""
    with start_service(request.param, tmp_path_factory.mktemp(f"trust-{request.param}"),
                       scorer=ScriptedScorer(scripts_by_account()),
                       trust_report_ttl_days=TRUST_TTL_DAYS,
                       trust_dispute_contact="disputes@example.org") as svc:
        yield svc


@pytest.fixture(scope="session")
def pages_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """SQLite only: for the pages, whose behaviour does not depend on the database."""
    with start_service("sqlite", tmp_path_factory.mktemp("trust-pages"),
                       scorer=ScriptedScorer(scripts_by_account()),
                       trust_report_ttl_days=TRUST_TTL_DAYS) as svc:
        yield svc


@pytest.fixture
def recruiter_key(trust_service: Service) -> str:
    return trust_service.new_key("recruiter")


def check_body(sample: Sample, **overrides: Any) -> dict[str, Any]:
    """A trust-check request for a sample, with the sample's own score as the claimed one."""
    body = {"claimed_score": sample.document["raw_score"], "platform": sample.platform,
            "handle": "@" + sample.handle, "snapshot": sample.document}
    return {**body, **overrides}


def sample_named(name: str) -> Sample:
    for sample in samples():
        if sample.name == name:
            return sample
    pytest.skip(f"data/samples/{name}.json is not there (yet)")


def expire(service: Service, model: Any, column: Any, value: str) -> None:
    """Move a stored row's expiry into the past, as if its time had run out."""
    with service.database.transaction() as session:
        session.execute(update(model).where(column == value)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def expire_report(service: Service, report_id: str) -> None:
    expire(service, StoredTrustReport, StoredTrustReport.report_id, report_id)


def expire_snapshot(service: Service, assessment_id: str) -> None:
    expire(service, ScoredSnapshot, ScoredSnapshot.assessment_id, assessment_id)


def count_rows(service: Service, model: Any) -> int:
    with service.database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture(scope="session")
def unready_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A server whose model failed to load."""
    with start_service("sqlite", tmp_path_factory.mktemp("trust-unready"),
                       scorer=UnavailableScorer("test: no model installed")) as svc:
        yield svc


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database at the newest revision, per backend."""
    with migrated_database(request.param, tmp_path, database_timeout_ms=300) as db:
        yield db
