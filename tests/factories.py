"""Hand-made snapshots for tests: small, valid, and easy to bend into bad ones."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

OBSERVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def snapshot_dict(
    account_id: str = "acct-1",
    *,
    followers: int = 3,
    posts: int = 2,
    engagements_per_post: int = 2,
    history_days: int = 5,
    observed: datetime = OBSERVED,
) -> dict[str, Any]:
    """A small, valid AccountSnapshot as the wire sends it."""
    created = observed - timedelta(days=900)
    doc: dict[str, Any] = {
        "account_id": account_id,
        "platform": "twitter",
        "observed_at": iso(observed),
        "raw_score": 42.5,
        "profile": {
            "username": "anna_k",
            "display_name": "Anna K",
            "created_at": iso(created),
            "followers_count": 1200,
            "following_count": 300,
            "posts_count": 800,
            "verified": False,
            "default_avatar": False,
            "bio": "Cycling, maps, coffee.",
        },
        "follower_history": [
            {"date": (observed - timedelta(days=history_days - i)).date().isoformat(),
             "followers": 1100 + 20 * i, "following": 300}
            for i in range(history_days)
        ],
        "followers": [
            {
                "account_id": f"f{i}",
                "username": f"follower{i}",
                "created_at": iso(created + timedelta(days=10 * i)),
                "followers_count": 10 + i,
                "following_count": 50,
                "posts_count": 100,
                "followed_at": iso(observed - timedelta(days=i + 1)),
            }
            for i in range(followers)
        ],
        "posts": [
            {"post_id": f"p{i}", "created_at": iso(observed - timedelta(days=i + 1)),
             "likes_count": 30, "reposts_count": 3, "replies_count": 1}
            for i in range(posts)
        ],
        "engagements": [
            {"actor_id": f"a{j}", "post_id": f"p{i}", "kind": "like",
             "at": iso(observed - timedelta(days=i + 1) + timedelta(minutes=5 + j))}
            for i in range(posts)
            for j in range(engagements_per_post)
        ],
        "reposts_made": [
            {"target_account_id": "other-1", "post_id": "x1",
             "at": iso(observed - timedelta(days=2))}
        ],
    }
    return doc


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with the value at ``a.b[2].c`` replaced (``...`` deletes it)."""
    out = copy.deepcopy(doc)
    parts: list[str | int] = []
    for token in path.replace("]", "").replace("[", ".").split("."):
        parts.append(int(token) if token.isdigit() else token)
    target = out
    for p in parts[:-1]:
        target = target[p]
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return out
