"""The snapshot tables as numpy arrays, converted once per call and shared by all families.

Several families read the same columns (post times feed both the growth
mismatch and engagement synchrony), so conversions and joins happen here,
lazily, at most once per ``compute_features`` call.  Times become float
seconds since the epoch, dates whole days, nulls NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.kernels.dictionary import decoded, is_encoded, per_value
from trueclout.features.kernels.grouping import pack
from trueclout.features.kernels.segments import Segments
from trueclout.features.kernels.strings import StringBytes, shared_codes, string_bytes
from trueclout.tables import SnapshotTables

SECONDS_PER_DAY = 86_400.0

# The columns the feature kernels read, per table: a batch reader may skip the rest.
FEATURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "profiles": ("account_id", "observed_at", "created_at", "followers_count",
                 "following_count", "posts_count", "listed_count", "verified",
                 "default_avatar", "display_name", "bio", "url", "location"),
    "follower_history": ("account_id", "date", "followers", "following"),
    "followers": ("account_id", "username", "display_name", "created_at", "followers_count",
                  "following_count", "posts_count", "listed_count", "likes_count", "verified",
                  "default_avatar", "bio", "url", "location", "followed_at"),
    "posts": ("account_id", "post_id", "created_at", "reposts_count", "likes_count",
              "replies_count"),
    "engagements": ("account_id", "actor_id", "post_id", "kind", "at"),
    "reposts_made": ("account_id", "target_account_id"),
}
# String columns whose values repeat across rows: cheaper read dictionary-encoded.
DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "follower_history": ("account_id",),
    "followers": ("account_id",),
    "posts": ("account_id",),
    "engagements": ("account_id", "post_id", "kind"),
    "reposts_made": ("account_id",),
}
TIMESTAMP = pa.timestamp("us", tz="UTC")
_MICROS = 1e6


def _flat(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def valid_mask(arr: pa.Array) -> np.ndarray | None:
    """Validity of each slot from the Arrow bitmap (None when nothing is null)."""
    if arr.null_count == 0:
        return None
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + len(arr)].view(bool)


def to_float(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Numbers and booleans as float64, nulls as NaN (read from the buffers, no kernels)."""
    arr = _flat(col)
    if pa.types.is_boolean(arr.type):
        bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
        out = np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + len(arr)]
        out = out.astype(np.float64)
    elif pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan)
    else:
        out = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    valid = valid_mask(arr)
    if valid is not None:
        out[~valid] = np.nan
    return out


