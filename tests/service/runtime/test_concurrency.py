"""A write waiting on a locked database does not stall the other requests of the worker.

Ordering, not timing: the lock is released only after /healthz has answered,
so if the waiting write blocked the event loop, /healthz could not answer and
the test would fail on its client timeout.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import BACKENDS, start_service
from tests.service.helpers import unique_snapshot, write_lock


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blocked_write_does_not_block_other_requests(backend: str, tmp_path: Path) -> None:
    with start_service(backend, tmp_path, database_timeout_ms=60_000) as service:
        key = service.new_key("platform")
        outcome: dict[str, int] = {}

        def score() -> None:
            with service.client(key) as client:
                outcome["status"] = client.post("/v1/score", json=unique_snapshot()).status_code

        with write_lock(service):
            writer = threading.Thread(target=score)
            writer.start()
            writer.join(timeout=0.5)  # give the request time to reach the locked write
            assert writer.is_alive(), "the write should be waiting for the lock"
            with httpx.Client(base_url=service.base_url, timeout=15) as client:
                assert client.get("/healthz").status_code == 200
                assert client.get("/v1/models/active",
                                  headers={"Authorization": f"Bearer {key}"}).status_code == 200
            assert writer.is_alive()
        writer.join(timeout=30)
        assert outcome == {"status": 200}
        assert service.count() == 1
