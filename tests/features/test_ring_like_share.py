"""The snapshot's ring-like share of engagement: what the adjusted score's ring discount rests on.

An engagement counts when its actor is in the core (on at least 80% of the
engaged posts) or is reposted by the account, or when it came within two
minutes of publication; each engagement once; unknown without engagements.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from tests.factories import OBSERVED, iso, snapshot_dict
from tests.service.model_support import with_pod
from trueclout.contract import AccountSnapshot
from trueclout.features.pipeline import compute_features
from trueclout.tables import snapshots_to_tables


def ring_like_share(doc: dict[str, Any]) -> float:
    frame = compute_features(snapshots_to_tables([AccountSnapshot.model_validate(doc)]))
    return float(frame.context["engagement_ring_like_share"][0])


def with_passers_by(doc: dict[str, Any], *, after: timedelta | None = None) -> dict[str, Any]:
    """One engagement per post from an actor seen on that post only (b0 on p0, b1 on p1...),
    ``after`` publication (default: when the data was read, days later)."""
    def at(post: dict[str, Any]) -> str:
        created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
        return iso(OBSERVED if after is None else created + after)

    extra = [{"actor_id": f"b{i}", "post_id": p["post_id"], "kind": "like", "at": at(p)}
             for i, p in enumerate(doc["posts"])]
    return {**doc, "engagements": doc["engagements"] + extra}


def reposting(doc: dict[str, Any], *targets: str) -> dict[str, Any]:
    made = [{"target_account_id": t, "post_id": None, "at": iso(OBSERVED)} for t in targets]
    return {**doc, "reposts_made": made}


def test_core_reposted_and_fast_engagements_count_once_each() -> None:
    # a0-a2 on all 4 posts (core, 12 engagements, 5+ minutes late); b0-b3 once each: 16.
    doc = with_passers_by(snapshot_dict(posts=4, engagements_per_post=3))
    assert ring_like_share(reposting(doc, "nobody")) == 12 / 16
    assert ring_like_share(reposting(doc, "b0")) == 13 / 16
    # a0 is core and reposted: counted once.
    assert ring_like_share(reposting(doc, "b0", "a0")) == 13 / 16
    fast = with_passers_by(snapshot_dict(posts=4, engagements_per_post=3),
                           after=timedelta(seconds=30))
    assert ring_like_share(reposting(fast, "b0")) == 16 / 16


def test_reposted_and_fast_engagements_are_measured_when_the_core_cannot_be() -> None:
    doc = snapshot_dict(posts=2, engagements_per_post=2)  # a0, a1 on 2 posts: too few posts
    assert ring_like_share({**doc, "reposts_made": []}) == 0.0
    assert ring_like_share(reposting(doc, "a0")) == 2 / 4
    assert ring_like_share(reposting(doc, "someone-else")) == 0.0


def test_without_engagements_the_share_is_unknown() -> None:
    assert math.isnan(ring_like_share(snapshot_dict(posts=4, engagements_per_post=0)))


def test_a_pod_never_lowers_the_share_however_few_the_posts() -> None:
    for posts in (1, 2, 5):
        doc = reposting(with_passers_by(snapshot_dict(posts=posts, engagements_per_post=1)),
                        "b0")
        before = ring_like_share(doc)
        after = ring_like_share(with_pod(doc, 3))
        assert 0 < before < after <= 1, posts
