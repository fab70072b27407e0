"""A server per database for the analysts' queue, and helpers that go through its API.

Disputes arrive here from 127.0.0.1 only, so this server turns the
per-address dispute limit off (``test_disputes.py`` starts its own server to
test that limit) and keeps at most two open disputes per report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.service.conftest import BACKENDS, Service, start_service
from tests.service.helpers import unique_snapshot

MAX_OPEN = 2


@pytest.fixture(scope="session", params=BACKENDS)
def analyst_service(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with start_service(request.param, tmp_path_factory.mktemp(f"analysts-{request.param}"),
                       dispute_rate_per_hour=0, dispute_max_open_per_report=MAX_OPEN,
                       max_batch_items=20) as svc:
        yield svc


@pytest.fixture
def analyst_key(analyst_service: Service) -> str:
    return analyst_service.new_key("analyst")


@pytest.fixture
def platform_key(analyst_service: Service) -> str:
    return analyst_service.new_key("platform")


def scored(service: Service, key: str, **snapshot: Any) -> dict[str, Any]:
    """A stored assessment (with its snapshot) of a fresh account."""
    document = unique_snapshot(**snapshot)
    with service.client(key) as client:
        response = client.post("/v1/score", json=document)
    assert response.status_code == 200, response.text
    return response.json()


def trust_report(service: Service, snapshot: dict[str, Any] | None = None,
                 key: str | None = None) -> str:
    """The id of a fresh trust-check report about a fresh account (run with ``key``)."""
    document = snapshot or unique_snapshot()
    body = {"claimed_score": 40, "platform": document["platform"],
            "handle": document["profile"]["username"], "snapshot": document}
    with service.client(key or service.new_key("recruiter")) as client:
        response = client.post("/v1/trust-check", json=body)
    assert response.status_code == 201, response.text
    return response.json()["report_id"]
