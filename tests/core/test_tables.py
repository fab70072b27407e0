"""Snapshots <-> tables <-> Parquet/JSON Lines, unchanged on the round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import snapshot_dict
from tests.strategies import snapshots
from trueclout.contract import AccountSnapshot
from trueclout.io import (
    TablesWriter,
    count_accounts,
    iter_snapshots,
    iter_table_chunks,
    read_tables,
    write_jsonl,
)
from trueclout.tables import SCHEMAS, aware_times, snapshots_to_tables, tables_to_snapshots


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(snapshots(), min_size=1, max_size=4, unique_by=lambda s: s.account_id))
def test_round_trip_through_tables(snaps: list[AccountSnapshot]) -> None:
    tables = snapshots_to_tables(snaps)
    tables.validate_schema()
    back = list(tables_to_snapshots(tables))
    assert back == snaps


def test_tables_have_contract_schemas_and_keys() -> None:
    snap = AccountSnapshot.model_validate(snapshot_dict(followers=4, posts=3))
    t = snapshots_to_tables([snap])
    for name, table in t.items():
        assert table.schema.equals(SCHEMAS[name])
        assert set(table.column("account_id").to_pylist()) <= {"acct-1"}
    assert t.followers.column("position").to_pylist() == [0, 1, 2, 3]
    assert t.engagements.num_rows == 6


def _many(n: int) -> list[AccountSnapshot]:
    return [AccountSnapshot.model_validate(snapshot_dict(f"acct-{i}", followers=i % 4,
                                                         posts=1 + i % 3))
            for i in range(n)]


def test_parquet_round_trip_in_chunks(tmp_path: Path) -> None:
    snaps = _many(23)
    with TablesWriter(tmp_path / "t") as w:
        for i in range(0, 23, 5):
            w.write(snapshots_to_tables(snaps[i:i + 5]))
    assert count_accounts(tmp_path / "t") == 23
    chunks = list(iter_table_chunks(tmp_path / "t", chunk_accounts=4))
    assert [c.num_accounts for c in chunks] == [4, 4, 4, 4, 4, 3]
    back = [s for c in chunks for s in tables_to_snapshots(c)]
    assert back == snaps


def test_jsonl_streams_and_converts(tmp_path: Path) -> None:
    snaps = _many(7)
    path = tmp_path / "s.jsonl"
    assert write_jsonl(snaps, path) == 7
    assert list(iter_snapshots(path)) == snaps
    tables = read_tables(path)
    assert tables.num_accounts == 7
    assert list(tables_to_snapshots(tables)) == snaps


def test_json_array_and_single_object(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(snapshot_dict(), indent=2))
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps([snapshot_dict("a"), snapshot_dict("b")], indent=2))
    assert [s.account_id for s in iter_snapshots(one)] == ["acct-1"]
    assert [s.account_id for s in iter_snapshots(arr)] == ["a", "b"]


_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_AWARE = st.builds(lambda t, tz: t.replace(tzinfo=tz),
                   st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1)), _OFFSETS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | _AWARE, max_size=30))
def test_aware_times_are_the_instants_given(values: list[datetime | None]) -> None:
    """The text route (msgspec writes, Arrow reads) keeps each instant to the microsecond,
    whatever the offset, and nulls as nulls."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [None if t is None else (t - epoch) // timedelta(microseconds=1) for t in values]
    assert aware_times(values).cast(pa.int64()).to_pylist() == expected
