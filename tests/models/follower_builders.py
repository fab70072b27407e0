"""Small labelled-follower folders in the supported layouts, built by the tests themselves.

The profiles imitate what the research data sets show (humans active for
years; bought followers follow hundreds, post little and are followed by
few) so that a model trained on them has something to learn, but they are
generated here: no research data is copied.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

CRAWL = datetime(2015, 2, 14, 10, 0, 0, tzinfo=UTC)
TWITTER_TIME = "%a %b %d %H:%M:%S +0000 %Y"
CRESCI_HEADER = [
    "id", "name", "screen_name", "statuses_count", "followers_count", "friends_count",
    "favourites_count", "listed_count", "created_at", "url", "lang", "location",
    "default_profile_image", "verified", "description", "updated", "dataset",
]


def twitter_time(dt: datetime) -> str:
    return dt.strftime(TWITTER_TIME)


def cresci_profiles(kind: str, n: int, seed: int, group: str = "X") -> list[dict[str, Any]]:
    """``n`` rows of the Twitter export: kind ``human``, ``fake`` or ``fake_active``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        if kind == "human":
            posts = int(rng.lognormal(6.5, 1.0))
            followers = int(rng.lognormal(5.0, 1.0))
            following = int(rng.lognormal(5.3, 0.8))
            likes, listed = int(rng.lognormal(3.5, 1.5)), int(rng.poisson(2))
            created = CRAWL - timedelta(days=int(rng.integers(400, 2500)))
            url = "http://example.org/" + str(i) if rng.random() < 0.3 else ""
            bio = "x" * int(rng.integers(5, 120)) if rng.random() < 0.97 else ""
            location = "Somewhere" if rng.random() < 0.6 else ""
            name = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 7))
        else:
            active = kind == "fake_active"
            posts = int(rng.integers(25, 60) if active else rng.integers(5, 30))
            followers = int(rng.integers(10, 25) if active else rng.integers(2, 15))
            following = int(rng.integers(250, 600) if active else rng.integers(150, 300))
            likes, listed = (int(rng.integers(0, 5)) if active else 0), 0
            created = CRAWL - timedelta(days=int(rng.integers(900, 1000) if active
                                                 else rng.integers(700, 760)))
            url = ""
            bio = "y" * int(rng.integers(5, 40)) if rng.random() < 0.8 else ""
            location = "Anywhere" if rng.random() < 0.95 else ""
            name = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 9)) + str(
                int(rng.integers(0, 100)))
        rows.append({
            "id": f"{group}{seed}-{i}", "name": name.title(), "screen_name": name,
            "statuses_count": str(posts), "followers_count": str(followers),
            "friends_count": str(following), "favourites_count": str(likes),
            "listed_count": str(listed), "created_at": twitter_time(created), "url": url,
            "lang": "en", "location": location, "default_profile_image": "",
            "verified": "", "description": bio,
            "updated": CRAWL.strftime("%Y-%m-%d %H:%M:%S"), "dataset": group,
        })
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    header = header or CRESCI_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, quoting=csv.QUOTE_ALL,
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def cresci_folder(folder: Path, *, humans: int = 60, fakes: dict[str, int] | None = None,
                  seed: int = 0) -> Path:
    """humans_H.csv plus one fakes_<market>.csv per entry of ``fakes`` (market -> rows)."""
    fakes = {"A": 40, "B": 40} if fakes is None else fakes
    if humans:
        write_csv(folder / "humans_H.csv", cresci_profiles("human", humans, seed, "H"))
    for j, (market, n) in enumerate(sorted(fakes.items())):
        kind = "fake_active" if j % 2 else "fake"
        write_csv(folder / f"fakes_{market}.csv", cresci_profiles(kind, n, seed + 1 + j, market))
    return folder


def instafake_records(fake: bool, n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        if fake:
            rec = {"userFollowerCount": int(rng.integers(0, 80)),
                   "userFollowingCount": int(rng.integers(500, 5000)),
                   "userBiographyLength": int(rng.integers(0, 3)),
                   "userMediaCount": int(rng.integers(0, 4)),
                   "userHasProfilPic": int(rng.random() < 0.6),
                   "userIsPrivate": int(rng.random() < 0.3),
                   "usernameDigitCount": int(rng.integers(0, 6)),
                   "usernameLength": int(rng.integers(8, 16)), "isFake": 1}
        else:
            rec = {"userFollowerCount": int(rng.integers(100, 900)),
                   "userFollowingCount": int(rng.integers(50, 700)),
                   "userBiographyLength": int(rng.integers(0, 90)),
                   "userMediaCount": int(rng.integers(5, 300)),
                   "userHasProfilPic": 1, "userIsPrivate": int(rng.random() < 0.4),
                   "usernameDigitCount": int(rng.integers(0, 2)),
                   "usernameLength": int(rng.integers(5, 14)), "isFake": 0}
        out.append(rec)
    return out


def instafake_folder(folder: Path, *, real: int | None = 60, fake: int | None = 40,
                     seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if real is not None:
        (folder / "realAccountData.json").write_text(
            json.dumps(instafake_records(False, real, seed)))
    if fake is not None:
        (folder / "fakeAccountData.json").write_text(
            json.dumps(instafake_records(True, fake, seed + 1)))
    return folder


# Models for tests: the full procedure, with fewer trees and noise copies.
FAST_MODEL = {"n_estimators": 30, "noise_copies": 3, "folds": 3}
