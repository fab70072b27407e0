"""The server refreshes its ring table by itself and shows it on /metrics.

A running server with a short ``ring_refresh_seconds`` stores what is
POSTed; its loop sees the edge store change, runs `trueclout rings refresh`
in a child process, and the table appears where the server reads it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.service.conftest import start_service
from tests.service.rings.conftest import PROMPT_PODS
from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.world import simulate_world


def gauge(text: str, name: str) -> float | None:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_the_server_refreshes_the_ring_table_when_the_store_changes(tmp_path: Path) -> None:
    world = simulate_world(40, seed=31, params=PROMPT_PODS)
    documents = [s.model_dump_json() for s in tables_to_snapshots(world.tables)]
    with start_service("sqlite", tmp_path, ring_refresh_seconds=0.5,
                       max_body_bytes=16 * 1024 * 1024) as service:
        table = service.settings.resolved_ring_table
        assert not table.exists()  # an empty store: nothing to refresh
        with service.client(service.new_key("platform")) as client:
            for document in documents[:20]:
                response = client.post("/v1/score", content=document)
                assert response.status_code == 200, response.text
        deadline = time.monotonic() + 120
        while not table.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert table.exists(), "no refresh within 120 s"
        with service.client() as client:
            deadline = time.monotonic() + 30  # the figures follow the next check
            while True:
                text = client.get("/metrics").text
                if gauge(text, "trueclout_ring_table_accounts") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        assert (gauge(text, "trueclout_ring_table_accounts") or 0) > 0
        assert (gauge(text, "trueclout_ring_table_edges") or 0) > 0
        assert (gauge(text, "trueclout_ring_refresh_duration_seconds") or 0) > 0
        age = gauge(text, "trueclout_ring_table_age_seconds")
        assert age is not None and 0 <= age < 300
