"""Profiles of people: genuine followers, purchased fakes of each market, and spam bots.

A profile is a pure function of the person's key (``sim_random``), so a fake
sold to several customers, or a fan who also engages, looks the same
wherever it appears (only a creation date later than a follow is moved
before it).  Traits by class (sources in data/README.md):

- humans: Twitter-scale counts measured on Cresci et al. 2015's verified
  humans; names and bios varied; viral newcomers are young accounts that
  otherwise look human;
- ``bulk_crude``: the textbook cheap fake (default avatar, empty bio,
  generated name with a digit run, following >> followers, almost no posts,
  created in the same few days as the rest of its lot);
- ``bulk_farm`` and ``drip``: modelled on the INT and FSF markets of Cresci
  et al.: filled-in but formulaic profiles (a few bios and places), no likes,
  no lists, follower/following/post counts in narrow bands, creation dates
  clustered within a month;
- ``premium``: look-alikes: aged accounts, avatars, template bios, moderate
  activity (hard);
- ``organic_spam``: crude bots following celebrities on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.contract import PLATFORM_FOUNDED
from trueclout.training import sim_random as rnd
from trueclout.training import sim_text as txt
from trueclout.training.sim_params import (
    BULK_CRUDE,
    BULK_FARM,
    DRIP,
    HUMAN_FOLLOWERS,
    HUMAN_FOLLOWING,
    HUMAN_LIKES,
    HUMAN_NO_LIKES,
    HUMAN_POSTS_PER_DAY,
    ORGANIC_SPAM,
    PLATFORMS,
    PREMIUM,
    TWITTER,
    YOUTUBE,
)

if TYPE_CHECKING:
    from trueclout.training.sim_plan import Plan

DAY = 86_400
YEAR = 365.25 * DAY

HUMAN, NEWCOMER = 100, 101  # person classes besides the markets (which use their market id)

PROFILE_COLUMNS = ("username", "display_name", "created_at", "followers_count",
                   "following_count", "posts_count", "listed_count", "likes_count", "verified",
                   "default_avatar", "bio", "url", "location")


def _int(x: np.ndarray) -> np.ndarray:
    return np.maximum(np.floor(np.asarray(x, dtype=np.float64)), 0).astype(np.int64)


def _text(k: np.ndarray, stream: str, p: float, value: pa.Array, empty: str | None = ""
          ) -> pa.Array:
    return txt.where(rnd.chance(k, stream, p), value, empty)


def _founded(platform: np.ndarray) -> np.ndarray:
    return np.array([PLATFORM_FOUNDED[p].timestamp() for p in PLATFORMS])[platform]


def lot_created(seed: int, market: np.ndarray, lot: np.ndarray, platform: np.ndarray,
                observed_at: int, history_days: int) -> np.ndarray:
    """When a market made the accounts of one lot: before any delivery from it."""
    lk = rnd.key(seed, "lot-created", market, lot, platform)
    age = (history_days + rnd.log_between(lk, "age", 30, 900)) * DAY
    return np.maximum(observed_at - age, _founded(platform) + 30 * DAY)


def _human(k: np.ndarray, followed_at: np.ndarray, observed_at: int, newcomer: np.ndarray
           ) -> dict[str, np.ndarray | pa.Array]:
    age = rnd.lognormal(k, "age", 4 * YEAR, 0.6)
    young = rnd.log_between(k, "young-age", 2, 180) * DAY
    created = np.where(newcomer, followed_at - young,
                       np.minimum(observed_at - age, followed_at - rnd.log_between(
                           k, "age-at-follow", 1, 200) * DAY))
    age_days = np.maximum((observed_at - created) / DAY, 1)
    username = txt.human_username(k)
    return {
        "username": username,
        "display_name": txt.display_name(k, username),
        "created_at": created,
        "followers_count": _int(np.where(newcomer, rnd.lognormal(k, "followers", 40, 1.2),
                                         rnd.lognormal(k, "followers", *HUMAN_FOLLOWERS))),
        "following_count": _int(np.where(newcomer, rnd.lognormal(k, "following", 120, 1.0),
                                         rnd.lognormal(k, "following", *HUMAN_FOLLOWING))),
        "posts_count": _int(age_days * rnd.lognormal(k, "post-rate", *HUMAN_POSTS_PER_DAY)),
        "listed_count": _int(np.where(rnd.chance(k, "listed0", 0.47), 0,
                                      rnd.lognormal(k, "listed", 3, 1.0))),
        "likes_count": _int(np.where(rnd.chance(k, "likes0", HUMAN_NO_LIKES), 0,
                                     np.minimum(rnd.lognormal(k, "likes", *HUMAN_LIKES), 1e6))),
        "verified": rnd.chance(k, "verified", 0.003),
        "default_avatar": rnd.chance(k, "avatar", np.where(newcomer, 0.08, 0.025)),
        "bio": _text(k, "has-bio", 0.8, txt.human_bio(k)),
        "url": _text(k, "has-url", 0.22, txt.url(k, username), None),
        "location": _text(k, "has-location", 0.6, txt.pick(txt.CITIES, k, "city")),
    }


def _crude(k: np.ndarray, created: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    username = txt.generated_username(k)
    return {
        "username": username,
        "display_name": txt.choose(k, "crude-name", [0.5, 0.3, 0.2], [
            txt.display_name(k, username), username, None]),
        "created_at": created,
        "followers_count": rnd.poisson(k, "followers", 4.0),
        "following_count": _int(rnd.log_between(k, "following", 300, 2500)),
        "posts_count": rnd.poisson(k, "posts", 1.5),
        "listed_count": np.zeros(len(k), np.int64),
        "likes_count": np.where(rnd.chance(k, "likes0", 0.95), 0, rnd.poisson(k, "likes", 3)),
        "verified": np.zeros(len(k), bool),
        "default_avatar": rnd.chance(k, "avatar", 0.7),
        "bio": _text(k, "has-bio", 0.15, txt.pick(txt.FARM_BIOS, k, "bio")),
        "url": txt.where(np.zeros(len(k), bool), "", None),
        "location": _text(k, "has-location", 0.05, txt.pick(txt.CITIES, k, "city")),
    }


def _farm(k: np.ndarray, created: np.ndarray, counts: tuple[tuple[float, float], ...],
          likes_zero: float, avatar: float, digit_share: float
          ) -> dict[str, np.ndarray | pa.Array]:
    (fol, fol_sd), (fng, fng_sd), (posts, posts_sd) = counts
    username = txt.farm_username(k)
    username = txt.where(rnd.chance(k, "digits", digit_share),
                         txt.join(username, txt.digits(k, "digit-tail", 2)), username)
    first = pc.utf8_capitalize(txt.pick(txt.FIRST_NAMES, k, "name-first"))
    last = pc.utf8_capitalize(txt.pick(txt.LAST_NAMES, k, "name-last"))
    return {
        "username": username,
        "display_name": txt.join(first, " ", last),
        "created_at": created,
        "followers_count": _int(rnd.lognormal(k, "followers", fol, fol_sd)),
        "following_count": _int(rnd.lognormal(k, "following", fng, fng_sd)),
        "posts_count": _int(rnd.lognormal(k, "posts", posts, posts_sd)),
        "listed_count": np.zeros(len(k), np.int64),
        "likes_count": np.where(rnd.chance(k, "likes0", likes_zero), 0,
                                rnd.poisson(k, "likes", 2)),
        "verified": np.zeros(len(k), bool),
        "default_avatar": rnd.chance(k, "avatar", avatar),
        "bio": _text(k, "has-bio", 0.8, txt.pick(txt.FARM_BIOS, k, "bio")),
        "url": txt.where(np.zeros(len(k), bool), "", None),
        "location": _text(k, "has-location", 0.95, txt.pick(txt.FARM_PLACES, k, "place")),
    }


def _premium(k: np.ndarray, observed_at: int) -> dict[str, np.ndarray | pa.Array]:
    username = txt.human_username(k)
    return {
        "username": username,
        "display_name": txt.display_name(k, username),
        "created_at": observed_at - rnd.log_between(k, "age", 2, 10) * YEAR,
        "followers_count": _int(rnd.lognormal(k, "followers", 120, 1.0)),
        "following_count": _int(rnd.lognormal(k, "following", 380, 0.8)),
        "posts_count": _int(rnd.lognormal(k, "posts", 500, 1.1)),
        "listed_count": rnd.poisson(k, "listed", 0.8),
        "likes_count": _int(rnd.lognormal(k, "likes", 60, 2.0)),
        "verified": np.zeros(len(k), bool),
        "default_avatar": rnd.chance(k, "avatar", 0.02),
        "bio": _text(k, "has-bio", 0.9, txt.premium_bio(k)),
        "url": _text(k, "has-url", 0.1, txt.url(k, username), None),
        "location": _text(k, "has-location", 0.5, txt.pick(txt.CITIES, k, "city")),
    }


def person_profiles(pk: np.ndarray, cls: np.ndarray, platform: np.ndarray,
                    followed_at: np.ndarray, lot_date: np.ndarray, observed_at: int
                    ) -> dict[str, np.ndarray | pa.Array]:
    """Profile columns (contract names; times in epoch seconds) for each person key.

    ``lot_date`` is when the person's market lot was created (ignored for
    humans and premium fakes, which are aged accounts).
    """
    n = len(pk)
    order = np.argsort(cls, kind="stable")
    parts: list[dict] = []
    classes = np.unique(cls) if n else np.array([HUMAN])  # an empty sample: empty columns
    for c in classes:  # one pass per person class (a handful)
        rows = order[np.searchsorted(cls[order], c):np.searchsorted(cls[order], c, "right")]
        k, fa, lot = pk[rows], followed_at[rows], lot_date[rows]
        if c in (HUMAN, NEWCOMER):
            part = _human(k, fa, observed_at, np.full(len(rows), c == NEWCOMER))
        elif c == BULK_CRUDE:
            part = _crude(k, lot + rnd.uniform(k, "lot-jitter") * 2 * DAY)
        elif c == ORGANIC_SPAM:
            part = _crude(k, observed_at - rnd.log_between(k, "age", 30, 1800) * DAY)
        elif c == BULK_FARM:
            in_month = rnd.chance(k, "same-month", 0.84)
            spread = np.where(in_month, rnd.uniform(k, "jitter") * 30,
                              rnd.between(k, "jitter-wide", -200, 200)) * DAY
            part = _farm(k, lot + spread, ((18, 0.8), (344, 0.9), (36, 0.9)), 0.98, 0.05, 0.04)
        elif c == DRIP:
            part = _farm(k, lot + rnd.uniform(k, "jitter") * 45 * DAY,
                         ((10, 0.4), (214, 0.3), (20, 0.3)), 0.94, 0.3, 0.22)
        elif c == PREMIUM:
            part = _premium(k, observed_at)
        else:
            raise ValueError(f"unknown person class {c}")
        part["_rows"] = rows
        parts.append(part)
    rows = np.concatenate([p["_rows"] for p in parts])
    inverse = np.empty(n, dtype=np.int64)
    inverse[rows] = np.arange(n)
    out: dict[str, np.ndarray | pa.Array] = {}
    for col in PROFILE_COLUMNS:
        values = [p[col] for p in parts]
        if isinstance(values[0], pa.Array | pa.ChunkedArray):
            out[col] = pa.concat_arrays([v.cast(pa.string()) for v in values]).take(
                pa.array(inverse))
        else:
            out[col] = np.concatenate([np.asarray(v) for v in values])[inverse]
    founded = _founded(platform)
    created = np.minimum(out["created_at"], followed_at - 3600)
    out["created_at"] = np.maximum(created, founded + DAY).astype(np.int64)
    return platform_fields(out, platform, pk)


def platform_fields(cols: dict[str, np.ndarray | pa.Array], platform: np.ndarray,
                    k: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    """Null where a platform does not expose a field.

    Only Twitter/X shows lists and likes given; Instagram and TikTok profiles
    have no location field; YouTube channels show a country instead of a city.
    """
    twitter = platform == TWITTER
    out = dict(cols)
    out["listed_count"] = pa.array(np.asarray(cols["listed_count"], np.int64), mask=~twitter)
    out["likes_count"] = pa.array(np.asarray(cols["likes_count"], np.int64), mask=~twitter)
    loc = cols["location"]
    no_location = (platform != TWITTER) & (platform != YOUTUBE)
    out["location"] = txt.where(no_location, None, loc)
    if (platform == YOUTUBE).any():
        has = pc.fill_null(pc.greater(pc.utf8_length(loc), 0), False).to_numpy(
            zero_copy_only=False)
        country = txt.pick(txt.COUNTRIES, k, "country")
        out["location"] = txt.where(platform == YOUTUBE, txt.where(has, country, None),
                                    out["location"])
    return out


def account_profiles(plan: Plan, idx: np.ndarray, followers: np.ndarray, following: np.ndarray,
                     posts_in_window: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    """Profiles of the world's own accounts: people and creators, whatever tactics they use.

    Nothing here depends on an account's tactics (only on its organic base
    kind), so a profile never gives a label away; the counts come from the
    simulated history.
    """
    from trueclout.training.sim_params import CELEBRITY, DORMANT, NEW_THIN

    k = plan.key[idx]
    base = plan.base[idx]
    created = plan.created[idx]
    age_days = (plan.observed_at - created) / DAY
    rate = rnd.lognormal(k, "lifetime-rate", 1.0, 0.8) * np.where(base == DORMANT, 0.3, 1.0)
    earlier = np.maximum(age_days - plan.days, 0) * rate
    thin = base == NEW_THIN
    username = txt.human_username(k)
    name = txt.display_name(k, username)
    full_name = txt.join(pc.utf8_capitalize(txt.pick(txt.FIRST_NAMES, k, "d-first")), " ",
                         pc.utf8_capitalize(txt.pick(txt.LAST_NAMES, k, "d-last")))
    cols = {
        "username": username,
        "display_name": txt.where(base == CELEBRITY, full_name, name),
        "created_at": created,
        "followers_count": np.asarray(followers, np.int64),
        "following_count": np.asarray(following, np.int64),
        "posts_count": np.asarray(posts_in_window, np.int64) + _int(earlier),
        "listed_count": _int(np.power(np.maximum(followers, 0), 0.8)
                             * rnd.log_between(k, "listed", 0.001, 0.01)),
        "likes_count": _int(age_days * rnd.lognormal(k, "likes-rate", 1.5, 1.2)),
        "verified": plan.verified[idx],
        "default_avatar": rnd.chance(k, "avatar", np.where(thin, 0.12, 0.02)),
        "bio": _text(k, "has-bio", 0.9, txt.human_bio(k)),
        "url": _text(k, "has-url", 0.35, txt.url(k, username), None),
        "location": _text(k, "has-location", 0.6, txt.pick(txt.CITIES, k, "city")),
    }
    return platform_fields(cols, plan.platform[idx], k)
