"""Snapshots as columnar tables: the one conversion both the online and batch paths use.

Each array of an AccountSnapshot becomes one Arrow table keyed by
``account_id``; the snapshot's scalar fields and profile become one row of
``profiles``.  Rows keep the order of the lists in the snapshot, so that the
conversion round-trips.  Feature kernels read these tables; they never see
pydantic objects, which is what makes one account and a million run the same
code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from itertools import repeat
from operator import attrgetter

import pyarrow as pa

from trueclout.contract import AccountSnapshot

TS = pa.timestamp("us", tz="UTC")
I64 = pa.int64()
F64 = pa.float64()
STR = pa.string()
BOOL = pa.bool_()

_PROFILE_FIELDS: list[tuple[str, pa.DataType, bool]] = [
    ("username", STR, False),
    ("display_name", STR, True),
    ("created_at", TS, False),
    ("followers_count", I64, False),
    ("following_count", I64, False),
    ("posts_count", I64, False),
    ("listed_count", I64, True),
    ("likes_count", I64, True),
    ("verified", BOOL, False),
    ("default_avatar", BOOL, True),
    ("bio", STR, True),
    ("url", STR, True),
    ("location", STR, True),
]


def _schema(cols: list[tuple[str, pa.DataType, bool]]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=nullable) for name, typ, nullable in cols])


SCHEMAS: dict[str, pa.Schema] = {
    "profiles": _schema(
        [
            ("account_id", STR, False),
            ("platform", STR, False),
            ("observed_at", TS, False),
            ("raw_score", F64, True),
            *_PROFILE_FIELDS,
        ]
    ),
    "follower_history": _schema(
        [
            ("account_id", STR, False),
            ("date", pa.date32(), False),
            ("followers", I64, False),
            ("following", I64, True),
        ]
    ),
    # `follower_id` is the follower's own account_id; `position` its place in
    # the sampled list (0 = newest follower when the platform gives an order).
    "followers": _schema(
        [
            ("account_id", STR, False),
            ("position", pa.int32(), False),
            ("follower_id", STR, False),
            *_PROFILE_FIELDS,
            ("followed_at", TS, True),
        ]
    ),
    "posts": _schema(
        [
            ("account_id", STR, False),
            ("post_id", STR, False),
            ("created_at", TS, False),
            ("kind", STR, False),
            ("reposts_count", I64, True),
            ("likes_count", I64, True),
            ("replies_count", I64, True),
        ]
    ),
    "engagements": _schema(
        [
            ("account_id", STR, False),
            ("actor_id", STR, False),
            ("post_id", STR, False),
            ("kind", STR, False),
            ("at", TS, False),
        ]
    ),
    "reposts_made": _schema(
        [
            ("account_id", STR, False),
            ("target_account_id", STR, False),
            ("post_id", STR, True),
            ("at", TS, False),
        ]
    ),
}

TABLE_NAMES: tuple[str, ...] = tuple(SCHEMAS)

# Snapshot list field -> (table, {table column: model attribute}).
_LIST_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "follower_history": ("follower_history", {"date": "date", "followers": "followers",
                                              "following": "following"}),
    "followers": (
        "followers",
        {
            "follower_id": "account_id",
            **{name: name for name, _, _ in _PROFILE_FIELDS},
            "followed_at": "followed_at",
        },
    ),
    "posts": ("posts", {c: c for c in ("post_id", "created_at", "kind", "reposts_count",
                                       "likes_count", "replies_count")}),
    "engagements": ("engagements", {c: c for c in ("actor_id", "post_id", "kind", "at")}),
    "reposts_made": ("reposts_made", {c: c for c in ("target_account_id", "post_id", "at")}),
}


@dataclass(frozen=True)
class SnapshotTables:
    """The six tables of a set of snapshots; every row carries its ``account_id``."""

    profiles: pa.Table
    follower_history: pa.Table
    followers: pa.Table
    posts: pa.Table
    engagements: pa.Table
    reposts_made: pa.Table

    def __getitem__(self, name: str) -> pa.Table:
        return getattr(self, name)

    def items(self) -> Iterator[tuple[str, pa.Table]]:
        for f in fields(self):
            yield f.name, getattr(self, f.name)

    @property
    def num_accounts(self) -> int:
        return self.profiles.num_rows

    def validate_schema(self) -> None:
        """Refuse tables whose columns or types differ from the contract's."""
        for name, table in self.items():
            expected = SCHEMAS[name]
            if not table.schema.equals(expected, check_metadata=False):
                missing = set(expected.names) - set(table.schema.names)
                extra = set(table.schema.names) - set(expected.names)
                detail = []
                if missing:
                    detail.append(f"missing columns {sorted(missing)}")
                if extra:
                    detail.append(f"unknown columns {sorted(extra)}")
                for f in expected:
                    if f.name in table.schema.names:
                        got = table.schema.field(f.name).type
                        if got != f.type:
                            detail.append(f"column {f.name!r} is {got}, expected {f.type}")
                raise ValueError(f"table {name!r}: " + ("; ".join(detail) or "schema differs"))

    def select_accounts(self, account_ids: Iterable[str]) -> SnapshotTables:
        """The rows of these accounts only, in table order."""
        wanted = pa.array(list(account_ids), STR)
        import pyarrow.compute as pc

        return SnapshotTables(
            **{
                name: table.filter(pc.is_in(table.column("account_id"), value_set=wanted))
                for name, table in self.items()
            }
        )


