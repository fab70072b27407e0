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
    detect_follower_format,
    labelled_from_tables,
    read_followers,
)


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
