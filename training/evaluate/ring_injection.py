"""Evaluation of ring detection by injection: plant rings into a graph, score what comes back.

A *host* is an engagement graph with the truth about its own rings (none for
a genuine graph).  ``plant_rings`` adds rings of a given size and density:
every member publishes a few posts and the other members engage each of them
with probability ``density``, within a minute or two, as pods do.  With
camouflage, each member also engages popular genuine accounts' posts at
ordinary (hours-long) delays, ``ratio`` times as often as it engages its ring
(none 0, some 1, heavy 3).  ``evaluate`` runs the detectors and reports
precision, recall and F1 of the flagged accounts against the planted members,
beside a baseline that looks at reciprocity alone.

Hosts: ``synthetic_host`` (a genuine background with heavy-tailed popularity,
genuinely tight but slow communities and celebrities, generated vectorised),
``host_from_tables`` (e.g. the simulator's world, with its labels) and
``retweet_host`` (the real retweet timelines in ``../shared/datasets``).

``injection_study`` runs a whole study and ``report_tables`` lays it out; from the command
line: ``trueclout dev ring-injection --help``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.errors import UserError
from trueclout.features.graph.build import KINDS, edge_table
from trueclout.features.graph.sparse import factorize
from trueclout.features.graph.table import RingParams, detect_rings_from_arrays
from trueclout.progress import Progress, SilentProgress
from trueclout.tables import SnapshotTables

CAMOUFLAGE: dict[str, float] = {"none": 0.0, "some": 1.0, "heavy": 3.0}
DEFAULT_SIZES: tuple[int, ...] = (5, 10, 20, 50)
DEFAULT_DENSITIES: tuple[float, ...] = (0.5, 0.9)
DETECTORS: tuple[str, ...] = ("rings", "blocks", "lockstep", "mutual_core", "reciprocity")

_DAY = 86_400
_REPOST, _LIKE, _REPLY, _QUOTE = (KINDS.index(k) for k in ("repost", "like", "reply", "quote"))


@dataclass(frozen=True)
class Host:
    """An engagement graph as integer arrays, and the truth about its own rings.

    Node ``i`` is account ``names[i]``; ``post`` ids are unique across the
    graph (-1 unknown); times are unix seconds; ``ring[i]`` is the ring node
    ``i`` belongs to (-1: genuine).  ``evaluated`` marks the nodes with ground
    truth (a world's own accounts, not the outside actors engaging them).
    """

    names: pa.Array
    actor: np.ndarray
    target: np.ndarray
    post: np.ndarray
    at: np.ndarray
    kind: np.ndarray
    post_created: np.ndarray
    ring: np.ndarray
    label: str = "host"
    evaluated: np.ndarray | None = None

    @property
    def judged(self) -> np.ndarray:
        """Nodes the scores count: accounts with ground truth (all nodes unless told)."""
        if self.evaluated is None:
            return np.ones(self.n_nodes, dtype=bool)
        return self.evaluated

    @property
    def n_nodes(self) -> int:
        return len(self.ring)

    @property
    def n_edges(self) -> int:
        return len(self.actor)

    def arrays(self) -> dict[str, np.ndarray]:
        """Keyword arguments for ``detect_rings_from_arrays``."""
        return {"actor": self.actor, "target": self.target, "post": self.post, "at": self.at,
                "kind": self.kind, "post_created": self.post_created}

    def received(self) -> np.ndarray:
        return np.bincount(self.target, minlength=self.n_nodes)


@dataclass(frozen=True)
class RingSpec:
    """``count`` rings of ``size``; each member engages each fellow's post w.p. ``density``."""

    size: int
    density: float
    camouflage: str = "none"
    count: int = 1
    posts_per_member: int = 4

    def __post_init__(self) -> None:
        if self.size < 2:
            raise UserError(f"size: a ring needs at least 2 members, got {self.size}")
        if not 0 < self.density <= 1:
            raise UserError(f"density: must lie in (0, 1], got {self.density}")
        if self.camouflage not in CAMOUFLAGE:
            raise UserError(f"camouflage: expected one of {list(CAMOUFLAGE)}, "
                            f"got {self.camouflage!r}")
        if self.count < 1 or self.posts_per_member < 1:
            raise UserError("count and posts_per_member must be at least 1")


# --- hosts -------------------------------------------------------------------------------


def synthetic_arrays(
    n_accounts: int,
    *,
    seed: int = 0,
    engagements_per_account: float = 10.0,
    community_share: float = 0.1,
    days: float = 14.0,
) -> dict[str, np.ndarray]:
    """A genuine engagement graph: heavy-tailed popularity and activity, slow communities.

    Celebrities come from the Pareto tail; ``community_share`` of accounts sit
    in tight communities (8-30 members) that engage most of each other's
    posts, spread over hours (the hard negative for lockstep and blocks).
    Delays follow a lognormal with a 3 h median (about 6% within 15 minutes,
    as measured on the real retweet timelines).
    """
    rng = np.random.default_rng(seed)
    n = int(n_accounts)
    posts_per = 1 + rng.poisson(4, n)
    first_post = np.r_[0, np.cumsum(posts_per)[:-1]]
    post_owner = np.repeat(np.arange(n), posts_per)
    post_time = rng.uniform(0, days * _DAY, len(post_owner))

    popularity = rng.pareto(1.1, n) + 1.0
    activity = rng.lognormal(0.0, 1.0, n)
    m = int(n * engagements_per_account)
    target = _weighted_choice(rng, popularity, m)
    post = first_post[target] + (rng.random(m) * posts_per[target]).astype(np.int64)
    actor = _weighted_choice(rng, activity, m)

    c_actor, c_post = _community_engagements(rng, n, community_share, post_owner, first_post,
                                             posts_per)
    actor = np.r_[actor, c_actor]
    post = np.r_[post, c_post]
    target = post_owner[post]
    lag = rng.lognormal(np.log(3 * 3600), 1.6, len(post))
    kind = rng.choice(4, len(post), p=[0.3, 0.55, 0.1, 0.05]).astype(np.int8)
    keep = actor != target
    return {
        "actor": actor[keep],
        "target": target[keep],
        "post": post[keep],
        "at": (post_time[post] + lag)[keep].astype(np.int64),
        "kind": kind[keep],
        "post_created": post_time[post][keep].astype(np.int64).astype(np.float64),
    }


def _weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), len(weights) - 1)


