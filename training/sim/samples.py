"""The small, readable sample snapshots in data/samples/, cut from a synthetic world.

    trueclout dev samples [FOLDER]   # default: data/samples

Each sample is an account of one kind taken from a fixed-seed world with a
short history, a 25-follower sample and a few engagement rows per post, so it
carries the same fingerprints as the full world while staying small enough
to read.  Regenerating gives byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.params import TacticRanges
from trueclout.training.sim.world import World, simulate_world

SAMPLES_SEED = 20260601
SAMPLES_WORLD = 1_500
SAMPLE_OPTIONS = {
    "history_days": 90,
    "followers_sample": 25,
    "max_engagements_per_post": 6,
    "kind_weights": {"steady": 1.0, "bought_bulk": 1.0, "ring_member": 1.0, "viral": 1.0,
                     "community": 1.0, "new_thin": 1.0},
    # The ring member shows the classic pod, whose rounds its snapshot carries; a pod
    # run by a window rule is judged from the graph and is no readable example.
    "tactics": TacticRanges(pod_window_share=0.0),
}


@dataclass(frozen=True)
class Wanted:
    """Which account a sample shows, and how big it may be."""

    kind: str
    market: str | None = None
    posts: tuple[int, int] = (10, 20)
    engagements: tuple[int, int] = (60, 150)
    followers: tuple[int, int] = (20, 30)


SAMPLES: dict[str, Wanted] = {
    "genuine_steady": Wanted("steady"),
    "bought_followers": Wanted("bought_bulk", market="bulk_crude"),
    "ring_member": Wanted("ring_member"),
    "viral_genuine": Wanted("viral"),
    "genuine_community": Wanted("community"),
    "new_thin": Wanted("new_thin", posts=(1, 8), engagements=(1, 40), followers=(5, 30)),
}


def build_samples() -> dict[str, str]:
    """File name -> pretty-printed JSON of each sample snapshot."""
    world = simulate_world(SAMPLES_WORLD, SAMPLES_SEED, **SAMPLE_OPTIONS)
    out = {}
    for name, wanted in SAMPLES.items():
        account = _first_match(world, wanted)
        snapshot = next(tables_to_snapshots(world.tables.select_accounts([account])))
        out[f"{name}.json"] = readable_json(snapshot.model_dump(mode="json"))
    return out


def readable_json(doc: dict) -> str:
    """Pretty-printed JSON with one line per list item (a history day, a follower, a post)."""
    lines = []
    for name, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            text = f"[\n    {items}\n  ]"
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        lines.append(f"  {json.dumps(name)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _counts(world: World, table: str) -> dict[str, int]:
    ids, counts = np.unique(np.asarray(world.tables[table].column("account_id")),
                            return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def _first_match(world: World, wanted: Wanted) -> str:
    labels = world.labels
    mask = pc.equal(labels.column("kind"), wanted.kind)
    if wanted.market is not None:
        mask = pc.and_(mask, pc.equal(labels.column("market"), wanted.market))
    candidates = labels.filter(mask).column("account_id").to_pylist()
    posts, engagements = _counts(world, "posts"), _counts(world, "engagements")
    followers = _counts(world, "followers")
    for account in candidates:
        if (_within(posts.get(account, 0), wanted.posts)
                and _within(engagements.get(account, 0), wanted.engagements)
                and _within(followers.get(account, 0), wanted.followers)):
            return account
    raise RuntimeError(f"no {wanted.kind} account of the samples world fits {wanted}")


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def write_samples(folder: Path) -> list[Path]:
    """Write every sample into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in build_samples().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
