"""Labelled snapshot sets: both formats train alike; bad labels say what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from trueclout.errors import UserError
from trueclout.training.data.labelled import build_training_set, open_labelled, ring_table
from trueclout.training.fit.account import features_digest


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trueclout.training.sim.world import write_world

    out = tmp_path_factory.mktemp("labelled") / "world"
    write_world(out, 60, 9, formats="both")
    return out


def _training_set(data: Path, labels: Path | None = None):
    labelled = open_labelled(data, labels)
    return build_training_set(labelled, follower_model=None, graph=ring_table(labelled),
                              chunk_accounts=25)


def test_json_lines_and_parquet_give_the_same_training_data(world: Path) -> None:
    from_tables = _training_set(world)
    from_jsonl = _training_set(world / "snapshots.jsonl")  # labels found beside the file
    assert features_digest(from_tables) == features_digest(from_jsonl)
    labels = pq.read_table(world / "labels.parquet")
    assert list(from_tables.account_ids) == labels.column("account_id").to_pylist()
    for tactic in ("bought_followers", "engagement_ring", "growth_burst"):
        assert from_tables.labels[tactic].tolist() == labels.column(tactic).to_pylist()
    grouped = labels.column("group_id").to_pylist()
    for group, account, given in zip(from_tables.groups, from_tables.account_ids, grouped,
                                     strict=True):
        assert group == (given if given is not None else f"account:{account}")
    assert set(from_tables.context) == {"platform", "followers_count", "kind"}


def test_csv_labels_with_shuffled_rows_join_by_account(world: Path, tmp_path: Path) -> None:
    labels = pq.read_table(world / "labels.parquet")
    shuffled = labels.take(pa.array(np.random.default_rng(0).permutation(labels.num_rows)))
    pacsv.write_csv(shuffled.select(["account_id", "bought_followers", "engagement_ring",
                                     "growth_burst"]), tmp_path / "labels.csv")
    data = _training_set(world, tmp_path / "labels.csv")
    assert data.labels["bought_followers"].tolist() == labels.column(
        "bought_followers").to_pylist()
    assert "kind" not in data.context  # not in these labels: no kind slice


def _write_labels(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["growth_burst"]), r"lack column\(s\) \['growth_burst'\]"),
        (lambda t: t.set_column(1, "bought_followers",
                                pa.array([2] + [0] * (t.num_rows - 1), pa.int8())),
         r"'bought_followers' has 1 value\(s\) other than 0/1 \(first: 2 for account"),
        (lambda t: t.set_column(2, "engagement_ring",
                                pa.array([None] + [0] * (t.num_rows - 1), pa.int8())),
         r"'engagement_ring' is empty for 1 account"),
        (lambda t: pa.concat_tables([t, t.slice(3, 1)]), "labelled more than once"),
        (lambda t: t.slice(1), "have no label"),
    ],
)
def test_bad_labels_are_refused_with_the_reason(world: Path, tmp_path: Path, change,
                                                message: str) -> None:
    labels = pq.read_table(world / "labels.parquet")
    path = _write_labels(change(labels), tmp_path / "labels.parquet")
    with pytest.raises(UserError, match=message):
        open_labelled(world, path)


def test_unlabelled_json_lines_are_refused_while_reading(world: Path, tmp_path: Path) -> None:
    labels = pq.read_table(world / "labels.parquet").slice(1)
    path = _write_labels(labels, tmp_path / "labels.parquet")
    labelled = open_labelled(world / "snapshots.jsonl", path)
    with pytest.raises(UserError, match="have no label"):
        build_training_set(labelled, follower_model=None, graph=None)


def test_missing_labels_say_how_to_give_them(tmp_path: Path, world: Path) -> None:
    lonely = tmp_path / "snapshots.jsonl"
    lonely.write_bytes((world / "snapshots.jsonl").read_bytes())
    with pytest.raises(UserError, match="pass --labels"):
        open_labelled(lonely)


def test_thinning_cuts_some_snapshots_short_whatever_the_chunking(world: Path) -> None:
    from trueclout.io import read_tables
    from trueclout.training.data.labelled import Thinning

    tables = read_tables(world)
    thinning = Thinning(share=0.5, seed=4, min_followers=5, max_followers=20)
    whole = thinning.apply(tables)
    whole.validate_schema()
    first = tables.profiles.column("account_id").to_pylist()[:20]
    part = thinning.apply(tables.select_accounts(first))
    assert part.followers.equals(whole.select_accounts(first).followers)
    counts = dict.fromkeys(tables.profiles.column("account_id").to_pylist(), 0)
    for account in whole.followers.column("account_id").to_pylist():
        counts[account] += 1
    before = dict.fromkeys(counts, 0)
    for account in tables.followers.column("account_id").to_pylist():
        before[account] += 1
    thinned = [a for a in counts if counts[a] < before[a]]
    assert 0 < len(thinned) < len(counts)
    assert all(counts[a] <= 20 for a in thinned)
    # Engagements are kept exactly for the posts that are kept.
    kept_posts = set(zip(whole.posts.column("account_id").to_pylist(),
                         whole.posts.column("post_id").to_pylist(), strict=True))
    assert {(a, p) for a, p in zip(whole.engagements.column("account_id").to_pylist(),
                                   whole.engagements.column("post_id").to_pylist(),
                                   strict=True)} <= kept_posts
    assert Thinning(share=0.0).apply(tables) is tables
