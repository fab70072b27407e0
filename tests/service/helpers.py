"""Assertions and fixtures-as-functions shared by the service tests."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import snapshot_dict
from tests.service.conftest import Service
from trueclout.service.api.schemas import ErrorBody


def unique_snapshot(**kwargs: Any) -> dict[str, Any]:
    """A valid snapshot of an account no other test uses."""
    return snapshot_dict(account_id=f"acct-{uuid.uuid4().hex[:10]}", **kwargs)


def assert_error(
    response: httpx.Response, status: int, code: str, *, field: str | None = None
) -> dict[str, Any]:
    """The response is the standard error body with this status and code (and field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    ErrorBody.model_validate(body)
    error = body["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert field in [d["field"] for d in error["details"]], error["details"]
    return error


@contextmanager
def write_lock(service: Service) -> Iterator[None]:
    """Another connection holds the write lock on the assessments for the duration."""
    url = make_url(service.settings.resolved_database_url)
    if service.backend == "sqlite":
        conn = sqlite3.connect(url.database, timeout=5, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE assessments IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()