def empty_tables() -> SnapshotTables:
    return SnapshotTables(**{name: schema.empty_table() for name, schema in SCHEMAS.items()})


def conform(table: pa.Table, name: str) -> pa.Table:
    """Cast a table read from elsewhere (Parquet written by another tool) to the contract schema."""
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.schema.names and not f.nullable]
    if missing:
        raise ValueError(f"table {name!r} lacks required columns {missing}")
    columns = []
    for f in schema:
        if f.name in table.schema.names:
            col = table.column(f.name)
            if col.type != f.type:
                col = col.cast(f.type)
            columns.append(col)
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def concat_tables(parts: Iterable[SnapshotTables]) -> SnapshotTables:
    parts = list(parts)
    if not parts:
        return empty_tables()
    return SnapshotTables(
        **{
            name: pa.concat_tables([p[name] for p in parts]).combine_chunks()
            for name in TABLE_NAMES
        }
    )


def snapshots_to_tables(snapshots: Iterable[AccountSnapshot]) -> SnapshotTables:
    """Validated snapshots -> tables, rows in snapshot and list order."""
    cols: dict[str, dict[str, list]] = {name: {c: [] for c in SCHEMAS[name].names}
                                        for name in TABLE_NAMES}
    prof = cols["profiles"]
    profile_attrs = [name for name, _, _ in _PROFILE_FIELDS]
    profile_values = attrgetter(*profile_attrs)
    for snap in snapshots:
        acc = snap.account_id
        prof["account_id"].append(acc)
        prof["platform"].append(snap.platform)
        prof["observed_at"].append(snap.observed_at)
        prof["raw_score"].append(snap.raw_score)
        for attr, value in zip(profile_attrs, profile_values(snap.profile), strict=True):
            prof[attr].append(value)
        for list_field, (table, mapping) in _LIST_TABLES.items():
            items = getattr(snap, list_field)
            if not items:
                continue
            tcols = cols[table]
            tcols["account_id"].extend(repeat(acc, len(items)))
            if table == "followers":
                tcols["position"].extend(range(len(items)))
            # One C-level pass per list: attribute tuples, transposed to columns.
            columns = zip(*map(_GETTERS[list_field], items), strict=True)
            for col, values in zip(mapping, columns, strict=True):
                tcols[col].extend(values)
    return SnapshotTables(
        **{
            name: pa.table(
                {c: _array(values, SCHEMAS[name].field(c).type) for c, values in
                 cols[name].items()},
                schema=SCHEMAS[name],
            )
            for name in TABLE_NAMES
        }
    )


# attrgetter per list field, in the column order of _LIST_TABLES.
_GETTERS = {field: attrgetter(*mapping.values()) for field, (_, mapping) in _LIST_TABLES.items()}


def _array(values: list, typ: pa.DataType) -> pa.Array:
    # Arrow converts aware datetimes to UTC microseconds itself, faster than
    # calling .timestamp() on each.
    return pa.array(values, typ)


def snapshot_to_tables(snapshot: AccountSnapshot) -> SnapshotTables:
    return snapshots_to_tables([snapshot])


def _rows_by_account(table: pa.Table) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    if table.num_rows == 0:
        return grouped
    for row in table.to_pylist():
        grouped.setdefault(row.pop("account_id"), []).append(row)
    return grouped


def tables_to_snapshots(tables: SnapshotTables) -> Iterator[AccountSnapshot]:
    """Tables -> snapshots, one per ``profiles`` row, lists in table row order.

    This is the slow, exact direction (Python objects per row): for writing
    JSON Lines and for tests, not for the hot path.
    """
    children = {
        list_field: _rows_by_account(tables[table])
        for list_field, (table, _) in _LIST_TABLES.items()
    }
    profile_attrs = [name for name, _, _ in _PROFILE_FIELDS]
    for row in tables.profiles.to_pylist():
        acc = row["account_id"]
        doc: dict = {
            "account_id": acc,
            "platform": row["platform"],
            "observed_at": row["observed_at"],
            "raw_score": row["raw_score"],
            "profile": {a: row[a] for a in profile_attrs},
        }
        for list_field, (_, mapping) in _LIST_TABLES.items():
            rows = children[list_field].get(acc, [])
            if list_field == "followers":
                rows = sorted(rows, key=lambda r: r["position"])
            doc[list_field] = [{attr: r[col] for col, attr in mapping.items()} for r in rows]
        yield AccountSnapshot.model_validate(doc)
