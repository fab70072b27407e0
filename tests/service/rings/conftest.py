"""A migrated database per backend, and a small simulated world stored as if scored."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import BACKENDS, migrated_database
from tests.service.doubles import DeterministicTestScorer
from trueclout.contract import AccountSnapshot
from trueclout.service.db.engine import Database
from trueclout.service.db.snapshots import store_scored
from trueclout.service.scoring.scorer import assessment_json
from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.params import TacticRanges, WorldParams
from trueclout.training.sim.world import World, simulate_world

STORED_AT = datetime(2026, 12, 1, tzinfo=UTC)
# Pods that engage within 20 minutes: what the graph detectors are built to see.
PROMPT_PODS = WorldParams(tactics=TacticRanges(pod_delay_seconds=(5.0, 1_200.0)))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database at the newest revision, per backend."""
    with migrated_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture(scope="session")
def small_world() -> World:
    return simulate_world(120, seed=21, params=PROMPT_PODS)


@pytest.fixture(scope="session")
def world_snapshots(small_world: World) -> list[AccountSnapshot]:
    return list(tables_to_snapshots(small_world.tables))


def store(database: Database, snapshots: Sequence[AccountSnapshot | dict[str, Any]], *,
          stored_at: datetime = STORED_AT, retention_days: int = 90) -> None:
    """Score (with the test double) and store, as ``POST /v1/score/batch`` does."""
    scorer = DeterministicTestScorer()
    parsed = [s if isinstance(s, AccountSnapshot) else AccountSnapshot.model_validate(s)
              for s in snapshots]
    items = [(a, assessment_json(a)) for a in (scorer.assess(s, scored_at=stored_at)
                                               for s in parsed)]
    database.call(store_scored, items=items,
                  documents=[s.model_dump_json().encode() for s in parsed], snapshots=parsed,
                  api_key_id=None,
                  stored_at=stored_at, retention_days=retention_days)