def to_seconds(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Timestamps as float seconds since the epoch, nulls as NaN."""
    arr = _flat(col)
    if arr.type != TIMESTAMP:
        arr = arr.cast(TIMESTAMP)
    micros = arr.to_numpy(zero_copy_only=False).view(np.int64)
    out = micros / _MICROS
    valid = valid_mask(arr)
    if valid is not None:
        out[~valid] = np.nan
    return out


def to_days(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Dates as whole days since the epoch (int64); the column must have no nulls."""
    arr = _flat(col)
    if arr.null_count:
        raise ValueError("a date column has nulls")
    return arr.to_numpy(zero_copy_only=False).astype("datetime64[D]").view(np.int64)


class SnapshotColumns:
    """Lazily converted columns of one ``SnapshotTables``, and the joins families share."""

    def __init__(self, tables: SnapshotTables) -> None:
        self.tables = tables
        self.accounts = _flat(tables.profiles.column("account_id"))
        self.n = len(self.accounts)
        self._segments: dict[str, Segments] = {}
        self._strings: dict[tuple[str, str], StringBytes] = {}
        self._numbers: dict[tuple[str, str, Callable], np.ndarray] = {}

    def segments(self, table: str) -> Segments:
        """Row -> account index of a child table."""
        if table not in self._segments:
            self._segments[table] = Segments.of(self.tables[table], self.accounts)
        return self._segments[table]

    def column(self, table: str, name: str) -> pa.Array:
        """A column as one plain Arrow array (dictionary-encoded strings decoded)."""
        return _flat(decoded(self.tables[table].column(name)))

    def stored(self, table: str, name: str) -> pa.Array | pa.ChunkedArray:
        """A column as the tables hold it (possibly dictionary-encoded, in chunks)."""
        return self.tables[table].column(name)

    def strings(self, table: str, name: str) -> StringBytes:
        """A string column's bytes and offsets (cached: several families read ids)."""
        key = (table, name)
        if key not in self._strings:
            self._strings[key] = string_bytes(self.column(table, name))
        return self._strings[key]

    def number(self, table: str, name: str) -> np.ndarray:
        """A numeric or boolean column as float64, NaN for nulls (cached, read-only)."""
        return self._converted(table, name, to_float)

    def seconds(self, table: str, name: str) -> np.ndarray:
        """A timestamp column as float seconds since the epoch (cached, read-only)."""
        return self._converted(table, name, to_seconds)

    def number_or_seconds(self, table: str, name: str) -> np.ndarray:
        """``seconds`` for a timestamp column, else ``number``."""
        if pa.types.is_timestamp(self.tables[table].schema.field(name).type):
            return self.seconds(table, name)
        return self.number(table, name)

    def _converted(self, table: str, name: str,
                   convert: Callable[[pa.Array], np.ndarray]) -> np.ndarray:
        key = (table, name, convert)
        if key not in self._numbers:
            out = convert(self.column(table, name))
            out.flags.writeable = False
            self._numbers[key] = out
        return self._numbers[key]

    @cached_property
    def observed_at(self) -> np.ndarray:
        """Observation time of each account (seconds)."""
        return self.seconds("profiles", "observed_at")

    @cached_property
    def followers_count(self) -> np.ndarray:
        return self.number("profiles", "followers_count")

    @cached_property
    def post_created(self) -> np.ndarray:
        return self.seconds("posts", "created_at")

    @cached_property
    def engagement_at(self) -> np.ndarray:
        return self.seconds("engagements", "at")

    @cached_property
    def engagement_post(self) -> np.ndarray:
        """Row in ``posts`` of each engagement's post (same account), -1 if not found."""
        eng = self.segments("engagements")
        if len(eng) == 0:
            return np.zeros(0, dtype=np.int64)
        posts = self.segments("posts")
        if len(posts) == 0:
            return np.full(len(eng), -1, dtype=np.int64)
        post_ids = self.column("posts", "post_id")
        stored = self.stored("engagements", "post_id")
        if self.n == 1 or pc.count_distinct(post_ids).as_py() == len(post_ids):
            # Post ids unique in these tables: Arrow's hash join, then the account check.
            if is_encoded(stored):
                row = per_value(stored, lambda ids: _index_in(ids, post_ids), np.int64)
            else:
                row = _index_in(self.column("engagements", "post_id"), post_ids)
            found = row >= 0
            found[found] = posts.ids[row[found]] == eng.ids[found]
            return np.where(found, row, -1)
        post_code, eng_code = shared_codes(post_ids, self.column("engagements", "post_id"))
        post_keys = pack(posts.ids, self.n, post_code)
        eng_keys = pack(eng.ids, self.n, eng_code)
        order = np.argsort(post_keys)
        sorted_keys = post_keys[order]
        pos = np.minimum(np.searchsorted(sorted_keys, eng_keys), len(sorted_keys) - 1)
        return np.where(sorted_keys[pos] == eng_keys, order[pos], -1)

    @cached_property
    def post_local(self) -> np.ndarray:
        """Each post's index among its account's posts (0, 1, ...), in table order."""
        posts = self.segments("posts")
        order = np.argsort(posts.ids, kind="stable")
        start = np.concatenate(([0], np.cumsum(posts.count()[:-1]))).astype(np.int64)
        local = np.empty(len(posts), dtype=np.int64)
        local[order] = np.arange(len(posts)) - start[posts.ids[order]]
        return local

    @cached_property
    def actor_and_target_codes(self) -> list[np.ndarray]:
        """Codes of engaging actors and of the account's repost targets, comparable."""
        return shared_codes(self.column("engagements", "actor_id"),
                            self.column("reposts_made", "target_account_id"))

    @cached_property
    def sampled_per_post(self) -> np.ndarray:
        """Sampled engagements found for each post."""
        row = self.engagement_post
        return np.bincount(row[row >= 0], minlength=self.tables.posts.num_rows).astype(float)

    @cached_property
    def post_engagement(self) -> np.ndarray:
        """Engagement each post drew: the platform's totals (reposts + likes + replies) when
        the account's posts report any, else the sampled engagements of that post."""
        posts = self.segments("posts")
        totals = np.zeros(len(posts))
        reported = np.zeros(len(posts), dtype=bool)
        for name in ("reposts_count", "likes_count", "replies_count"):
            v = self.number("posts", name)
            known = ~np.isnan(v)
            totals += np.where(known, v, 0.0)
            reported |= known
        from_totals = (posts.count(reported) > 0)[posts.ids]
        if from_totals.all():
            return totals
        return np.where(from_totals, totals, self.sampled_per_post)

    def kind_is(self, table: str, value: str) -> np.ndarray:
        """Rows whose ``kind`` equals ``value``."""
        col = self.stored(table, "kind")
        if len(col) == 0:
            return np.zeros(0, dtype=bool)
        if is_encoded(col):
            return per_value(col, lambda kinds: _equal(kinds, value), bool)
        return _equal(self.column(table, "kind"), value)


def _index_in(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (-1 where absent)."""
    row = pc.index_in(values, value_set=value_set).fill_null(-1)
    return np.asarray(row.to_numpy(zero_copy_only=False), dtype=np.int64)


def _equal(values: pa.Array, value: str) -> np.ndarray:
    return np.asarray(pc.equal(values, value).to_numpy(zero_copy_only=False), dtype=bool)
