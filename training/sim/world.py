"""The synthetic world: seeded, labelled accounts that every model trains and tests on.

Public API (stable; other packages' tests import it)::

    from trueclout.training.sim.world import simulate_world, iter_world, write_world

    world = simulate_world(300, seed=7)          # a few seconds
    world.tables                                 # SnapshotTables: the six contract tables
    world.labels                                 # one row per account (see LABEL_SCHEMA)
    world.follower_labels                        # one row per sampled follower
    for chunk in iter_world(100_000, seed=7):    # the same world, 2,000 accounts at a time
        ...
    write_world("out/", 100_000, seed=7)         # Parquet folder + labels + manifest.json

Keyword options (all optional): ``followers_sample`` (200), ``observed_at``
(2026-06-01T00:00Z, never the wall clock), ``engagement_scale`` (1.0: rows of
engagement kept per post), ``max_engagements_per_post`` (120: audience rows
kept per post before scaling), ``history_days`` (120), ``kind_weights`` and
``platform_weights`` (the mix of account kinds and platforms, see
``sim.params``), ``tactics`` (``TacticRanges``: the ranges each tactic is
played from), or a whole ``params=WorldParams(...)``.

The same (accounts, seed, options) give the same world, whatever the chunk
size: every random draw is keyed by the identity of what it describes
(``sim.randomness``).  Labels (documented in data/README.md, "Synthetic world"):

- ``bought_followers``: the audience contains followers bought from a market
  (bulk, drip-feed or premium), even if a purge later removed some;
- ``growth_burst``: follower growth was manufactured in bursts: a bulk or
  premium purchase delivered within days, or follow/unfollow churn (a
  drip-feed purchase is bought_followers=1, growth_burst=0);
- ``engagement_ring``: the account is a member of a ring / engagement pod;
- ``group_id``: the ring, else the purchase lot (buyers of one lot share fake
  followers), else the genuine community; null otherwise.  Use it to group
  cross-validation folds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
import pyarrow as pa
from pydantic import ValidationError

from trueclout.contract import describe_errors
from trueclout.errors import UserError
from trueclout.tables import SnapshotTables, concat_tables
from trueclout.training.sim.engagement import chunk_engagements, chunk_reposts
from trueclout.training.sim.followers import sample_followers
from trueclout.training.sim.history import simulate_histories
from trueclout.training.sim.params import (
    DEFAULT_OBSERVED_AT,
    GENERATOR_VERSION,
    TacticRanges,
    WorldParams,
)
from trueclout.training.sim.plan import Plan, make_plan
from trueclout.training.sim.posts import post_schedule
from trueclout.training.sim.tables import FOLLOWER_LABEL_SCHEMA, LABEL_SCHEMA, assemble

DEFAULT_CHUNK_ACCOUNTS = 2_000
MAX_ACCOUNTS = 50_000_000


@dataclass(frozen=True)
class World:
    """Snapshot tables of some accounts and their ground truth."""

    tables: SnapshotTables
    labels: pa.Table
    follower_labels: pa.Table
    params: WorldParams
    seed: int

    @property
    def num_accounts(self) -> int:
        return self.tables.num_accounts


def world_params(params: WorldParams | None = None, **options: object) -> WorldParams:
    """Validated parameters; a bad option raises UserError naming the option and why."""
    unknown = sorted(set(options) - set(WorldParams.model_fields))
    if unknown:
        raise UserError(f"unknown simulation option(s) {unknown}; known: "
                        f"{sorted(WorldParams.model_fields)}")
    given = {k: v for k, v in options.items() if v is not None}
    base = params.model_dump() if params is not None else {}
    try:
        return WorldParams.model_validate({**base, **given})
    except ValidationError as exc:
        problems = "; ".join(f"{p['field']}: {p['reason']}" for p in describe_errors(exc))
        raise UserError(f"invalid simulation parameters: {problems}") from None


def check_size(n_accounts: int, seed: int) -> None:
    if isinstance(n_accounts, bool) or not isinstance(n_accounts, int | np.integer):
        raise UserError("accounts: must be an integer")
    if not 1 <= n_accounts <= MAX_ACCOUNTS:
        raise UserError(f"accounts: must be between 1 and {MAX_ACCOUNTS:,} (got {n_accounts})")
    if not 0 <= seed < 2**63:
        raise UserError(f"seed: must be between 0 and 2**63 - 1 (got {seed})")


class WorldOptions(TypedDict, total=False):
    """Keyword options of ``simulate_world`` / ``iter_world`` / ``write_world``.

    Any ``WorldParams`` field may be given on its own (it overrides ``params``).
    """

    followers_sample: int
    observed_at: datetime | str
    engagement_scale: float
    history_days: int
    max_engagements_per_post: int
    kind_weights: dict[str, float]
    platform_weights: dict[str, float]
    tactics: TacticRanges
    params: WorldParams
    chunk_accounts: int
    on_chunk: Callable[[int], None]


def check_chunk(chunk_accounts: int) -> None:
    if isinstance(chunk_accounts, bool) or not isinstance(chunk_accounts, int | np.integer) \
            or chunk_accounts < 1:
        raise UserError(f"chunk_accounts: must be an integer of at least 1 (got {chunk_accounts})")


def iter_world(n_accounts: int, seed: int, **options: Unpack[WorldOptions]) -> Iterator[World]:
    """The world in chunks of ``chunk_accounts`` accounts (default 2,000), rows grouped by
    account; ``on_chunk(n)`` is called after each chunk (for progress bars)."""
    check_size(n_accounts, seed)
    chunk_accounts = options.pop("chunk_accounts", DEFAULT_CHUNK_ACCOUNTS)
    on_chunk = options.pop("on_chunk", None)
    check_chunk(chunk_accounts)
    plan = make_plan(n_accounts, seed, world_params(**options))
    for start in range(0, n_accounts, chunk_accounts):
        stop = min(start + chunk_accounts, n_accounts)
        yield generate_chunk(plan, start, stop)
        if on_chunk is not None:
            on_chunk(stop - start)


def simulate_world(n_accounts: int, seed: int, **options: Unpack[WorldOptions]) -> World:
    """A whole world in memory (options as ``WorldOptions``); for tests and evaluations.

    ``simulate_world(300, seed=7, followers_sample=50)`` takes a few seconds.
    """
    chunks = list(iter_world(n_accounts, seed, **options))
    return World(
        tables=concat_tables(c.tables for c in chunks),
        labels=pa.concat_tables([c.labels for c in chunks]).combine_chunks(),
        follower_labels=pa.concat_tables([c.follower_labels for c in chunks]).combine_chunks(),
        params=chunks[0].params,
        seed=seed,
    )


def generate_chunk(plan: Plan, start: int, stop: int) -> World:
    """Accounts ``start .. stop - 1`` of a planned world."""
    idx = np.arange(start, stop)
    hist = simulate_histories(plan, idx)
    sample = sample_followers(plan, idx, hist)
    sched = post_schedule(plan, idx)
    eng = chunk_engagements(plan, sched, hist.real[:, -1], start)
    reposts = chunk_reposts(plan, start, stop)
    tables, labels, follower_labels = assemble(plan, start, stop, hist, sample, sched, eng,
                                               reposts)
    return World(tables=tables, labels=labels, follower_labels=follower_labels,
                 params=plan.params, seed=plan.seed)


def write_world(out: Path | str, n_accounts: int, seed: int, *, formats: str = "parquet",
                **options: Unpack[WorldOptions]) -> dict:
    """Write a world folder (layout in ``sim.output``); returns the manifest.

    ``formats``: ``parquet`` (the six tables), ``jsonl`` (snapshots.jsonl) or
    ``both``; labels, follower labels and manifest.json are always written.
    """
    from trueclout.training.sim.output import write_world as _write

    return _write(Path(out), n_accounts, seed, formats=formats, **options)


__all__ = [
    "DEFAULT_CHUNK_ACCOUNTS",
    "DEFAULT_OBSERVED_AT",
    "FOLLOWER_LABEL_SCHEMA",
    "GENERATOR_VERSION",
    "LABEL_SCHEMA",
    "World",
    "WorldOptions",
    "WorldParams",
    "check_chunk",
    "check_size",
    "generate_chunk",
    "iter_world",
    "simulate_world",
    "world_params",
    "write_world",
]
