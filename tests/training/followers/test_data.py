"""Adapters from labelled-follower folders to the follower-profile table: mapping, gaps, errors."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import snapshot_dict
from tests.models.follower_builders import (
    CRAWL,
    cresci_folder,
    cresci_profiles,
    instafake_folder,
    instafake_records,
    twitter_time,
    write_csv,
)
from trueclout.contract import AccountSnapshot
from trueclout.features.families.follower_signals import FOLLOWER_SIGNALS
from trueclout.io import write_tables
from trueclout.tables import snapshots_to_tables
from trueclout.training.data.followers import (
    FollowerDataError,
    concat_followers,
    detect_follower_format,
    labelled_from_tables,
    read_followers,
    read_labelled,
)
from trueclout.training.evaluate.followers import data_summary


def col(signals: np.ndarray, name: str) -> np.ndarray:
    return signals[:, FOLLOWER_SIGNALS.index(name)]


# --- cresci ------------------------------------------------------------------------------


def test_cresci_groups_labels_and_field_mapping(tmp_path: Path) -> None:
    cresci_folder(tmp_path, humans=5, fakes={"INT": 3, "FSF": 2})
    data = read_followers(tmp_path)
    assert data.source == "cresci"
    assert data.class_counts() == {"n_fake": 5, "n_human": 5}
    assert sorted(set(data.groups)) == ["FSF", "H", "INT"]
    assert set(data.groups[data.labels == 0]) == {"H"}
    first = data.profiles.slice(0, 1).to_pylist()[0]
    source = cresci_profiles("human", 1, 0, "H")[0]
    assert first["posts_count"] == int(source["statuses_count"])
    assert first["following_count"] == int(source["friends_count"])
    assert first["likes_count"] == int(source["favourites_count"])
    assert first["username"] == source["screen_name"]
    assert first["bio"] == source["description"]


def test_cresci_ages_are_measured_at_the_crawl_not_today(tmp_path: Path) -> None:
    row = cresci_profiles("human", 1, 0)[0] | {
        "created_at": twitter_time(CRAWL - timedelta(days=999)),
        "updated": CRAWL.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_csv(tmp_path / "humans_X.csv", [row])
    data = read_followers(tmp_path)
    assert data.measurements()["age_days"][0] == pytest.approx(999.0)
    assert col(data.signals(), "log_age_days")[0] == pytest.approx(np.log1p(999.0))


def test_cresci_without_crawl_time_leaves_age_unknown(tmp_path: Path) -> None:
    header = [c for c in cresci_profiles("human", 1, 0)[0] if c != "updated"]
    write_csv(tmp_path / "humans_X.csv", cresci_profiles("human", 3, 0), header=header)
    data = read_followers(tmp_path)
    assert np.isnan(data.measurements()["age_days"]).all()
    assert "age_days" in data.lacks()


def test_cresci_flags_nulls_and_empty_cells(tmp_path: Path) -> None:
    rows = cresci_profiles("fake", 4, 0)
    rows[0] |= {"default_profile_image": "1", "verified": ""}
    rows[1] |= {"default_profile_image": "1.0", "followers_count": "", "created_at": ""}
    rows[2] |= {"description": "NULL", "url": "NULL", "listed_count": "NULL"}
    rows[3] |= {"description": "", "friends_count": "12.0"}
    write_csv(tmp_path / "fakes_M.csv", rows)
    data = read_followers(tmp_path)
    table = data.profiles.to_pydict()
    assert table["default_avatar"][:3] == [True, True, False]
    assert table["verified"][0] is False
    assert table["followers_count"][1] is None and table["created_at"][1] is None
    assert table["bio"][2] is None and table["url"][2] is None
    assert table["listed_count"][2] is None
    assert table["bio"][3] == "" and table["following_count"][3] == 12
    s = data.signals()
    assert np.isnan(col(s, "log_followers")[1]) and np.isnan(col(s, "log_age_days")[1])
    assert np.isnan(col(s, "bio_blank")[2]) and col(s, "bio_blank")[3] == 1.0
    assert np.isnan(col(s, "has_url")[2]) and col(s, "has_url")[3] == 0.0


def test_cresci_only_one_class_and_any_group_names(tmp_path: Path) -> None:
    write_csv(tmp_path / "fakes_whatever.csv", cresci_profiles("fake", 4, 0))
    data = read_followers(tmp_path, "cresci")
    assert data.class_counts() == {"n_fake": 4, "n_human": 0}
    assert set(data.groups) == {"whatever"}


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("followers_count", "many", "a whole number >= 0"),
        ("statuses_count", "-3", "a whole number >= 0"),
        ("friends_count", "2.5", "a whole number >= 0"),
        ("created_at", "yesterday", "a date"),
        ("verified", "maybe", "a 0/1 flag"),
        ("updated", "2015-13-45", "a time"),
    ],
)
def test_cresci_bad_cells_name_file_record_and_column(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    rows = cresci_profiles("human", 3, 0)
    rows[1][column] = value
    write_csv(tmp_path / "humans_E.csv", rows)
    with pytest.raises(FollowerDataError) as err:
        read_followers(tmp_path)
    message = str(err.value)
    assert "humans_E.csv, record 2" in message
    assert repr(column) in message and reason in message


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.sets(st.sampled_from(["humans_E", "fakes_A", "fakes_B"]), min_size=1),
    blanks=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(
        ["statuses_count", "followers_count", "friends_count", "favourites_count",
         "listed_count", "created_at", "url", "location", "description", "screen_name",
         "name", "updated", "default_profile_image", "id"])), max_size=12),
)
def test_cresci_any_subset_with_gaps_anywhere_reads_every_row(
    groups: set[str], blanks: list[tuple[int, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        expected = {0: 0, 1: 0}
        for i, name in enumerate(sorted(groups)):
            rows = cresci_profiles("human" if name.startswith("humans") else "fake", 4, i)
            for r, column in blanks:
                rows[r][column] = ""
            write_csv(folder / f"{name}.csv", rows)
            expected[0 if name.startswith("humans") else 1] += 4
        data = read_followers(folder)
        signals = data.signals()
    assert data.class_counts() == {"n_fake": expected[1], "n_human": expected[0]}
    assert signals.shape == (sum(expected.values()), len(FOLLOWER_SIGNALS))
    assert not np.isinf(signals).any()


# --- InstaFake -------------------------------------------------------------------------------


def test_instafake_maps_derived_numbers_and_says_what_it_lacks(tmp_path: Path) -> None:
    folder = tmp_path / "insta"
    folder.mkdir()
    (folder / "realAccountData.json").write_text(json.dumps([
        {"userFollowerCount": 10, "userFollowingCount": 30, "userBiographyLength": 0,
         "userMediaCount": 4, "userHasProfilPic": 0, "userIsPrivate": 1,
         "usernameDigitCount": 3, "usernameLength": 12, "isFake": 0},
    ]))
    data = read_followers(folder)
    assert data.source == "instafake" and data.class_counts() == {"n_fake": 0, "n_human": 1}
    s = data.signals()
    assert col(s, "username_digit_share")[0] == pytest.approx(3 / 12)
    assert col(s, "username_length")[0] == 12
    assert col(s, "bio_blank")[0] == 1.0 and col(s, "bio_length")[0] == 0
    assert col(s, "default_avatar")[0] == 1.0
    assert col(s, "following_to_followers")[0] == pytest.approx(np.log1p(30) - np.log1p(10))
    lacks = data.lacks()
    for name in ("username_entropy", "age_days", "likes", "has_url"):
        assert name in lacks
    assert np.isnan(col(s, "username_entropy")[0]) and np.isnan(col(s, "log_age_days")[0])


def test_instafake_any_subset_and_missing_values(tmp_path: Path) -> None:
    instafake_folder(tmp_path, real=None, fake=5)
    records = instafake_records(True, 5, 1)
    records[2]["userFollowerCount"] = None
    del records[3]["usernameLength"]
    (tmp_path / "fakeAccountData.json").write_text(json.dumps(records))
    data = read_followers(tmp_path)
    assert data.class_counts() == {"n_fake": 5, "n_human": 0}
    s = data.signals()
    assert np.isnan(col(s, "log_followers")[2])
    assert np.isnan(col(s, "username_length")[3])
    assert np.isnan(col(s, "username_digit_share")[3])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"userFollowerCount": "lots"}, "userFollowerCount: 'lots' is not a number >= 0"),
        ({"userMediaCount": -1}, "userMediaCount: -1 is not a number >= 0"),
        ({"isFake": 0}, "contradicts the file"),
    ],
)
def test_instafake_bad_records_are_named(tmp_path: Path, change: dict, message: str) -> None:
    records = instafake_records(True, 3, 0)
    records[1] |= change
    (tmp_path / "fakeAccountData.json").write_text(json.dumps(records))
    with pytest.raises(FollowerDataError, match="fakeAccountData.json, record 2") as err:
        read_followers(tmp_path)
    assert message in str(err.value)


def test_instafake_not_a_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "realAccountData.json").write_text('{"a": 1}')
    with pytest.raises(FollowerDataError, match="expected a JSON list"):
        read_followers(tmp_path)


# --- TrueClout table folders ---------------------------------------------------------------


def _tables_folder(folder: Path) -> Path:
    snaps = [AccountSnapshot.model_validate(snapshot_dict(f"acct-{i}", followers=3))
             for i in range(2)]
    tables = snapshots_to_tables(snaps)
    write_tables(tables, folder)
    labels = pa.table({
        "account_id": ["acct-0", "acct-0", "acct-1", "acct-1"],
        "position": pa.array([0, 2, 0, 1], pa.int32()),
        "follower_id": ["f0", "f2", "f0", "f1"],
        "is_fake": pa.array([1, 0, 0, 1], pa.int8()),
        "market": ["bulk", None, None, "premium"],
    })
    import pyarrow.parquet as pq

    pq.write_table(labels, folder / "follower_labels.parquet")
    return folder


def test_tables_folder_joins_labels_and_dates_followers(tmp_path: Path) -> None:
    data = read_followers(_tables_folder(tmp_path))
    assert detect_follower_format(tmp_path) == "tables"
    assert len(data) == 4  # the unlabelled follower (acct-0, position 1) is left out
    assert list(data.labels) == [1, 0, 0, 1]
    assert list(data.groups) == ["bulk", "human", "human", "premium"]
    observed = data.profiles.column("observed_at").to_pylist()
    assert all(t == data.profiles.column("observed_at")[0].as_py() for t in observed)
    age = data.measurements()["age_days"]
    assert np.all(age > 0) and not np.isnan(age).any()


def test_tables_labels_must_be_binary(tmp_path: Path) -> None:
    snaps = [AccountSnapshot.model_validate(snapshot_dict("a", followers=2))]
    tables = snapshots_to_tables(snaps)
    labels = pa.table({"account_id": ["a"], "position": pa.array([0], pa.int32()),
                       "is_fake": [2]})
    with pytest.raises(FollowerDataError, match="is_fake must be 0 or 1"):
        labelled_from_tables(tables.followers, labels, tables.profiles)
    with pytest.raises(FollowerDataError, match=r"lack columns \['is_fake'\]"):
        labelled_from_tables(tables.followers, labels.drop_columns(["is_fake"]))


# --- detection -----------------------------------------------------------------------------


def test_detection_and_clear_errors_for_unknown_folders(tmp_path: Path) -> None:
    assert detect_follower_format(cresci_folder(tmp_path / "c", humans=2, fakes={})) == "cresci"
    assert detect_follower_format(instafake_folder(tmp_path / "i", real=2, fake=None)) == \
        "instafake"
    (tmp_path / "empty").mkdir()
    with pytest.raises(FollowerDataError, match="no labelled followers found"):
        read_followers(tmp_path / "empty")
    with pytest.raises(FollowerDataError, match="not a folder"):
        read_followers(tmp_path / "missing")
    with pytest.raises(FollowerDataError, match="unknown format 'csv'"):
        read_followers(tmp_path / "c", "csv")
    (tmp_path / "hollow").mkdir()
    write_csv(tmp_path / "hollow" / "humans_X.csv", [])
    with pytest.raises(FollowerDataError, match="holds no follower profiles"):
        read_followers(tmp_path / "hollow")


# --- many data sets: identity of every row, roots, selection ------------------------------


def _root(root: Path) -> Path:
    """Two data sets (cresci ``tw-b``, instafake ``ig-a``) and a folder that is neither."""
    cresci_folder(root / "tw-b", humans=4, fakes={"INT": 3})
    instafake_folder(root / "ig-a", real=5, fake=2)
    (root / "timelines" / "tweets").mkdir(parents=True)
    (root / "timelines" / "README.md").write_text("no labels here")
    (root / "README.md").write_text("a root, not a data set")
    return root


def test_every_row_names_its_data_set_and_platform(tmp_path: Path) -> None:
    data = read_followers(cresci_folder(tmp_path / "cresci-x", humans=3, fakes={"INT": 2}))
    assert data.profiles.column_names[-3:] == ["group", "dataset", "platform"]
    assert set(data.datasets) == {"cresci-x"} and set(data.platforms) == {"twitter"}
    assert list(data.units) == ["cresci-x/H"] * 3 + ["cresci-x/INT"] * 2
    insta = read_followers(instafake_folder(tmp_path / "insta", real=2, fake=1))
    assert set(insta.platforms) == {"instagram"} and set(insta.groups) == {"real", "fake"}
    tables = read_followers(_tables_folder(tmp_path / "world"))
    assert set(tables.platforms) == {"synthetic"} and set(tables.datasets) == {"world"}
    assert set(tables.groups) == {"bulk", "premium", "human"}  # the bare market name


def test_read_labelled_reads_a_root_in_name_order_and_skips_other_folders(
    tmp_path: Path,
) -> None:
    root = _root(tmp_path / "root")
    data = read_labelled([root])
    assert list(dict.fromkeys(data.datasets)) == ["ig-a", "tw-b"]  # sorted by data set
    assert list(dict.fromkeys(data.platforms)) == ["instagram", "twitter"]
    assert data.class_counts() == {"n_fake": 5, "n_human": 9}
    assert data.folders.read == (root / "ig-a", root / "tw-b")
    assert data.folders.skipped == (root / "timelines",)
    # the same rows and signals as reading each folder on its own, in the same order:
    # InstaFake's derived numbers do not blank the Twitter rows' measured ones
    alone = [read_followers(root / "ig-a"), read_followers(root / "tw-b")]
    assert data.profiles.equals(concat_followers(alone).profiles)
    assert np.array_equal(data.signals(), np.vstack([p.signals() for p in alone]),
                          equal_nan=True)
    assert not np.isnan(col(data.signals(), "username_length")).any()


def test_read_labelled_takes_several_paths_of_either_kind(tmp_path: Path) -> None:
    root = _root(tmp_path / "root")
    extra = cresci_folder(tmp_path / "elsewhere" / "tw-a", humans=2, fakes={"FSF": 2})
    data = read_labelled([root, extra])
    assert list(dict.fromkeys(data.datasets)) == ["ig-a", "tw-a", "tw-b"]
    assert len(data) == 7 + 4 + 7
    again = read_labelled([extra, root])  # order of the paths does not matter
    assert again.profiles.equals(data.profiles)
    one = read_labelled([extra])
    assert set(one.datasets) == {"tw-a"} and one.folders.skipped == ()


def test_read_labelled_with_a_format_reads_only_that_layout(tmp_path: Path) -> None:
    root = _root(tmp_path / "root")
    data = read_labelled([root], "instafake")
    assert set(data.datasets) == {"ig-a"}
    assert data.folders.skipped == (root / "timelines", root / "tw-b")
    with pytest.raises(FollowerDataError, match="unknown format 'csv'"):
        read_labelled([root], "csv")


def test_read_labelled_refuses_the_same_data_set_twice(tmp_path: Path) -> None:
    first = cresci_folder(tmp_path / "a" / "cresci-2015", humans=2, fakes={"INT": 2})
    cresci_folder(tmp_path / "b" / "cresci-2015", humans=2, fakes={"INT": 2}, seed=3)
    with pytest.raises(FollowerDataError, match="'cresci-2015' is already read from") as err:
        read_labelled([tmp_path / "a", tmp_path / "b"])
    assert str(tmp_path / "b" / "cresci-2015") in str(err.value)
    with pytest.raises(FollowerDataError, match="both sides of a split"):
        read_labelled([first, first])


def test_read_labelled_refuses_missing_paths_and_empty_roots(tmp_path: Path) -> None:
    with pytest.raises(FollowerDataError, match="no such folder") as err:
        read_labelled([tmp_path / "missing"])
    assert str(tmp_path / "missing") in str(err.value)
    (tmp_path / "root" / "notes").mkdir(parents=True)
    with pytest.raises(FollowerDataError, match="holds no labelled data set") as err:
        read_labelled([tmp_path / "root"])
    assert str(tmp_path / "root") in str(err.value)
    (tmp_path / "file.csv").write_text("x")
    with pytest.raises(FollowerDataError, match="file.csv: not a folder"):
        read_labelled([tmp_path / "file.csv"])
    with pytest.raises(FollowerDataError, match="no data given"):
        read_labelled([])
    (tmp_path / "hollow" / "set").mkdir(parents=True)  # a data set that is broken is an error
    write_csv(tmp_path / "hollow" / "set" / "humans_X.csv", [])
    with pytest.raises(FollowerDataError, match="holds no follower profiles"):
        read_labelled([tmp_path / "hollow"])


def test_units_are_unique_across_data_sets_with_the_same_group_names(tmp_path: Path) -> None:
    cresci_folder(tmp_path / "one", humans=2, fakes={"A": 2})
    cresci_folder(tmp_path / "two", humans=3, fakes={"A": 1}, seed=5)
    data = read_labelled([tmp_path])
    assert set(data.groups) == {"H", "A"}
    units, counts = np.unique(data.units.astype(str), return_counts=True)
    assert dict(zip(units, counts, strict=True)) == {"one/H": 2, "one/A": 2, "two/H": 3,
                                                     "two/A": 1}
    held = data.take(data.units == "one/A")  # a subset keeps its identity columns
    assert set(held.datasets) == {"one"} and held.folders == data.folders


def test_select_keeps_platforms_data_sets_and_groups(tmp_path: Path) -> None:
    root = _root(tmp_path / "root")
    cresci_folder(root / "tw-c", humans=2, fakes={"INT": 1}, seed=2)
    data = read_labelled([root])
    twitter = data.select(platforms=["twitter"])
    assert set(twitter.datasets) == {"tw-b", "tw-c"} and len(twitter) == 7 + 3
    assert twitter.folders == data.folders
    assert set(data.select(datasets={"ig-a"}).platforms) == {"instagram"}
    both_int = data.select(groups=["INT"])  # a bare group matches it in every data set
    assert set(both_int.units) == {"tw-b/INT", "tw-c/INT"}
    one_int = data.select(groups=["tw-c/INT", "real"])  # or one data set's unit
    assert set(one_int.units) == {"tw-c/INT", "ig-a/real"}
    assert set(data.select(platforms="twitter", groups=["H"]).units) == {"tw-b/H", "tw-c/H"}
    kept = data.select(platforms=["twitter"], datasets=["tw-b"])
    assert np.array_equal(kept.signals(), read_followers(root / "tw-b").signals(),
                          equal_nan=True)
    assert len(data.select()) == len(data)


def test_select_that_keeps_nothing_says_what_was_asked_and_what_exists(tmp_path: Path) -> None:
    data = read_labelled([_root(tmp_path / "root")])
    with pytest.raises(FollowerDataError) as err:
        data.select(platforms=["tiktok"])
    message = str(err.value)
    assert "platform in ['tiktok']" in message
    assert "['instagram', 'twitter']" in message and "'tw-b/INT'" in message
    with pytest.raises(FollowerDataError, match=r"platform in \['instagram'\] and group in"):
        data.select(platforms=["instagram"], groups=["INT"])  # each exists, not together


def test_concat_and_data_summary_carry_the_data_sets(tmp_path: Path) -> None:
    root = _root(tmp_path / "root")
    data = concat_followers([read_followers(root / "tw-b"), read_followers(root / "ig-a")])
    assert list(dict.fromkeys(data.datasets)) == ["tw-b", "ig-a"]
    assert data.folders.read == (root / "tw-b", root / "ig-a")
    summary = data_summary(read_labelled([root]))
    assert summary["n_fake"] == 5 and summary["n_human"] == 9
    assert summary["groups"] == {"H": 4, "INT": 3, "real": 5, "fake": 2}
    assert summary["datasets"] == {
        "ig-a": {"platform": "instagram", "n_fake": 2, "n_human": 5,
                 "groups": {"fake": 2, "real": 5}},
        "tw-b": {"platform": "twitter", "n_fake": 3, "n_human": 4,
                 "groups": {"H": 4, "INT": 3}},
    }
    assert set(summary) >= {"source", "n_fake", "n_human", "groups", "datasets", "lacks"}


# --- the synthetic world -------------------------------------------------------------------


def test_the_synthetic_world_trains_a_follower_model(tmp_path: Path) -> None:
    from tests.models.follower_builders import FAST_MODEL
    from trueclout.training.data.followers import train_follower_model
    from trueclout.training.sim.world import simulate_world, write_world

    world = simulate_world(30, seed=3)
    model = train_follower_model(world.tables.followers, world.follower_labels,
                                 world.tables.profiles, seed=1, **FAST_MODEL)
    write_world(tmp_path, 30, 3)
    data = read_followers(tmp_path)  # the same world, through the table-folder adapter
    assert data.class_counts()["n_fake"] == int(np.sum(world.follower_labels["is_fake"]))
    assert set(data.groups[data.labels == 0]) == {"human"}
    p = model.fake_probability(data.signals())
    flagged = p >= model.threshold_
    assert flagged[data.labels == 1].mean() > flagged[data.labels == 0].mean()
