"""Reading Parquet the cheap ways (projected, dictionary-encoded, by planned spans in
separate processes) gives exactly the features of reading every column plainly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.features.builders import (
    organic_account,
    tables_of,
    with_crude_fakes,
    with_pod,
    with_purchase,
)
from trueclout.features.frame import FeatureFrame
from trueclout.features.kernels.columns import DICTIONARY_COLUMNS, FEATURE_COLUMNS
from trueclout.features.pipeline import compute_features
from trueclout.io import (
    InputError,
    TablesWriter,
    iter_table_chunks,
    plan_table_chunks,
    read_table_span,
)
from trueclout.tables import SCHEMAS, TABLE_NAMES, SnapshotTables, concat_tables

CHEAP = {"columns": FEATURE_COLUMNS, "dictionary": DICTIONARY_COLUMNS}


@pytest.fixture(scope="module")
def tables() -> SnapshotTables:
    docs = [organic_account(f"organic-{i}", seed=i, n_posts=6, engagements_per_post=8,
                            n_followers=12) for i in range(14)]
    docs += [with_purchase(organic_account("purchase", seed=101)),
             with_pod(organic_account("pod", seed=102)),
             with_crude_fakes(organic_account("fakes", seed=103), n=30)]
    return tables_of(*docs)


@pytest.fixture(scope="module")
def folder(tables: SnapshotTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written a few accounts at a time: many row groups, so a chunk's dictionary-encoded
    columns arrive in several pieces with different dictionaries."""
    path = tmp_path_factory.mktemp("tables")
    ids = tables.profiles.column("account_id").to_pylist()
    with TablesWriter(path) as writer:
        for start in range(0, len(ids), 3):
            writer.write(tables.select_accounts(ids[start:start + 3]))
    return path


def assert_same(a: FeatureFrame, b: FeatureFrame) -> None:
    np.testing.assert_array_equal(a.account_ids, b.account_ids)
    np.testing.assert_array_equal(a.values, b.values)  # NaN-aware, bit for bit
    for name in a.context:
        np.testing.assert_array_equal(a.context[name], b.context[name], err_msg=name)
    for name in a.sufficiency:
        np.testing.assert_array_equal(a.sufficiency[name], b.sufficiency[name])


@pytest.mark.parametrize("chunk", [4, 7, 100])
def test_projected_dictionary_reading_gives_the_same_features(folder: Path, chunk: int) -> None:
    plain = list(iter_table_chunks(folder, chunk_accounts=chunk))
    cheap = list(iter_table_chunks(folder, chunk_accounts=chunk, **CHEAP))
    assert [t.num_accounts for t in plain] == [t.num_accounts for t in cheap]
    encoded = cheap[0].engagements.column("account_id")
    assert pa.types.is_dictionary(encoded.type)
    for p, c in zip(plain, cheap, strict=True):
        c.validate_schema()
        assert_same(compute_features(p), compute_features(c))


@pytest.mark.parametrize("chunk", [4, 7, 100])
def test_planned_spans_read_the_same_chunks(folder: Path, chunk: int) -> None:
    spans = plan_table_chunks(folder, chunk_accounts=chunk)
    streamed = list(iter_table_chunks(folder, chunk_accounts=chunk))
    assert len(spans) == len(streamed)
    for span, tables in zip(spans, streamed, strict=True):
        assert span.num_accounts == tables.num_accounts
        plain = read_table_span(folder, span)
        for name in TABLE_NAMES:
            assert plain[name].equals(tables[name]), name
        assert_same(compute_features(read_table_span(folder, span, **CHEAP)),
                    compute_features(tables))


def test_the_kernels_read_only_the_listed_columns(tables: SnapshotTables) -> None:
    """Nulling every column outside FEATURE_COLUMNS changes no feature."""
    def blanked(name: str, table: pa.Table) -> pa.Table:
        keep = FEATURE_COLUMNS[name]
        return pa.Table.from_arrays(
            [table.column(f.name) if f.name in keep else pa.nulls(table.num_rows, f.type)
             for f in SCHEMAS[name]], schema=SCHEMAS[name])

    stripped = SnapshotTables(**{name: blanked(name, t) for name, t in tables.items()})
    assert_same(compute_features(stripped), compute_features(tables))


def test_a_plan_needs_rows_grouped_by_account(tables: SnapshotTables, tmp_path: Path) -> None:
    shuffled = concat_tables([tables])
    rows = np.random.default_rng(0).permutation(shuffled.engagements.num_rows)
    TablesWriter(tmp_path).close()  # marks the folder as grouped...
    for name, table in shuffled.items():
        if name == "engagements":
            table = table.take(rows)  # ...but engagements are not
        schema = SCHEMAS[name].with_metadata({b"trueclout.grouped": b"profiles-order"})
        pq.write_table(table.cast(schema), tmp_path / f"{name}.parquet")
    with pytest.raises(InputError, match="not grouped"):
        plan_table_chunks(tmp_path, chunk_accounts=5)


def test_schema_accepts_dictionary_strings_only(tables: SnapshotTables) -> None:
    posts = tables.posts
    ids = posts.column("post_id").dictionary_encode()
    encoded = posts.set_column(1, pa.field("post_id", ids.type, nullable=False), ids)
    SnapshotTables(**{**dict(tables.items()), "posts": encoded}).validate_schema()
    wrong = posts.set_column(2, pa.field("created_at", pa.int64(), nullable=False),
                             posts.column("created_at").cast(pa.int64()))
    with pytest.raises(ValueError, match="created_at"):
        SnapshotTables(**{**dict(tables.items()), "posts": wrong}).validate_schema()


def test_reading_options_name_real_columns(folder: Path) -> None:
    with pytest.raises(ValueError, match="engagements.nope"):
        next(iter_table_chunks(folder, columns={"engagements": ["nope"]}))
    with pytest.raises(ValueError, match="string columns"):
        next(iter_table_chunks(folder, dictionary={"engagements": ["at"]}))


def test_follower_signals_agree_however_they_are_read(tables: SnapshotTables) -> None:
    """The audience family's lazily measured signals (reading columns the pipeline
    already converted) are the matrix the follower model is trained on."""
    from trueclout.features.families.follower_signals import (
        FOLLOWER_SIGNALS,
        FollowerProfiles,
        follower_signals,
        measure_followers,
        signals_from_measurements,
    )
    from trueclout.features.kernels.columns import SnapshotColumns

    cols = SnapshotColumns(tables)
    observed = cols.observed_at[cols.segments("followers").ids]
    matrix = follower_signals(tables.followers, observed)
    np.testing.assert_array_equal(
        matrix, signals_from_measurements(measure_followers(tables.followers, observed)))
    shared = FollowerProfiles(tables.followers, observed,
                              text=lambda name: cols.strings("followers", name),
                              number=lambda name: cols.number_or_seconds("followers", name))
    for j, name in enumerate(reversed(FOLLOWER_SIGNALS)):  # any order of asking
        np.testing.assert_array_equal(shared.signal(name), matrix[:, -1 - j], err_msg=name)
