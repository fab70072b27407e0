"""Profiles of people: genuine followers, purchased fakes of each market, and spam bots.

A profile is a pure function of the person's key (``sim.randomness``), so a fake
sold to several customers, or a fan who also engages, looks the same
wherever it appears (only a creation date later than a follow is moved
before it).  Counts, flags and bio lengths are drawn from the fitted
``ProfileLaw`` of the person's class (``sim.params``; data/README.md,
"Sim-to-real"), never resampled from real rows:

- humans: cresci-2015's verified humans (E13), or InstaFake's real accounts
  on Instagram; viral newcomers are young accounts that otherwise look human;
- ``bulk_crude`` and organic spam: InstaFake's fakes (many default avatars
  and empty bios, few posts, following >> followers, digits in the name),
  created in the same few days as the rest of their lot;
- ``bulk_farm`` and ``drip``: cresci-2015's INT and FSF markets: filled-in
  profiles with unique bios, counts in narrow bands, names built from a name
  pair and random letters, creation dates clustered inside a lot;
- ``premium``: look-alikes halfway between INT fakes and humans, aged one by
  one rather than made in lots (hard).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special

from trueclout.contract import PLATFORM_FOUNDED
from trueclout.training.sim import randomness as rnd
from trueclout.training.sim import text as txt
from trueclout.training.sim.params import (
    BULK_CRUDE,
    BULK_FARM,
    COUNTS,
    CRUDE,
    CRUDE_MAX_FOLLOWING,
    DRIP,
    DRIP_SPREAD_DAYS,
    FARM_FSF,
    FARM_INT,
    FARM_SAME_MONTH,
    HUMAN_DISPLAY_NAMES,
    HUMAN_INSTAGRAM,
    HUMAN_TWITTER,
    INSTAGRAM,
    LOT_AGE_DAYS,
    ORGANIC_SPAM,
    PLATFORMS,
    PREMIUM,
    PREMIUM_LAW,
    TWITTER,
    YOUTUBE,
    CountLaw,
    ProfileLaw,
)

if TYPE_CHECKING:
    from trueclout.training.sim.plan import Plan

DAY = 86_400

HUMAN, NEWCOMER = 100, 101  # person classes besides the markets (which use their market id)
CRUDE_BIO_TEMPLATES = 40  # bios a crude stock cycles through (so they repeat in a sample)
# Longest username per platform (Twitter/X 15; Instagram and YouTube 30; TikTok 24).
USERNAME_LIMIT = np.array([15, 30, 24, 30])

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
    """When a market made the accounts of one lot: before any delivery from it.

    Lot ages at observation follow the real stocks (``LOT_AGE_DAYS``), and a
    lot is always older than the history window its deliveries fall in.
    """
    lk = rnd.key(seed, "lot-created", market, lot, platform)
    age = np.maximum(rnd.log_between(lk, "age", *LOT_AGE_DAYS), history_days + 30) * DAY
    return np.maximum(observed_at - age, _founded(platform) + 30 * DAY)


def law_counts(k: np.ndarray, law: ProfileLaw) -> dict[str, np.ndarray]:
    """The counts of ``law`` for each key, dependent through one common factor.

    Each count is a zero with probability ``zero``, else log-normal; its
    normal score is ``loading * factor + sqrt(1 - loading**2) * own noise``,
    so busy profiles are busy on every count, as in the real data.
    """
    factor = rnd.normal(k, "activity")
    out = {}
    for name in COUNTS:
        c: CountLaw = getattr(law, name)
        z = c.loading * factor + np.sqrt(1.0 - c.loading**2) * rnd.normal(k, f"{name}-own")
        u = special.ndtr(z)
        above = np.clip((u - c.zero) / max(1.0 - c.zero, 1e-12), 1e-12, 1 - 1e-12)
        value = c.median * np.exp(c.log_sd * special.ndtri(above))
        positive = value if name == "age_days" else np.maximum(np.rint(value), 1)
        out[name] = np.where(u < c.zero, 0.0, positive)
    return out


def _bio(k: np.ndarray, law: ProfileLaw, template: np.ndarray | None = None) -> pa.Array:
    """A bio for a share ``law.bio`` of keys, its length from the law's Beta.

    With ``template`` (a key per row), rows with the same template key share
    their bio word for word, as a stock of crude fakes does.
    """
    tk = k if template is None else template
    quantile = _beta_quantiles(*law.bio_length)
    u = rnd.uniform(tk, "bio-length")
    x = np.interp(u, np.linspace(0.0, 1.0, len(quantile)), quantile)
    length = 1 + np.floor(x * (law.bio_cap - 1) + 0.5).astype(np.int64)
    return _text(k, "has-bio", law.bio, txt.sized_bio(tk, length))


@cache
def _beta_quantiles(a: float, b: float, points: int = 4_097) -> np.ndarray:
    """The Beta(a, b) quantile function on a grid (interpolated: betaincinv per row is slow)."""
    return special.betaincinv(a, b, np.linspace(0.0, 1.0, points))


def _profile(k: np.ndarray, law: ProfileLaw, counts: dict[str, np.ndarray],
             username: pa.Array, display_name: pa.Array, created: np.ndarray,
             bio: pa.Array | None = None) -> dict[str, np.ndarray | pa.Array]:
    return {
        "username": username,
        "display_name": display_name,
        "created_at": created,
        "followers_count": _int(counts["followers"]),
        "following_count": _int(counts["following"]),
        "posts_count": _int(counts["posts"]),
        "listed_count": _int(counts["listed"]),
        "likes_count": _int(np.minimum(counts["likes"], 1e6)),
        "verified": np.zeros(len(k), bool),
        "default_avatar": rnd.chance(k, "avatar", law.default_avatar),
        "bio": _bio(k, law) if bio is None else bio,
        # No url is an empty field (known), as the platforms' exports show it.
        "url": _text(k, "has-url", law.url, txt.url(k, username)),
        "location": _text(k, "has-location", law.location, txt.pick(txt.CITIES, k, "city")),
    }


def _human(k: np.ndarray, law: ProfileLaw, followed_at: np.ndarray, observed_at: int,
           newcomer: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    counts = law_counts(k, law)
    age = counts["age_days"] * DAY
    young = rnd.log_between(k, "young-age", 2, 180) * DAY
    created = np.where(newcomer, followed_at - young,
                       np.minimum(observed_at - age, followed_at - rnd.log_between(
                           k, "age-at-follow", 1, 200) * DAY))
    age_days = np.maximum((observed_at - created) / DAY, 1)
    # Posts keep the law's rate per day of age, for the account's actual age.
    counts["posts"] = np.rint(counts["posts"] * age_days / np.maximum(counts["age_days"], 1))
    counts["followers"] = np.where(newcomer, rnd.lognormal(k, "followers", 40, 1.2),
                                   counts["followers"])
    counts["following"] = np.where(newcomer, rnd.lognormal(k, "following", 120, 1.0),
                                   counts["following"])
    username = txt.human_username(k)
    out = _profile(k, law, counts, username,
                   txt.display_name(k, username, HUMAN_DISPLAY_NAMES), created)
    out["verified"] = rnd.chance(k, "verified", 0.003)
    out["default_avatar"] = rnd.chance(k, "avatar", np.where(newcomer, 0.08, law.default_avatar))
    return out


def _crude(k: np.ndarray, created: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    counts = law_counts(k, CRUDE)
    counts["following"] = np.minimum(counts["following"], CRUDE_MAX_FOLLOWING)
    username = txt.generated_username(k)
    # No name is an empty field (known), never null: nothing here is unknown.
    display = txt.choose(k, "crude-name", [0.5, 0.3, 0.2], [
        txt.display_name(k, username, (0.7, 0.3, 0.0, 0.0)), username, ""])
    template = rnd.key(rnd.integers(k, "bio-template", CRUDE_BIO_TEMPLATES), "crude-bio")
    return _profile(k, CRUDE, counts, username, display, created, _bio(k, CRUDE, template))


def _farm(k: np.ndarray, law: ProfileLaw, username: pa.Array, created: np.ndarray
          ) -> dict[str, np.ndarray | pa.Array]:
    """INT and FSF stock: filled-in profiles with a name pair matching the username's."""
    display = txt.join(pc.utf8_capitalize(txt.pick(txt.FIRST_NAMES, k, "u-first")), " ",
                       pc.utf8_capitalize(txt.pick(txt.LAST_NAMES, k, "u-last")))
    return _profile(k, law, law_counts(k, law), username, display, created)


