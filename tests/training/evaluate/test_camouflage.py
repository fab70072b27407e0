"""Camouflage transforms: each does what its grade says, and nothing else, on valid tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trueclout.tables import SnapshotTables, tables_to_snapshots
from trueclout.training.evaluate import camouflage as cf
from trueclout.training.sim.world import simulate_world

KINDS = {"steady": 0.3, "community": 0.1, "bought_bulk": 0.15, "bought_drip": 0.1,
         "bought_premium": 0.05, "ring_member": 0.2, "churn": 0.1}
DAY_US = 86_400 * 1_000_000


@pytest.fixture(scope="module")
def world():
    return simulate_world(160, seed=3, engagement_scale=0.2, followers_sample=60,
                          kind_weights=KINDS)


@pytest.fixture(scope="module")
def truth(world) -> cf.Truth:
    return cf.truth_from_world(world.tables, world.labels, world.follower_labels)


def _of_kind(world, kind: str) -> list[str]:
    labels = world.labels
    return labels.filter(pc.equal(labels.column("kind"), kind)).column("account_id").to_pylist()


def _micros(column) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _last_point(tables: SnapshotTables, column: str) -> dict[str, int]:
    h = tables.follower_history.sort_by([("account_id", "ascending"), ("date", "ascending")])
    return dict(zip(h.column("account_id").to_pylist(), h.column(column).to_pylist(),
                    strict=True))


def _grouped_in_profile_order(tables: SnapshotTables) -> None:
    order = {a: i for i, a in enumerate(tables.profiles.column("account_id").to_pylist())}
    for name, table in tables.items():
        if name == "profiles" or table.num_rows == 0:
            continue
        pos = np.array([order[a] for a in table.column("account_id").to_pylist()])
        assert (np.diff(pos) >= 0).all(), f"{name}: rows not grouped by account"


def _sample(world, per_kind: int = 3) -> list[str]:
    ids: list[str] = []
    for kind in ("bought_bulk", "bought_drip", "bought_premium", "ring_member", "churn",
                 "steady"):
        ids += _of_kind(world, kind)[:per_kind]
    return ids


@pytest.mark.parametrize("transform", cf.TRANSFORMS, ids=lambda t: t.name)
def test_the_identity_grade_changes_nothing(world, truth, transform) -> None:
    assert transform.apply(world.tables, transform.identity, truth, 1) is world.tables
    assert transform.identity not in transform.grades


@pytest.mark.parametrize("transform", cf.TRANSFORMS, ids=lambda t: t.name)
def test_every_grade_keeps_the_tables_valid(world, truth, transform) -> None:
    """Contract schema, every snapshot valid (times, posts named), rows grouped by account,
    followers newest first, a profile's counts the last points of its history."""
    for grade in (transform.grades[0], transform.grades[-1]):
        out = transform.apply(world.tables, grade, truth, 1)
        out.validate_schema()
        _grouped_in_profile_order(out)
        snapshots = list(tables_to_snapshots(out.select_accounts(_sample(world))))
        assert len(snapshots) == len(_sample(world))
        last = _last_point(out, "followers")
        following = _last_point(out, "following")
        for row in out.profiles.select(["account_id", "followers_count",
                                        "following_count"]).to_pylist():
            assert last[row["account_id"]] == row["followers_count"]
            if following[row["account_id"]] is not None:
                assert following[row["account_id"]] == row["following_count"]
        f = out.followers
        for account in _sample(world):
            rows = f.filter(pc.equal(f.column("account_id"), account))
            assert rows.column("position").to_pylist() == list(range(rows.num_rows))
            at = _micros(rows.column("followed_at"))
            assert (np.diff(at) <= 0).all()


def test_the_same_seed_gives_the_same_tables(world, truth) -> None:
    for transform in cf.TRANSFORMS:
        a = transform.apply(world.tables, transform.grades[1], truth, 7)
        b = transform.apply(world.tables, transform.grades[1], truth, 7)
        for name, table in a.items():
            assert table.equals(b[name]), (transform.name, name)


