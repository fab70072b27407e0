"""Test doubles for the service. NOT a model: simple, deterministic arithmetic on the snapshot.

``DeterministicTestScorer`` stands in for the account-level model so the API,
storage and CLI can be tested (and benchmarked) before the real model is
wired into ``trueclout.service.scoring.scorer.load_scorer``.  Its numbers mean nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import FastAPI

from trueclout.assessment import (
    Assessment,
    AuthenticReach,
    Confidence,
    ModelRef,
    Reason,
    Risk,
    Tactics,
)
from trueclout.contract import AccountSnapshot
from trueclout.service.db.engine import Database
from trueclout.service.scoring.scorer import ModelInfo

T = TypeVar("T")

TEST_MODEL = ModelInfo(name="test-double", version="0.0.0-test",
                       card={"kind": "test double", "note": "not a model"})


def _ring_share(snapshot: AccountSnapshot) -> float:
    if not snapshot.engagements:
        return 0.0
    actors = Counter(e.actor_id for e in snapshot.engagements)
    return 1.0 - len(actors) / len(snapshot.engagements)


def _burst_share(snapshot: AccountSnapshot) -> float:
    points = sorted(snapshot.follower_history, key=lambda h: h.date)
    jumps = [b.followers - a.followers for a, b in zip(points, points[1:], strict=False)]
    top = max(jumps, default=0)
    return min(1.0, max(0.0, top / max(1, points[-1].followers))) if points else 0.0


class DeterministicTestScorer:
    """Implements ``trueclout.service.scoring.scorer.Scorer`` with arithmetic a test can predict."""

    def __init__(self, info: ModelInfo = TEST_MODEL) -> None:
        self.info = info
        self.calls = 0

    def model_info(self) -> ModelInfo:
        return self.info

    def ready(self) -> bool:
        return True

    def assess(self, snapshot: AccountSnapshot, *, scored_at: datetime) -> Assessment:
        self.calls += 1
        sample = snapshot.followers
        fake = sum(1 for f in sample if f.default_avatar) / len(sample) if sample else 0.0
        tactics = Tactics(bought_followers=fake, engagement_ring=_ring_share(snapshot),
                          growth_burst=_burst_share(snapshot))
        probability = max(tactics.bought_followers, tactics.engagement_ring, tactics.growth_burst)
        level = "high" if probability >= 0.7 else "elevated" if probability >= 0.3 else "low"
        raw = snapshot.raw_score
        reasons = [
            Reason(code=f"TEST_{name.upper()}", family=family,
                   message=f"test double: {name} share {value:.2f}", contribution=value)
            for name, family, value in (
                ("bought_followers", "audience", tactics.bought_followers),
                ("engagement_ring", "engagement", tactics.engagement_ring),
                ("growth_burst", "growth", tactics.growth_burst),
            ) if value >= 0.3
        ]
        reach = None
        if sample:
            total = snapshot.profile.followers_count
            reach = AuthenticReach(
                followers=round(total * (1 - fake)), followers_low=round(total * (1 - fake) * 0.9),
                followers_high=min(total, round(total * (1 - fake) * 1.1)),
                fake_share=fake, fake_share_low=max(0.0, fake - 0.1),
                fake_share_high=min(1.0, fake + 0.1))
        thin = not sample and not snapshot.engagements
        return Assessment(
            assessment_id=uuid.uuid4().hex,
            account_id=snapshot.account_id,
            platform=snapshot.platform,
            scored_at=scored_at,
            raw_score=raw,
            adjusted_score=None if raw is None else round(raw * (1 - probability), 4),
            risk=Risk(probability=probability, level=level, flag=level == "high"),
            tactics=tactics,
            reasons=reasons[:4],
            authentic_reach=reach,
            confidence=Confidence(level="insufficient" if thin else "medium",
                                  notes=["no followers or engagements"] if thin else []),
            model=ModelRef(name=self.info.name, version=self.info.version),
        )

    def assess_many(
        self, snapshots: Sequence[AccountSnapshot], *, scored_at: datetime | None = None
    ) -> list[Assessment]:
        when = scored_at or datetime.now(UTC)
        return [self.assess(s, scored_at=when) for s in snapshots]


class _InlineWritesDatabase(Database):
    """Writes on the event loop: what the thread pool in ``Database.run`` is measured against."""

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        return self.call(fn, **kwargs)


def create_inline_writes_app() -> FastAPI:
    """The benchmark's comparison server: like ``create_test_app`` but writing on the loop."""
    from trueclout.service.db.engine import build_engine
    from trueclout.service.runtime.app import create_app
    from trueclout.settings import get_settings

    database = _InlineWritesDatabase(build_engine(get_settings()))
    return create_app(scorer=DeterministicTestScorer(), database=database, freeze_gc=True)


def create_test_app() -> FastAPI:
    """``serving_app`` with the test double instead of the model (the benchmark's server)."""
    from trueclout.service.runtime.app import create_app

    return create_app(scorer=DeterministicTestScorer(), freeze_gc=True)