def _premium(k: np.ndarray, observed_at: int) -> dict[str, np.ndarray | pa.Array]:
    """Aged look-alikes, each account aged on its own (not made in a lot)."""
    counts = law_counts(k, PREMIUM_LAW)
    username = txt.human_username(k)
    return _profile(k, PREMIUM_LAW, counts, username,
                    txt.display_name(k, username, HUMAN_DISPLAY_NAMES),
                    observed_at - counts["age_days"] * DAY,
                    _text(k, "has-bio", PREMIUM_LAW.bio, txt.premium_bio(k)))


def _class_profiles(c: int, instagram: bool, k: np.ndarray, followed_at: np.ndarray,
                    lot: np.ndarray, observed_at: int) -> dict[str, np.ndarray | pa.Array]:
    """Profiles of one person class (and platform group) of a chunk."""
    if c in (HUMAN, NEWCOMER):
        law = HUMAN_INSTAGRAM if instagram else HUMAN_TWITTER
        return _human(k, law, followed_at, observed_at, np.full(len(k), c == NEWCOMER))
    if c == BULK_CRUDE:
        return _crude(k, lot + rnd.uniform(k, "lot-jitter") * 2 * DAY)
    if c == ORGANIC_SPAM:
        return _crude(k, observed_at - rnd.log_between(k, "age", 30, 1800) * DAY)
    if c == BULK_FARM:
        in_month = rnd.chance(k, "same-month", FARM_SAME_MONTH)
        spread = np.where(in_month, rnd.uniform(k, "jitter") * 30,
                          rnd.between(k, "jitter-wide", -200, 200)) * DAY
        return _farm(k, FARM_INT, txt.int_username(k), lot + spread)
    if c == DRIP:
        return _farm(k, FARM_FSF, txt.fsf_username(k),
                     lot + rnd.uniform(k, "jitter") * DRIP_SPREAD_DAYS * DAY)
    if c == PREMIUM:
        return _premium(k, observed_at)
    raise ValueError(f"unknown person class {c}")