def test_mix_in_adds_k_times_the_bought_amount(world, truth) -> None:
    tables = world.tables.select_accounts(_of_kind(world, "bought_bulk"))
    bought = cf.bought_amount(tables, truth)
    assert (bought > 0).all()
    out = cf.mix_in(tables, 3.0, truth, seed=1)
    before = tables.profiles.column("followers_count").to_numpy()
    after = out.profiles.column("followers_count").to_numpy()
    assert (after - before == np.rint(3.0 * bought)).all()
    # Spread over the window: no day gains more than a small share of what was added.
    h = out.follower_history.to_pandas()
    h0 = tables.follower_history.to_pandas()
    extra = (h["followers"] - h0["followers"]).to_numpy()
    gains = np.diff(extra)[h["account_id"].to_numpy()[1:] == h["account_id"].to_numpy()[:-1]]
    assert gains.max() < 0.05 * (after - before).max()
    # Same sample size; the newcomers' share of it is their share of the audience.
    f0, f1 = tables.followers, out.followers
    assert f1.num_rows == f0.num_rows
    new = ~np.asarray(pc.is_in(cf._pair_key(f1.column("account_id"), f1.column("follower_id")),
                               value_set=cf._pair_key(f0.column("account_id"),
                                                      f0.column("follower_id"))))
    per_account = pc.value_counts(f1.filter(pa.array(new)).column("account_id"))
    swapped = dict(zip(per_account.field("values").to_pylist(),
                       per_account.field("counts").to_pylist(), strict=True))
    sizes = pc.value_counts(f0.column("account_id"))
    sampled = dict(zip(sizes.field("values").to_pylist(), sizes.field("counts").to_pylist(),
                       strict=True))
    for account, n0, n1 in zip(tables.profiles.column("account_id").to_pylist(), before, after,
                               strict=True):
        expected = sampled[account] * (n1 - n0) / n1
        assert abs(swapped.get(account, 0) - expected) <= 1
    # Genuine profiles, none of them twice in one sample, none of them bought.
    added = f1.filter(pa.array(new))
    assert not cf.bought_rows(out, truth)[new].any()
    keys = cf._pair_key(added.column("account_id"), added.column("follower_id"))
    assert pc.count_distinct(keys).as_py() == added.num_rows
    assert pc.all(pc.is_in(added.column("follower_id"),
                           value_set=truth.donors.column("follower_id"))).as_py()


