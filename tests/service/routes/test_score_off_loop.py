"""Scoring never blocks the event loop: ``/healthz`` answers while a worker is mid-scoring.

The scorer here blocks until the test releases it, so a route that scored on
the event loop would leave ``/healthz`` unanswered (its request times out)
until then.  No timing is asserted: the check is that liveness answers at all
while scoring is still under way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import Service, start_service
from tests.service.doubles import DeterministicTestScorer
from tests.service.helpers import unique_snapshot
from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot

# Long enough that only a blocked event loop misses it, not a slow machine.
LIVENESS_TIMEOUT_S = 10.0


class GatedScorer(DeterministicTestScorer):
    """The test double, held inside ``assess`` until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def assess(self, snapshot: AccountSnapshot, *, scored_at: datetime) -> Assessment:
        self.entered.set()
        if not self.release.wait(timeout=60):
            raise RuntimeError("the test never released the scorer")
        return super().assess(snapshot, scored_at=scored_at)


@pytest.fixture(scope="module")
def gated_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with start_service("sqlite", Path(tmp_path_factory.mktemp("gated")),
                       scorer=GatedScorer()) as svc:
        yield svc


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/score", lambda: unique_snapshot()),
    ("/v1/score/batch", lambda: {"snapshots": [unique_snapshot()]}),
])
def test_healthz_answers_while_a_request_is_being_scored(
        gated_service: Service, path: str, body: Any) -> None:
    scorer: GatedScorer = gated_service.scorer
    scorer.entered.clear()
    scorer.release.clear()
    key = gated_service.new_key("platform")
    answers: dict[str, httpx.Response] = {}

    def post() -> None:
        with gated_service.client(key) as client:
            answers["score"] = client.post(path, json=body())

    poster = threading.Thread(target=post)
    poster.start()
    try:
        assert scorer.entered.wait(timeout=30), "the scorer was never called"
        with httpx.Client(base_url=gated_service.base_url,
                          timeout=LIVENESS_TIMEOUT_S) as client:
            health = client.get("/healthz")
        assert health.status_code == 200
        assert not scorer.release.is_set() and poster.is_alive(), "scoring was not under way"
    finally:
        scorer.release.set()
        poster.join(timeout=30)
    assert answers["score"].status_code == 200, answers["score"].text