def person_profiles(pk: np.ndarray, cls: np.ndarray, platform: np.ndarray,
                    followed_at: np.ndarray, lot_date: np.ndarray, observed_at: int
                    ) -> dict[str, np.ndarray | pa.Array]:
    """Profile columns (contract names; times in epoch seconds) for each person key.

    ``lot_date`` is when the person's market lot was created (ignored for
    humans and premium fakes, which are aged accounts).  Humans on Instagram
    follow InstaFake's real accounts, elsewhere cresci-2015's humans.
    """
    n = len(pk)
    group = np.asarray(cls, np.int64) * 2 + (platform == INSTAGRAM)
    order = np.argsort(group, kind="stable")
    parts: list[dict] = []
    groups = np.unique(group) if n else np.array([HUMAN * 2])  # an empty sample: empty columns
    for g in groups:  # one pass per person class and platform group (a handful)
        rows = order[np.searchsorted(group[order], g):np.searchsorted(group[order], g, "right")]
        part = _class_profiles(int(g // 2), bool(g % 2), pk[rows], followed_at[rows],
                               lot_date[rows], observed_at)
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
    out["username"] = txt.shorten(out["username"], USERNAME_LIMIT[platform])
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


# Lists grow with followers: log10(1 + listed) = 0.945 log10(followers) - 1.68 over the
# 9,500 humans of cresci-2015, cresci-2017 and botrepo-2019 with 50+ followers
# (median log10 listed per follower -1.66 to -1.98 by group, 10-90% spread about
# 1.1, so a log-sd of 0.45 in log10).  Before this fit the law gave ten times
# fewer lists, and a real account's lists looked like a new account's.
LISTED_PER_FOLLOWER = 10**-1.68
LISTED_EXPONENT = 0.945
LISTED_LOG_SD = 0.45 * np.log(10)


def account_profiles(plan: Plan, idx: np.ndarray, followers: np.ndarray, following: np.ndarray,
                     posts_in_window: np.ndarray) -> dict[str, np.ndarray | pa.Array]:
    """Profiles of the world's own accounts: people and creators, whatever tactics they use.

    Nothing here depends on an account's tactics (only on its organic base
    kind), so a profile never gives a label away; the counts come from the
    simulated history.
    """
    from trueclout.training.sim.params import CELEBRITY, DORMANT, NEW_THIN

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
        "listed_count": _int(LISTED_PER_FOLLOWER * np.power(np.maximum(followers, 0),
                                                             LISTED_EXPONENT)
                             * rnd.lognormal(k, "listed", 1.0, LISTED_LOG_SD)),
        "likes_count": _int(age_days * rnd.lognormal(k, "likes-rate", 1.5, 1.2)),
        "verified": plan.verified[idx],
        "default_avatar": rnd.chance(k, "avatar", np.where(thin, 0.12, 0.02)),
        "bio": _text(k, "has-bio", 0.9, txt.human_bio(k)),
        "url": _text(k, "has-url", 0.35, txt.url(k, username), None),
        "location": _text(k, "has-location", 0.6, txt.pick(txt.CITIES, k, "city")),
    }
    return platform_fields(cols, plan.platform[idx], k)
