"""Constructed accounts with known answers: organic baselines and the tactics they hide.

Each builder returns a wire-format snapshot dict; the ``with_*`` functions
plant one tactic (a purchase, a viral post, a pod, a community, crude fake
followers) into it.  Everything is seeded, so each case is the same on every
run.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from trueclout.contract import AccountSnapshot
from trueclout.tables import SnapshotTables, snapshots_to_tables

OBSERVED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _post_time(doc: dict[str, Any], post_id: str) -> datetime:
    for p in doc["posts"]:
        if p["post_id"] == post_id:
            return datetime.fromisoformat(p["created_at"].replace("Z", "+00:00"))
    raise KeyError(post_id)


def _word(rng: np.random.Generator, low: int, high: int) -> str:
    return "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(low, high))))


def organic_follower(rng: np.random.Generator, i: int, prefix: str = "fan") -> dict[str, Any]:
    created = OBSERVED - timedelta(days=float(rng.uniform(200, 4000)))
    return {
        "account_id": f"{prefix}{i}",
        "username": _word(rng, 4, 9) + (f"{rng.integers(0, 99)}" if rng.random() < 0.3 else ""),
        "display_name": f"{_word(rng, 3, 7).title()} {_word(rng, 4, 9).title()}",
        "created_at": iso(created),
        "followers_count": int(rng.integers(30, 3000)),
        "following_count": int(rng.integers(30, 800)),
        "posts_count": int(rng.integers(20, 5000)),
        "default_avatar": bool(rng.random() < 0.05),
        "bio": "" if rng.random() < 0.25 else " ".join(_word(rng, 2, 9) for _ in range(6)),
        "followed_at": iso(OBSERVED - timedelta(days=float(rng.uniform(1, 150)))),
    }


def organic_account(
    account_id: str,
    seed: int,
    *,
    days: int = 120,
    base_followers: int = 20_000,
    daily_gain: float = 25.0,
    n_posts: int = 40,
    n_followers: int = 200,
    engagements_per_post: int = 30,
    fans: int = 3_000,
    reposts_made: int = 20,
) -> dict[str, Any]:
    """A steadily growing account whose engagement comes from a large, loose fan base."""
    rng = np.random.default_rng(seed)
    gains = np.maximum(rng.normal(daily_gain, np.sqrt(daily_gain) + 2, days), 0).round()
    counts = base_followers + np.cumsum(gains).astype(int)
    following = 400 + rng.integers(-3, 4, days).cumsum()
    history = [
        {"date": (OBSERVED - (days - i) * DAY).date().isoformat(),
         "followers": int(counts[i]), "following": int(max(following[i], 0))}
        for i in range(days)
    ]
    posts, engagements = [], []
    for j in range(n_posts):
        created = OBSERVED - timedelta(hours=float(rng.uniform(6, 24 * (days - 2))))
        post_id = f"p{j}"
        actors = rng.choice(fans, size=engagements_per_post, replace=False)
        delays = rng.lognormal(np.log(3_600), 1.3, engagements_per_post)
        for actor, delay in zip(actors, delays, strict=True):
            at = min(created + timedelta(seconds=float(delay)), OBSERVED)
            kind = "like" if rng.random() < 0.8 else "repost"
            engagements.append({"actor_id": f"fan{actor}", "post_id": post_id, "kind": kind,
                                "at": iso(at)})
        posts.append({"post_id": post_id, "created_at": iso(created),
                      "likes_count": int(engagements_per_post * 8 * rng.uniform(0.7, 1.3)),
                      "reposts_count": int(engagements_per_post * 2 * rng.uniform(0.7, 1.3)),
                      "replies_count": int(rng.integers(0, 20))})
    return {
        "account_id": account_id,
        "platform": "twitter",
        "observed_at": iso(OBSERVED),
        "raw_score": 50.0,
        "profile": {
            "username": f"creator_{account_id}",
            "display_name": "A Creator",
            "created_at": iso(OBSERVED - 1500 * DAY),
            "followers_count": int(counts[-1]),
            "following_count": int(max(following[-1], 0)),
            "posts_count": 3_000,
            "listed_count": 120,
            "default_avatar": False,
            "bio": "Making things.",
        },
        "follower_history": history,
        "followers": [organic_follower(rng, i) for i in range(n_followers)],
        "posts": posts,
        "engagements": engagements,
        "reposts_made": [
            {"target_account_id": f"other{k}",
             "at": iso(OBSERVED - float(rng.uniform(1, 90)) * DAY)}
            for k in range(reposts_made)
        ],
    }


def _add_to_history(doc: dict[str, Any], from_day: str, gain: int) -> None:
    for h in doc["follower_history"]:
        if h["date"] >= from_day:
            h["followers"] += gain
    doc["profile"]["followers_count"] += gain


def with_purchase(doc: dict[str, Any], *, days_ago: int = 40, bought: int = 5_000) -> dict:
    """``bought`` followers arrive on one day; nothing else changes."""
    out = copy.deepcopy(doc)
    _add_to_history(out, (OBSERVED - days_ago * DAY).date().isoformat(), bought)
    return out


def with_viral_post(doc: dict[str, Any], *, days_ago: int = 40, gain: int = 5_000,
                    likes: int = 60_000, seed: int = 0) -> dict:
    """A post goes viral: followers *and* engagement rise the same days."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(doc)
    day = OBSERVED - days_ago * DAY
    _add_to_history(out, day.date().isoformat(), gain * 2 // 3)
    _add_to_history(out, (day + DAY).date().isoformat(), gain - gain * 2 // 3)
    created = day.replace(hour=1)
    out["posts"].append({"post_id": "viral", "created_at": iso(created), "likes_count": likes,
                         "reposts_count": likes // 5, "replies_count": likes // 50})
    for k in range(300):
        at = created + timedelta(seconds=float(rng.lognormal(np.log(7_200), 1.0)))
        out["engagements"].append({"actor_id": f"new{k}", "post_id": "viral", "kind": "like",
                                   "at": iso(min(at, OBSERVED))})
    return out


def _members_engage(doc: dict[str, Any], members: list[str], delay_s: np.ndarray,
                    kind: str, rng: np.random.Generator) -> None:
    for p in doc["posts"]:
        created = _post_time(doc, p["post_id"])
        for m in members:
            at = created + timedelta(seconds=float(rng.choice(delay_s)))
            doc["engagements"].append({"actor_id": m, "post_id": p["post_id"], "kind": kind,
                                       "at": iso(min(at, OBSERVED))})


def with_pod(doc: dict[str, Any], *, members: int = 20, within_s: float = 120.0,
             seed: int = 0) -> dict:
    """``members`` accounts repost every post within ``within_s`` seconds, and the account
    reposts them back."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(doc)
    names = [f"pod{k}" for k in range(members)]
    _members_engage(out, names, rng.uniform(5, within_s, 1_000), "repost", rng)
    out["reposts_made"] += [{"target_account_id": m, "at": iso(OBSERVED - DAY)} for m in names]
    return out


def with_community(doc: dict[str, Any], *, members: int = 20, spread_hours: float = 10.0,
                   seed: int = 0) -> dict:
    """``members`` loyal followers engage every post, spread over hours."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(doc)
    names = [f"friend{k}" for k in range(members)]
    _members_engage(out, names, rng.uniform(600, spread_hours * 3_600, 1_000), "like", rng)
    return out


def crude_fake(i: int, *, created: datetime | None = None, followed: datetime | None = None
               ) -> dict[str, Any]:
    """A mass-made follower: default picture, empty bio, no posts, follows thousands."""
    created = created or OBSERVED - 20 * DAY
    return {
        "account_id": f"bulk{i}",
        "username": f"user{48_213_907 + i}",
        "display_name": None,
        "created_at": iso(created),
        "followers_count": 1,
        "following_count": 2_000,
        "posts_count": 0,
        "default_avatar": True,
        "bio": "",
        "followed_at": iso(followed or created + 2 * DAY),
    }


def with_crude_fakes(doc: dict[str, Any], n: int = 200) -> dict:
    """The follower sample holds ``n`` crude fakes (replacing organic followers)."""
    out = copy.deepcopy(doc)
    out["followers"] = [crude_fake(i) for i in range(n)] + out["followers"][n:]
    return out


def tables_of(*docs: dict[str, Any]) -> SnapshotTables:
    return snapshots_to_tables(AccountSnapshot.model_validate(d) for d in docs)


def with_churn(doc: dict[str, Any], *, wave_share: float = 0.15, period: int = 10,
               hold: int = 5, follow_back: float = 0.1) -> dict:
    """A churn tool: every ``period`` days follow ``wave_share`` of the following count over
    two days, unfollow those who did not follow back ``hold`` days later; the follow-backs
    it keeps pile up (following and followers creep up in steps)."""
    out = copy.deepcopy(doc)
    history = out["follower_history"]
    wave = max(20, int(wave_share * history[0]["following"]))
    kept = 0
    for i, h in enumerate(history):
        phase = i % period
        held = wave * min(phase + 1, 2) / 2 if phase < hold else wave * follow_back
        if phase == 0 and i > 0:
            kept += int(wave * follow_back)
        h["following"] += int(held) + kept
        h["followers"] += kept + (int(wave * follow_back) if phase >= 2 else 0)
    out["profile"]["following_count"] = history[-1]["following"]
    out["profile"]["followers_count"] = history[-1]["followers"]
    return out


def with_following_event(doc: dict[str, Any], *, share: float = 0.6, days_ago: int = 50
                         ) -> dict:
    """The organic look-alike of churn: one follow spree over two days, never undone."""
    out = copy.deepcopy(doc)
    history = out["follower_history"]
    batch = int(share * history[0]["following"])
    day = (OBSERVED - days_ago * DAY).date().isoformat()
    for h in history:
        if h["date"] >= day:
            h["following"] += batch
    out["profile"]["following_count"] = history[-1]["following"]
    return out


def with_pod_rounds(doc: dict[str, Any], *, members: int = 15, round_s: float = 3 * 3_600,
                    jitter: float = 0.3, seed: int = 0) -> dict:
    """A slow pod: members engage every post in a round ``round_s`` seconds after it is
    shared, within a log-sd ``jitter`` of each other, and the account reposts them back."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(doc)
    names = [f"pod{k}" for k in range(members)]
    for p in out["posts"]:
        created = _post_time(out, p["post_id"])
        start = round_s * rng.lognormal(0, 0.5)
        for m in names:
            at = created + timedelta(seconds=float(start * rng.lognormal(0, jitter)))
            out["engagements"].append({"actor_id": m, "post_id": p["post_id"],
                                       "kind": "repost" if rng.random() < 0.4 else "like",
                                       "at": iso(min(at, OBSERVED))})
    out["reposts_made"] += [{"target_account_id": m, "at": iso(OBSERVED - DAY)} for m in names]
    return out


def with_drip(doc: dict[str, Any], *, bought: int = 6_000, days: int = 30, days_ago: int = 45
              ) -> dict:
    """Bought followers delivered evenly over ``days`` days: no burst, no new engagement."""
    out = copy.deepcopy(doc)
    history = out["follower_history"]
    first = (OBSERVED - days_ago * DAY).date()
    for h in history:
        elapsed = (date.fromisoformat(h["date"]) - first).days + 1
        h["followers"] += int(bought * min(max(elapsed, 0), days) / days)
    out["profile"]["followers_count"] = history[-1]["followers"]
    return out


def with_takeoff(doc: dict[str, Any], *, gained: int = 6_000, days: int = 30, days_ago: int = 45,
                 seed: int = 0) -> dict:
    """The organic look-alike of a drip: a stretch of fast growth that the account's posts
    earned: their engagement rises by the factor its growth rate rose (from people new to the
    account)."""
    rng = np.random.default_rng(seed)
    history = doc["follower_history"]
    usual = (history[-1]["followers"] - history[0]["followers"]) / max(len(history) - 1, 1)
    boost = 1.0 + gained / max(usual * days, 1.0)
    out = with_drip(doc, bought=gained, days=days, days_ago=days_ago)
    start = OBSERVED - days_ago * DAY
    if not any(start <= _post_time(out, p["post_id"]) <= start + days * DAY
               for p in out["posts"]):  # growth comes through a post: the one that took off
        typical = out["posts"][0]
        out["posts"].append({**typical, "post_id": "takeoff",
                             "created_at": iso(start + timedelta(hours=6))})
    for p in out["posts"]:
        created = _post_time(out, p["post_id"])
        if not start <= created <= start + days * DAY:
            continue
        for key in ("likes_count", "reposts_count", "replies_count"):
            p[key] = int(p[key] * boost)
        for k in range(int(30 * (boost - 1))):
            at = created + timedelta(seconds=float(rng.lognormal(np.log(3_600), 1.3)))
            out["engagements"].append({"actor_id": f"new-{p['post_id']}-{k}",
                                       "post_id": p["post_id"], "kind": "like",
                                       "at": iso(min(at, OBSERVED))})
    return out