def test_drip_redelivers_the_purchase_evenly_over_d_days(world, truth) -> None:
    tables = world.tables.select_accounts(_of_kind(world, "bought_bulk"))
    out = cf.drip(tables, 30, truth, seed=1)
    assert out.profiles.equals(tables.profiles)
    h0 = tables.follower_history.to_pandas()
    h1 = out.follower_history.to_pandas()
    f0, f1 = tables.followers, out.followers
    bought, bought_now = cf.bought_rows(tables, truth), cf.bought_rows(out, truth)
    for account, g0 in h0.groupby("account_id"):
        g1 = h1[h1["account_id"] == account]
        assert g0["followers"].iloc[-1] == g1["followers"].iloc[-1]
        # The delivery days (when its sampled bought followers came) lose their burst ...
        mine = bought & np.asarray(pc.equal(f0.column("account_id"), account))
        came = np.unique(_micros(f0.column("followed_at"))[mine] // DAY_US)
        day = np.asarray(pc.cast(pa.array(g0["date"]), pa.int32())).astype(np.int64)[1:]
        d0 = np.diff(g0["followers"].to_numpy())
        d1 = np.diff(g1["followers"].to_numpy())
        delivery = np.isin(day, came)
        assert d1[delivery].max() < d0[delivery].max() / 3
        # ... moved into one delivery of 30 days (an organic spike elsewhere stays).
        moved = g1["followers"].to_numpy() - g0["followers"].to_numpy()
        changed_days = np.flatnonzero(np.diff(moved) != 0)
        assert np.ptp(changed_days) <= 31
        # The sampled bought followers now follow within those 30 days, at any hour.
        now = bought_now & np.asarray(pc.equal(f1.column("account_id"), account))
        assert np.ptp(_micros(f1.column("followed_at"))[now] // DAY_US) < 30


def test_premium_fakes_borrow_genuine_counts_but_are_young_and_made_together(world, truth
                                                                            ) -> None:
    tables = world.tables.select_accounts(_of_kind(world, "bought_bulk"))
    out = cf.premium(tables, 1.0, truth, seed=1)
    f0, f1 = tables.followers, out.followers
    bought = cf.bought_rows(tables, truth)
    assert cf.bought_rows(out, truth).tolist() == bought.tolist()  # same rows, same order
    for column in ("follower_id", "followed_at", "account_id", "position"):
        assert f1.column(column).equals(f0.column(column))
    kept = pa.array(~bought)
    assert f1.filter(kept).equals(f0.filter(kept))
    donor_posts = set(truth.donors.column("posts_count").to_pylist())
    assert set(f1.filter(pa.array(bought)).column("posts_count").to_pylist()) <= donor_posts
    created = _micros(f1.column("created_at"))
    followed = _micros(f1.column("followed_at"))
    for account in tables.profiles.column("account_id").to_pylist():
        mine = bought & np.asarray(pc.equal(f1.column("account_id"), account))
        assert np.ptp(created[mine]) <= cf.PREMIUM_LOT_SPREAD_DAYS * DAY_US
        age = followed[mine].min() - created[mine].min()
        assert cf.PREMIUM_AGE_DAYS[0] * DAY_US - 1 <= age <= cf.PREMIUM_AGE_DAYS[1] * DAY_US
    half = cf.premium(tables, 0.5, truth, seed=1).followers
    changed = ~np.asarray(pc.equal(half.column("created_at"), f0.column("created_at")))
    assert changed[~bought].sum() == 0
    assert abs(changed.sum() - bought.sum() / 2) <= tables.num_accounts


def _pod_repost_keys(tables: SnapshotTables, truth: cf.Truth) -> tuple[set, set]:
    """Pod reposts as the engaged account's engagements and as the engager's reposts."""
    e = tables.engagements.filter(pa.array(cf.pod_engagements(tables, truth)))
    e = e.filter(pc.equal(e.column("kind"), "repost"))
    r = tables.reposts_made.filter(pa.array(cf.pod_reposts(tables, truth)))
    return (set(zip(e.column("actor_id").to_pylist(), e.column("account_id").to_pylist(),
                    e.column("post_id").to_pylist(), e.column("at").to_pylist(), strict=True)),
            set(zip(r.column("account_id").to_pylist(), r.column("target_account_id").to_pylist(),
                    r.column("post_id").to_pylist(), r.column("at").to_pylist(), strict=True)))


def test_pod_delay_moves_pod_engagement_by_up_to_h_hours_on_both_sides(world, truth) -> None:
    tables = world.tables
    assert cf.pod_engagements(tables, truth).sum() > 100
    out = cf.pod_delay(tables, 3.0, truth, seed=1)
    engaged, reposted = _pod_repost_keys(out, truth)
    assert engaged == reposted and engaged
    e0, e1 = tables.engagements, out.engagements
    key = ["account_id", "actor_id", "post_id", "kind"]
    joined = e0.append_column("pod", pa.array(cf.pod_engagements(tables, truth))).join(
        e1.select([*key, "at"]).rename_columns([*key, "at_after"]), key, join_type="left outer")
    pod = np.asarray(joined.column("pod"))
    shift = _micros(joined.column("at_after")) - _micros(joined.column("at"))
    present = np.asarray(pc.is_valid(joined.column("at_after")))
    assert (shift[~pod] == 0).all() and present[~pod].all()
    assert (shift[pod & present] >= 0).all()
    assert (shift[pod & present] <= 3 * 3600 * 1_000_000).all()
    assert shift[pod & present].mean() > 3600 * 1_000_000  # about h / 2 on average
    # What would land after observation has not happened yet, and is not counted.
    gone = int((~present).sum())
    assert e0.num_rows - e1.num_rows == gone
    total = sum(pc.sum(out.posts.column(c)).as_py() or 0
                for c in ("reposts_count", "likes_count", "replies_count"))
    before = sum(pc.sum(tables.posts.column(c)).as_py() or 0
                 for c in ("reposts_count", "likes_count", "replies_count"))
    assert before - total <= gone


def test_reciprocity_keeps_the_stated_share_of_pod_engagement(world, truth) -> None:
    tables = world.tables
    pod = cf.pod_engagements(tables, truth)
    out = cf.reciprocity(tables, 0.5, truth, seed=1)
    kept = cf.pod_engagements(out, truth).sum() / pod.sum()
    assert 0.4 < kept < 0.6
    # Other engagement untouched; both sides agree on which pod reposts remain.
    others = pa.array(~pod)
    assert out.engagements.filter(pa.array(~cf.pod_engagements(out, truth))).equals(
        tables.engagements.filter(others))
    engaged, reposted = _pod_repost_keys(out, truth)
    assert engaged == reposted
    # Posts' totals lose exactly the withdrawn likes (likes have one column of their own).
    dropped = tables.engagements.num_rows - out.engagements.num_rows
    likes0 = pc.sum(tables.posts.column("likes_count")).as_py()
    likes1 = pc.sum(out.posts.column("likes_count")).as_py()
    withdrawn = tables.engagements.filter(pa.array(
        pod & (cf._engagement_key(tables, "reciprocity", 1) >= 0.5)))
    assert withdrawn.num_rows == dropped
    assert likes0 - likes1 == pc.sum(pc.equal(withdrawn.column("kind"), "like")).as_py()
    less = cf.reciprocity(tables, 0.3, truth, seed=1)
    assert cf.pod_engagements(less, truth).sum() < cf.pod_engagements(out, truth).sum()


def test_outsiders_add_k_times_the_pods_volume_from_outside(world, truth) -> None:
    tables = world.tables.select_accounts(_of_kind(world, "ring_member"))
    volume = cf._pod_volume(tables, truth)
    out = cf.outsiders(tables, 2.0, truth, seed=1)
    added = out.engagements.num_rows - tables.engagements.num_rows
    assert added == int(np.rint(2.0 * volume).sum())
    assert (cf._pod_volume(out, truth) == volume).all()
    new = out.engagements.filter(pc.invert(pc.is_in(
        cf._pair_key(out.engagements.column("actor_id"), out.engagements.column("post_id")),
        value_set=cf._pair_key(tables.engagements.column("actor_id"),
                               tables.engagements.column("post_id")))))
    assert new.num_rows >= 0.95 * added
    assert not pc.any(pc.is_in(new.column("actor_id"),
                               value_set=world.tables.profiles.column("account_id"))).as_py()
    grown = sum(pc.sum(out.posts.column(c)).as_py() or 0 for c in ("likes_count",
                                                                    "replies_count"))
    before = sum(pc.sum(tables.posts.column(c)).as_py() or 0 for c in ("likes_count",
                                                                       "replies_count"))
    assert 0 < grown - before <= added


def test_smoothing_is_a_trailing_mean_of_the_following_series(world, truth) -> None:
    tables = world.tables.select_accounts(_of_kind(world, "churn"))
    out = cf.smoothing(tables, 7, truth)
    assert out.follower_history.column("followers").equals(
        tables.follower_history.column("followers"))
    h0 = tables.follower_history.to_pandas()
    h1 = out.follower_history.to_pandas()
    for account, g0 in h0.groupby("account_id"):
        if g0["following"].isna().any():
            continue
        expected = np.rint(g0["following"].rolling(7, min_periods=1).mean().to_numpy())
        got = h1[h1["account_id"] == account]["following"].to_numpy()
        assert (got == expected).all()
        assert np.abs(np.diff(got)).max() <= np.abs(np.diff(g0["following"])).max()


def test_keyed_uniforms_depend_on_the_keys_not_the_row_order() -> None:
    a = pa.array(["x", "y", "z", "x"])
    b = pa.array(["1", "2", "3", "1"])
    u = cf.keyed_uniform(5, "tag", a, b)
    assert ((u >= 0) & (u < 1)).all() and u[0] == u[3]
    flipped = cf.keyed_uniform(5, "tag", a.take([2, 1, 0, 3]), b.take([2, 1, 0, 3]))
    assert flipped[0] == u[2] and flipped[2] == u[0]
    assert cf.keyed_uniform(6, "tag", a, b)[0] != u[0]
    assert cf.keyed_uniform(5, "other", a, b)[0] != u[0]
    # (actor, target) is not (target, actor).
    assert cf.keyed_uniform(5, "tag", b, a)[0] != u[0]


def test_the_catalogue_orders_grades_by_cost() -> None:
    for t in cf.TRANSFORMS:
        grades = np.array(t.grades)
        steps = np.diff(grades)
        assert (steps > 0).all() or (steps < 0).all()
        assert (steps < 0).all() == (t.identity > grades[0])  # reciprocity: less is dearer
        assert t.cohort in {"bought_followers", "engagement_ring", "churn"}
        assert t.label(t.grades[0])