def _community_engagements(
    rng: np.random.Generator,
    n: int,
    share: float,
    post_owner: np.ndarray,
    first_post: np.ndarray,
    posts_per: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Members of each community engage ~70% of each other's posts (all pairs, vectorised)."""
    members = rng.permutation(n)[: int(n * share)]
    sizes = rng.integers(8, 31, max(1, len(members) // 19))
    sizes = sizes[np.cumsum(sizes) <= len(members)]
    members = members[: sizes.sum()]
    community = np.repeat(np.arange(len(sizes)), sizes)
    return _group_engagements(rng, members, community, sizes, first_post, posts_per, 0.7)


def _group_engagements(
    rng: np.random.Generator,
    members: np.ndarray,
    group: np.ndarray,
    sizes: np.ndarray,
    first_post: np.ndarray,
    posts_per: np.ndarray,
    density: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(actor, post) for each member engaging each fellow member's post with prob. ``density``.

    ``members`` are grouped contiguously by ``group``; posts of node ``v`` are
    ``first_post[v] .. first_post[v] + posts_per[v] - 1``.
    """
    if len(members) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    owner_posts = posts_per[members]
    owner = np.repeat(np.arange(len(members)), owner_posts)
    post = first_post[members][owner] + _ranks(owner_posts)
    # Every (post, fellow member) pair, then a coin per pair.
    fellows = sizes[group[owner]]
    row = np.repeat(np.arange(len(post)), fellows)
    fellow = start[group[owner]][row] + _ranks(fellows)
    keep = (fellow != owner[row]) & (rng.random(len(row)) < density)
    return members[fellow[keep]], post[row[keep]]


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def synthetic_host(n_accounts: int = 20_000, *, seed: int = 0, **kwargs: float) -> Host:
    """``synthetic_arrays`` as a host with no rings of its own."""
    arrays = synthetic_arrays(n_accounts, seed=seed, **kwargs)
    return Host(
        names=pa.array(np.arange(n_accounts), pa.int64()),
        ring=np.full(n_accounts, -1, dtype=np.int64),
        label="synthetic",
        **arrays,
    )


def host_from_tables(
    tables: SnapshotTables, labels: pa.Table | None = None, *, label: str = "world"
) -> Host:
    """A host from snapshot tables; rings from ``labels`` (``engagement_ring``, ``group_id``)."""
    raw = edge_table(tables)
    n_edges = raw.num_rows
    codes, names = factorize(pa.concat_arrays([raw.column("actor").combine_chunks(),
                                               raw.column("target").combine_chunks()]))
    post_key = pc.binary_join_element_wise(
        raw.column("target"), raw.column("post_id").fill_null(""), "\x1f"
    )
    post_codes, _ = factorize(post_key)
    post = np.where(raw.column("post_id").is_null().to_numpy(zero_copy_only=False), -1,
                    post_codes)
    at = _epoch_seconds(raw.column("at"))
    created = raw.column("post_created")
    created_s = np.full(n_edges, np.nan)
    has = ~created.is_null().to_numpy(zero_copy_only=False)
    created_s[has] = _epoch_seconds(created.filter(pa.array(has)))
    kind = pc.index_in(raw.column("kind"), value_set=pa.array(KINDS)).to_numpy(
        zero_copy_only=False).astype(np.int8)
    ring = np.full(len(names), -1, dtype=np.int64)
    evaluated = None
    if labels is not None and labels.num_rows:
        ring = _rings_from_labels(labels, names)
        known = pc.index_in(labels.column("account_id").cast(names.type), value_set=names)
        known = known.drop_null().to_numpy()
        evaluated = np.zeros(len(names), dtype=bool)
        evaluated[known] = True
    return Host(names=names, actor=codes[:n_edges], target=codes[n_edges:], post=post, at=at,
                kind=kind, post_created=created_s, ring=ring, label=label, evaluated=evaluated)


def _epoch_seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.floor_divide(micros.to_numpy(zero_copy_only=False), 1_000_000)


def _rings_from_labels(labels: pa.Table, names: pa.Array) -> np.ndarray:
    """Ring id per node from a labels table: ``group_id`` where ``engagement_ring`` is 1."""
    for col in ("account_id", "engagement_ring"):
        if col not in labels.column_names:
            raise UserError(f"labels: missing column {col!r}")
    ring = np.full(len(names), -1, dtype=np.int64)
    is_ring = pc.equal(labels.column("engagement_ring"), 1).fill_null(False)
    ringers = labels.filter(is_ring)
    node = pc.index_in(ringers.column("account_id").cast(names.type), value_set=names)
    node = node.fill_null(-1).to_numpy(zero_copy_only=False)
    if "group_id" in ringers.column_names:
        group, _ = factorize(ringers.column("group_id").cast(pa.string()).fill_null("?"))
    else:
        group = np.zeros(ringers.num_rows, dtype=np.int64)
    ring[node[node >= 0]] = group[node >= 0]
    return ring


def retweet_host(dataset: Path) -> Host:
    """The real retweet timelines: each retweeter -> the account it retweeted (research data).

    ``tweets/HANDLE.txt`` rows are ``unix_time, node, is_retweet_of_node1``;
    node 1 is the account itself.  A retweet is attributed to node 1's latest
    post at that time.  Nodes are named ``HANDLE:node`` (``HANDLE`` for node 1).
    """
    import pyarrow.csv as pacsv

    files = sorted((Path(dataset) / "tweets").glob("*.txt"))
    if not files:
        raise UserError(f"{dataset}: no tweets/*.txt (expected the retweet-timelines data set)")
    names: list[str] = []
    actor, target, post, at, created = [], [], [], [], []
    post_base = 0
    for file in files:
        table = pacsv.read_csv(file, read_options=pacsv.ReadOptions(
            column_names=["t", "node", "rt"]))
        t, node, rt = (table.column(c).to_numpy() for c in ("t", "node", "rt"))
        base = len(names)
        names += [file.stem] + [f"{file.stem}:{k}" for k in range(2, int(node.max()) + 1)]
        own = (node == 1) & (rt == 0)
        own_times = np.sort(t[own])
        retweets = rt == 1
        latest = np.searchsorted(own_times, t[retweets], side="right") - 1
        ok = latest >= 0
        actor.append(base + node[retweets][ok] - 1)
        target.append(np.full(int(ok.sum()), base))
        post.append(post_base + latest[ok])
        at.append(t[retweets][ok])
        created.append(own_times[latest[ok]])
        post_base += len(own_times)
    n_edges = sum(len(a) for a in actor)
    return Host(
        names=pa.array(names),
        actor=np.concatenate(actor).astype(np.int64),
        target=np.concatenate(target).astype(np.int64),
        post=np.concatenate(post).astype(np.int64),
        at=np.concatenate(at).astype(np.int64),
        kind=np.full(n_edges, _REPOST, dtype=np.int8),
        post_created=np.concatenate(created).astype(np.float64),
        ring=np.full(len(names), -1, dtype=np.int64),
        label="retweet-timelines",
    )


# --- planting --------------------------------------------------------------------------


def plant_rings(host: Host, specs: Iterable[RingSpec], *, seed: int = 0) -> Host:
    """The host plus the specified rings among its genuine, non-celebrity accounts.

    Members are drawn without replacement from evaluated accounts outside any
    ring and below the 95th percentile of received engagement; planted ring
    ids follow the host's own.
    """
    rng = np.random.default_rng(seed)
    specs = list(specs)
    received = host.received()
    judged = host.judged
    ceiling = np.quantile(received[judged], 0.95) if judged.any() else 0
    ordinary = judged & (host.ring < 0) & (received <= ceiling)
    pool = rng.permutation(np.flatnonzero(ordinary))
    wanted = sum(s.size * s.count for s in specs)
    if wanted > len(pool):
        raise UserError(f"cannot plant {wanted} ring members among {len(pool)} eligible accounts")
    t0, t1 = float(host.at.min(initial=0)), float(host.at.max(initial=_DAY))
    popular = _popular_posts(host)
    ring = host.ring.copy()
    next_ring = int(ring.max(initial=-1)) + 1
    next_post = int(host.post.max(initial=-1)) + 1
    parts: list[dict[str, np.ndarray]] = []
    taken = 0
    for spec in specs:
        members = pool[taken: taken + spec.size * spec.count]
        taken += len(members)
        group = np.repeat(np.arange(spec.count), spec.size)
        ring[members] = next_ring + group
        next_ring += spec.count
        inner = _ring_engagements(rng, spec, members, group, next_post, (t0, t1))
        next_post += len(members) * spec.posts_per_member
        parts.append(inner)
        ratio = CAMOUFLAGE[spec.camouflage]
        if ratio > 0 and popular is not None:
            ordered = np.sort(members)
            engaged = np.bincount(np.searchsorted(ordered, inner["actor"]), minlength=len(members))
            copies = np.round(engaged * ratio).astype(np.int64)
            parts.append(_camouflage(rng, np.repeat(ordered, copies), popular))
    planted = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    if not planted:
        return host
    return replace(
        host,
        actor=np.r_[host.actor, planted["actor"]],
        target=np.r_[host.target, planted["target"]],
        post=np.r_[host.post, planted["post"]],
        at=np.r_[host.at, planted["at"]],
        kind=np.r_[host.kind, planted["kind"]].astype(np.int8),
        post_created=np.r_[host.post_created, planted["post_created"]],
        ring=ring,
    )


def _ring_engagements(
    rng: np.random.Generator,
    spec: RingSpec,
    members: np.ndarray,
    group: np.ndarray,
    first_post_id: int,
    span: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Fresh posts for each member; fellow members engage each within a minute or two."""
    n = len(members)
    posts_per = np.full(n, spec.posts_per_member)
    sizes = np.full(spec.count, spec.size)
    local_first = np.arange(n) * spec.posts_per_member
    actor_local, post_local = _group_engagements(
        rng, np.arange(n), group, sizes, local_first, posts_per, spec.density
    )
    post_time = rng.uniform(span[0], span[1], n * spec.posts_per_member)
    post_owner = np.repeat(np.arange(n), spec.posts_per_member)
    lag = rng.lognormal(np.log(60.0), 0.8, len(post_local))
    return {
        "actor": members[actor_local],
        "target": members[post_owner[post_local]],
        "post": first_post_id + post_local,
        "at": (post_time[post_local] + lag).astype(np.int64),
        "kind": np.where(rng.random(len(post_local)) < 0.6, _REPOST, _LIKE).astype(np.int8),
        "post_created": np.floor(post_time[post_local]),
    }


@dataclass(frozen=True)
class _PopularPosts:
    post: np.ndarray
    target: np.ndarray
    created: np.ndarray
    weight: np.ndarray = field(repr=False)


def _popular_posts(host: Host) -> _PopularPosts | None:
    """Posts of the top 1% most engaged accounts (at least 20 of them), weighted by popularity."""
    received = host.received()
    k = max(20, host.n_nodes // 100)
    top = np.argsort(-received, kind="stable")[:k]
    top = top[received[top] > 0]
    on_top = np.isin(host.target, top) & (host.post >= 0)
    if not on_top.any():
        return None
    post, first = np.unique(host.post[on_top], return_index=True)
    target = host.target[on_top][first]
    created = host.post_created[on_top][first]
    created = np.where(np.isnan(created), host.at[on_top][first], created)
    return _PopularPosts(post, target, created, received[target].astype(np.float64))


def _camouflage(rng: np.random.Generator, actors: np.ndarray, popular: _PopularPosts
                ) -> dict[str, np.ndarray]:
    """Each actor engages popular accounts' posts at ordinary, hours-long delays."""
    pick = _weighted_choice(rng, popular.weight, len(actors))
    lag = rng.lognormal(np.log(3 * 3600), 1.6, len(actors))
    return {
        "actor": actors,
        "target": popular.target[pick],
        "post": popular.post[pick],
        "at": (popular.created[pick] + lag).astype(np.int64),
        "kind": np.where(rng.random(len(actors)) < 0.5, _REPOST, _LIKE).astype(np.int8),
        "post_created": popular.created[pick],
    }


# --- scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """Counts of flagged accounts against ring members, and the usual ratios."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def score(flagged: np.ndarray, truth: np.ndarray) -> Score:
    flagged, truth = np.asarray(flagged, bool), np.asarray(truth, bool)
    return Score(int((flagged & truth).sum()), int((flagged & ~truth).sum()),
                 int((~flagged & truth).sum()))


def detector_flags(table: pa.Table, n_nodes: int) -> dict[str, np.ndarray]:
    """Which nodes each detector flags, from a ring table computed on a host's int node ids.

    ``reciprocity`` is the baseline: at least half of the account's reposts
    were returned, by at least one partner.
    """
    node = pc.cast(table.column("account_id"), pa.int64()).to_numpy()

    def spread(values: pa.ChunkedArray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        out = np.zeros(n_nodes, dtype=bool)
        out[node] = test(values.to_numpy(zero_copy_only=False))
        return out

    blocks = spread(table.column("ring_block_id").is_valid(), lambda v: v)
    lockstep = spread(table.column("lockstep_group_size"), lambda v: v > 0)
    mutual_core = spread(table.column("mutual_core_size"), lambda v: v > 0)
    share = table.column("mutual_repost_share").fill_null(0.0)
    partners = table.column("mutual_core_number")
    reciprocity = spread(share, lambda v: v >= 0.5) & spread(partners, lambda v: v >= 1)
    return {"rings": blocks | lockstep, "blocks": blocks, "lockstep": lockstep,
            "mutual_core": mutual_core, "reciprocity": reciprocity}


def run_detection(
    host: Host, params: RingParams | None = None, *, ignore: np.ndarray | None = None
) -> dict[str, Score]:
    """Detect rings in the host and score every detector against its ring labels.

    Nodes in ``ignore`` (e.g. the host's own rings, when scoring planted ones)
    count neither as hits nor as false alarms.
    """
    table = detect_rings_from_arrays(**host.arrays(), params=params)
    flags = detector_flags(table, host.n_nodes)
    truth = host.ring >= 0
    judged = host.judged if ignore is None else host.judged & ~ignore
    return {name: score(flag[judged], truth[judged]) for name, flag in flags.items()}


@dataclass(frozen=True)
class Scenario:
    camouflage: str
    size: int
    density: float
    scores: dict[str, Score]


def evaluate(
    make_host: Callable[[], Host],
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    densities: Sequence[float] = DEFAULT_DENSITIES,
    camouflage: Sequence[str] = tuple(CAMOUFLAGE),
    members_per_scenario: int = 200,
    seed: int = 0,
    params: RingParams | None = None,
    on_scenario: Callable[[Scenario], None] | None = None,
) -> list[Scenario]:
    """One planting per (camouflage, size, density): rings totalling ~``members_per_scenario``.

    Scores count planted rings only: the host's own ring members are left out
    (``run_detection(host)`` scores those).
    """
    base = make_host()
    own_rings = base.ring >= 0
    results = []
    for c_i, level in enumerate(camouflage):
        for s_i, size in enumerate(sizes):
            for d_i, density in enumerate(densities):
                count = max(2, members_per_scenario // size)
                spec = RingSpec(size=size, density=density, camouflage=level, count=count)
                planted = plant_rings(base, [spec], seed=seed + 1000 * c_i + 100 * s_i + d_i)
                scores = run_detection(planted, params, ignore=own_rings)
                scenario = Scenario(level, size, density, scores)
                results.append(scenario)
                if on_scenario is not None:
                    on_scenario(scenario)
    return results


def pooled(scenarios: Iterable[Scenario], key: Callable[[Scenario], object]
           ) -> dict[object, dict[str, Score]]:
    """Scores summed over the scenarios that share ``key`` (micro-averaged)."""
    out: dict[object, dict[str, Score]] = {}
    for sc in scenarios:
        bucket = out.setdefault(key(sc), {})
        for name, s in sc.scores.items():
            bucket[name] = bucket[name] + s if name in bucket else s
    return out


# --- a whole study ---------------------------------------------------------------------


def _make_host(kind: str, accounts: int, seed: int, datasets: Path) -> Callable[[], Host]:
    if kind == "synthetic":
        return lambda: synthetic_host(accounts, seed=seed)
    if kind == "retweet":
        return lambda: retweet_host(datasets / "retweet-timelines")
    if kind == "world":
        return lambda: _world_host(accounts, seed)
    raise UserError(f"--host: expected synthetic, world or retweet, got {kind!r}")


def _world_host(accounts: int, seed: int) -> Host:
    try:
        from trueclout.training.sim.world import simulate_world
    except ModuleNotFoundError as exc:
        raise UserError("--host world: the simulator (trueclout.training.sim.world) "
                        "is not available") from exc
    world = simulate_world(accounts, seed=seed)
    return host_from_tables(world.tables, world.labels, label="world")


def _fmt(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.3f}"


def _prf(s: Score) -> str:
    return f"{_fmt(s.precision)} {_fmt(s.recall)} {_fmt(s.f1)}"


@dataclass(frozen=True)
class Study:
    """A host, what came back from each planting, and the host's own rings' scores (if any)."""

    host: Host
    scenarios: list[Scenario]
    own: dict[str, Score] | None


def injection_study(
    host: str = "synthetic",
    *,
    accounts: int = 20_000,
    seed: int = 0,
    sizes: Sequence[int] = DEFAULT_SIZES,
    densities: Sequence[float] = DEFAULT_DENSITIES,
    camouflage: Sequence[str] = tuple(CAMOUFLAGE),
    members: int = 200,
    datasets: Path = Path("../shared/datasets"),
    progress: Progress | None = None,
) -> Study:
    """Build the host (synthetic, world or retweet), score its own rings, plant and detect.

    ``progress`` sees one stage with a step per scenario.
    """
    progress = progress or SilentProgress()
    made = _make_host(host, accounts, seed, datasets)()
    own = run_detection(made) if (made.ring >= 0).any() else None
    progress.start("planting and detecting", len(camouflage) * len(sizes) * len(densities))
    scenarios = evaluate(lambda: made, sizes=sizes, densities=densities, camouflage=camouflage,
                         members_per_scenario=members, seed=seed,
                         on_scenario=lambda _: progress.advance())
    return Study(made, scenarios, own)


def report_tables(study: Study) -> list[Any]:
    """The study as rich renderables: the host's own rings, then planted rings three ways.

    The command prints them; building them here keeps the figures next to the code that
    computes them and the printing out of the library.
    """
    from rich.table import Table

    host, scenarios, own = study.host, study.scenarios, study.own
    out: list[Any] = [f"host {host.label}: {host.n_nodes:,} accounts, {host.n_edges:,} edges, "
                      f"{int((host.ring >= 0).sum()):,} own ring members"]
    if own is not None:
        t = Table(title="host's own rings, nothing planted: precision recall F1")
        t.add_column("detector")
        t.add_column("P R F1")
        for name, s in own.items():
            t.add_row(name, _prf(s))
        out.append(t)
    for title, key in (
        ("by camouflage and ring size (densities pooled)", lambda sc: (sc.camouflage, sc.size)),
        ("by camouflage", lambda sc: (sc.camouflage,)),
        ("by scenario", lambda sc: (sc.camouflage, sc.size, sc.density)),
    ):
        t = Table(title=f"planted rings, {title}: precision recall F1 of flagged accounts")
        for col in ("camouflage", "size", "density")[: len(key(scenarios[0]))]:
            t.add_column(col)
        for name in DETECTORS:
            t.add_column(f"{name} P R F1" if name != "rings" else "rings (blocks or lockstep)")
        for group, scores in pooled(scenarios, key).items():
            t.add_row(*(str(g) for g in group), *(_prf(scores[n]) for n in DETECTORS))
        out.append(t)
    return out
