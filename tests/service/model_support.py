"""Shared by the tests that score with the real shipped model: loading it, samples, builders.

The shipped default model (``models/default``) is loaded once per test
process.  Builders make snapshots whose manipulation is known by construction:
fake-looking followers (every crude fingerprint at once) and an engagement
pod (the same accounts on every post within seconds of publication).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from tests.factories import iso
from trueclout.contract import AccountSnapshot
from trueclout.data import SAMPLES_DIR
from trueclout.models.artifact import SHIPPED_DIR, Artifact, load_artifact
from trueclout.service.scoring.model_scorer import ModelScorer
from trueclout.service.scoring.scorer import load_scorer
from trueclout.settings import Settings

GENUINE_SAMPLES = ("genuine_steady", "genuine_community", "viral_genuine")


@cache
def shipped_model() -> Artifact:
    artifact = load_artifact(SHIPPED_DIR)
    artifact.set_threads(1)
    return artifact


def model_scorer_for(data_dir: Path, **overrides: Any) -> ModelScorer:
    """What `trueclout serve` loads for a data directory (empty registry: the shipped model)."""
    scorer = load_scorer(Settings(data_dir=data_dir, **overrides))
    assert isinstance(scorer, ModelScorer)
    return scorer


def sample_doc(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES_DIR / f"{name}.json").read_text())


def sample(name: str) -> AccountSnapshot:
    return AccountSnapshot.model_validate(sample_doc(name))


def fake_follower(i: int, observed: datetime) -> dict[str, Any]:
    """A follower with every crude fingerprint: new, empty, following thousands, default picture.

    Its username is near-random (high entropy, a run of digits) and shares a
    pattern with the other fakes; all fakes were created on the same day.
    """
    return {
        "account_id": f"fake-{i}",
        "username": f"qwertyuiopasdfghjklzxcvbnm{1000 + i}",
        "display_name": None,
        "created_at": iso(observed - timedelta(days=3)),
        "followers_count": 0,
        "following_count": 5_000,
        "posts_count": 0,
        "listed_count": 0,
        "likes_count": 0,
        "verified": False,
        "default_avatar": True,
        "bio": "",
        "url": None,
        "location": None,
        "followed_at": iso(observed - timedelta(days=2)),
    }


def with_fake_followers(doc: dict[str, Any], k: int) -> dict[str, Any]:
    """``doc`` with ``k`` fake-looking followers added to its sample (counts unchanged)."""
    out = copy.deepcopy(doc)
    observed = datetime.fromisoformat(out["observed_at"].replace("Z", "+00:00"))
    start = len(out["followers"])
    out["followers"] = [fake_follower(start + i, observed) for i in range(k)] + out["followers"]
    return out


def with_pod(doc: dict[str, Any], members: int) -> dict[str, Any]:
    """``doc`` with an engagement pod: ``members`` accounts repost every post within seconds."""
    out = copy.deepcopy(doc)
    observed = datetime.fromisoformat(out["observed_at"].replace("Z", "+00:00"))
    for post in out["posts"]:
        created = datetime.fromisoformat(str(post["created_at"]).replace("Z", "+00:00"))
        for j in range(members):
            at = min(created + timedelta(seconds=3 + j), observed)
            out["engagements"].append({"actor_id": f"pod-{j}", "post_id": post["post_id"],
                                       "kind": "repost", "at": iso(at)})
    return out
