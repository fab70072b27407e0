"""JSON Lines to tables at the speed of the parser: many lines at once, checked column-wise.

Validating a large snapshot with the pydantic models and turning it into rows
costs ~15 ms; Arrow's JSON reader turns a block of lines into typed columns at
a fraction of that.  The contract stays the judge: a line is taken on this
path only when the column checks below prove that the models would accept it
with the same values.  Every other line (invalid, or merely unusual: a byte
order mark, an explicit null where a field has a default and the line uses
``\\u`` escapes) goes through ``parse_snapshot``, so a bad record is reported
exactly as before, with its line, field path and reason.

The checks are conservative on purpose: doubt sends a line to the slow path,
never past it.  What they prove, rule by rule of ``trueclout.contract``:

* JSON and types: Arrow's reader, given the contract's schema, refuses
  unknown fields, a key given twice (at any depth, escaped or not), a float or
  a boolean where an integer belongs, text where a number belongs, invalid
  UTF-8, and anything but one object per line; a block it refuses is halved
  until the odd line is alone, and that line goes to the slow path;
* null or missing: Arrow reads both as null; where the contract tells them
  apart (a field with a default refuses an explicit null), the line itself is
  searched for ``"field": null``;
* values and cross-field rules: lengths, control characters, blank ids,
  ranges, enumerations, RFC 3339 text, and ``consistency_problems`` (platform
  dates, ``observed_at``, unique post ids and dates, engagements naming a post)
  as vectorised comparisons per row, mapped back to their line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from trueclout.contract import (
    CLOCK_SKEW,
    ENGAGEMENT_KINDS,
    MAX_COUNT,
    MAX_ENGAGEMENTS,
    MAX_FOLLOWERS,
    MAX_HISTORY,
    MAX_ID,
    MAX_POSTS,
    MAX_REPOSTS_MADE,
    MAX_TEXT,
    PLATFORM_FOUNDED,
    PLATFORMS,
    POST_KINDS,
)
from trueclout.files import utc_now
from trueclout.io import RecordError, parse_snapshot
from trueclout.tables import (
    SCHEMAS,
    TABLE_NAMES,
    TS,
    SnapshotTables,
    concat_tables,
    snapshots_to_tables,
)

_LISTS: dict[str, int] = {"follower_history": MAX_HISTORY, "followers": MAX_FOLLOWERS,
                          "posts": MAX_POSTS, "engagements": MAX_ENGAGEMENTS,
                          "reposts_made": MAX_REPOSTS_MADE}

_STR, _I64, _BOOL, _F64 = pa.string(), pa.int64(), pa.bool_(), pa.float64()
_PROFILE = [("username", _STR), ("display_name", _STR), ("created_at", _STR),
            ("followers_count", _I64), ("following_count", _I64), ("posts_count", _I64),
            ("listed_count", _I64), ("likes_count", _I64), ("verified", _BOOL),
            ("default_avatar", _BOOL), ("bio", _STR), ("url", _STR), ("location", _STR)]
# The contract as Arrow reads it: times and dates stay text until checked.
_READ_SCHEMA = pa.schema([
    ("account_id", _STR), ("platform", _STR), ("observed_at", _STR), ("raw_score", _F64),
    ("profile", pa.struct(_PROFILE)),
    ("follower_history", pa.list_(pa.struct([("date", _STR), ("followers", _I64),
                                             ("following", _I64)]))),
    ("followers", pa.list_(pa.struct([*_PROFILE, ("account_id", _STR),
                                      ("followed_at", _STR)]))),
    ("posts", pa.list_(pa.struct([("post_id", _STR), ("created_at", _STR), ("kind", _STR),
                                  ("reposts_count", _I64), ("likes_count", _I64),
                                  ("replies_count", _I64)]))),
    ("engagements", pa.list_(pa.struct([("actor_id", _STR), ("post_id", _STR),
                                        ("kind", _STR), ("at", _STR)]))),
    ("reposts_made", pa.list_(pa.struct([("target_account_id", _STR), ("post_id", _STR),
                                         ("at", _STR)]))),
])
_PARSE = pj.ParseOptions(explicit_schema=_READ_SCHEMA, unexpected_field_behavior="error")
_BOM = b"\xef\xbb\xbf"
_THREAD_BLOCK = 2**21

# What str.isspace() calls space, so "not blank" is decided as the contract decides it.
_SPACE_CLASS = "".join(f"\\x{{{c:x}}}" for c in range(0x110000) if chr(c).isspace())
_NOT_SPACE = f"[^{_SPACE_CLASS}]"
_CONTROL = r"[\x00-\x1f\x7f]"
# The RFC 3339 forms whose parse by Arrow equals pydantic's (others take the slow path).
_TIME = (r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
         r"(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
_UTC = r"(?:Z|[+-]00:00)$"
_DAY = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"
_US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SKEW_US = CLOCK_SKEW // timedelta(microseconds=1)
_FOUNDED_US = np.array([int(PLATFORM_FOUNDED[p].timestamp()) * 1_000_000 for p in PLATFORMS])
_PLATFORMS = pa.array(PLATFORMS)
_POST_KINDS = pa.array(POST_KINDS)
_ENGAGEMENT_KINDS = pa.array(ENGAGEMENT_KINDS)


@dataclass
class Decoded:
    """A block of lines: the valid snapshots as tables (line order) and the bad ones."""

    tables: SnapshotTables | None
    counts: dict[str, np.ndarray]  # rows per account of each table, for re-chunking
    errors: list[RecordError] = field(default_factory=list)
    lines: int = 0
    fast: int = 0  # valid lines taken without the models

    @property
    def valid(self) -> int:
        return len(self.counts["profiles"])


def decode_data(data: bytes, first_line: int = 1, *, threads: bool = True) -> Decoded:
    """``decode_lines`` over the lines of ``data``, split as iterating a binary file splits."""
    lines = data.split(b"\n")
    newline_at_end = bool(lines) and not lines[-1]
    if newline_at_end:
        lines.pop()
    return decode_lines(lines, first_line, newline_at_end=newline_at_end, threads=threads,
                        data=data)


def decode_lines(lines: Sequence[bytes], first_line: int = 1, *, newline_at_end: bool = True,
                 threads: bool = True, data: bytes | None = None) -> Decoded:
    """Validate and convert JSON Lines; line ``i`` of ``lines`` (without its newline) is
    line ``first_line + i``.  The models see a line with its newline, as a file gives it
    (an unterminated string is reported as ending at the newline).  ``threads``: Arrow
    parses on its thread pool; ``data``: the lines joined by newlines, if at hand."""
    numbers: list[int] = []  # lines for the fast path
    slow: list[int] = []  # lines for the models to judge
    for i, raw in enumerate(lines):
        if not raw or raw.isspace():
            continue
        # A byte order mark: Arrow skips it, the reference reader does not.
        (slow if raw.startswith(_BOM) else numbers).append(i)
    candidates = [lines[n] for n in numbers]
    joined = data if data is not None and len(numbers) == len(lines) else None
    tables, counts, ok = _convert(candidates, joined, threads) if numbers \
        else (None, None, np.zeros(0, bool))
    slow.extend(n for n, good in zip(numbers, ok, strict=True) if not good)
    fast_lines = [n for n, good in zip(numbers, ok, strict=True) if good]
    if not slow and tables is not None and counts is not None:
        return Decoded(tables, counts, [], len(lines), len(fast_lines))
    # The models judge the rest; valid ones are put back in line order.
    slow.sort()
    last = len(lines) - 1
    judged = {n: parse_snapshot(lines[n] if n == last and not newline_at_end
                                else lines[n] + b"\n", line=first_line + n) for n in slow}
    errors = [r.error for n, r in sorted(judged.items()) if r.error is not None]
    order = sorted([(n, "fast") for n in fast_lines]
                   + [(n, "slow") for n, r in judged.items() if r.snapshot is not None])
    parts: list[tuple[SnapshotTables, dict[str, np.ndarray]]] = []
    fast_at = 0
    run: list[tuple[int, str]] = []
    for item in [*order, (-1, "end")]:
        if run and item[1] != run[-1][1]:
            if run[-1][1] == "fast":
                assert tables is not None and counts is not None
                parts.append(slice_accounts(tables, counts, fast_at, fast_at + len(run)))
                fast_at += len(run)
            else:
                snaps = [judged[n].snapshot for n, _ in run]
                parts.append((snapshots_to_tables(snaps), _snapshot_counts(snaps)))
            run = []
        run.append(item)
    if not parts:
        return Decoded(None, {name: np.zeros(0, np.int64) for name in TABLE_NAMES}, errors,
                       len(lines), 0)
    return Decoded(concat_tables(p for p, _ in parts),
                   {name: np.concatenate([c[name] for _, c in parts]) for name in TABLE_NAMES},
                   errors, len(lines), len(fast_lines))


def _snapshot_counts(snaps: list) -> dict[str, np.ndarray]:
    counts = {name: np.array([len(getattr(s, name)) for s in snaps], np.int64)
              for name in _LISTS}
    return {"profiles": np.ones(len(snaps), np.int64), **counts}


def slice_accounts(tables: SnapshotTables, counts: dict[str, np.ndarray], start: int,
                   stop: int) -> tuple[SnapshotTables, dict[str, np.ndarray]]:
    """Accounts ``[start, stop)`` of tables grouped by account in profile order."""
    parts = {}
    for name, table in tables.items():
        c = counts[name]
        first = int(c[:start].sum())
        parts[name] = table.slice(first, int(c[start:stop].sum()))
    return SnapshotTables(**parts), {name: c[start:stop] for name, c in counts.items()}


# --------------------------------------------------------------------------------------
# A block of lines: read by Arrow as one table, checked per column


class _Misfit(Exception):
    """Arrow refused the block (some line is not the contract's JSON), maybe naming its row."""

    def __init__(self, row: int | None = None) -> None:
        super().__init__(row)
        self.row = row


_ROW = re.compile(r"in row (\d+)")


def _convert(raws: list[bytes], joined: bytes | None = None, threads: bool = False
             ) -> tuple[SnapshotTables | None, dict[str, np.ndarray] | None, np.ndarray]:
    """Tables and row counts of the accepted lines, and which ones were accepted.

    A block Arrow refuses is split: before the row its parser names (if any), that
    row, and the rest in halves; so a bad line costs a few parses of its block, and
    a block of nothing but bad lines about log2(lines) parses, never one per line.
    """
    ok = np.zeros(len(raws), bool)
    done: list[tuple[int, SnapshotTables, dict[str, np.ndarray]]] = []
    todo = [(0, len(raws))]
    while todo:
        start, stop = todo.pop()
        # Threads for the first try only: their rows count from Arrow's block, not ours.
        first = (start, stop) == (0, len(raws))
        try:
            tables, counts, good = _convert_block(raws[start:stop], joined if first else None,
                                                  threads and first)
        except _Misfit as misfit:
            if stop - start == 1:
                continue  # this line is for the models
            row = None if threads and first else misfit.row
            if row is not None and 0 <= row < stop - start:
                cut = start + row  # set aside for the models
                middle = (cut + 1 + stop) // 2
                rest = [(start, cut), (cut + 1, middle), (middle, stop)]
            else:
                middle = (start + stop) // 2
                rest = [(start, middle), (middle, stop)]
            todo += [(a, b) for a, b in rest if a < b]
            continue
        ok[start:stop] = good
        done.append((start, tables, counts))
    if not done:
        return None, None, ok
    done.sort(key=lambda part: part[0])
    if len(done) == 1:
        return done[0][1], done[0][2], ok
    return (concat_tables(t for _, t, _ in done),
            {name: np.concatenate([c[name] for _, _, c in done]) for name in TABLE_NAMES}, ok)


class _Object:
    """The rows of one kind of object (the snapshots, or the items of one list)."""

    def __init__(self, values: pa.StructArray, parent: np.ndarray) -> None:
        self.values, self.parent = values, parent
        self.position = np.zeros(len(parent), np.int64)  # in its list, for list items
        self.bad = np.asarray(values.is_null().to_numpy(zero_copy_only=False), bool).copy()

    def column(self, name: str, typ: pa.DataType) -> pa.Array:
        index = self.values.type.get_field_index(name)
        if index < 0:
            return pa.nulls(len(self.values), typ)
        col = self.values.field(index)
        return col if col.type == typ else col.cast(typ)

    def flag(self, mask: pa.Array | np.ndarray) -> None:
        if isinstance(mask, pa.Array | pa.ChunkedArray):
            mask = mask.fill_null(True).to_numpy(zero_copy_only=False)
        self.bad |= mask

    def required(self, col: pa.Array) -> pa.Array:
        self.flag(col.is_null())
        return col

    def identifier(self, name: str, *, required: bool = True) -> pa.Array:
        col = self.column(name, _STR)
        if required:
            self.required(col)
        length = pc.utf8_length(col)
        self.flag(pc.fill_null(pc.or_(pc.or_(pc.less(length, 1), pc.greater(length, MAX_ID)),
                                      pc.or_(pc.match_substring_regex(col, _CONTROL),
                                             pc.invert(pc.match_substring_regex(
                                                 col, _NOT_SPACE)))), False))
        return col

    def text(self, name: str, *, required: bool = False) -> pa.Array:
        col = self.column(name, _STR)
        if required:
            self.required(col)
        length = pc.utf8_length(col)
        least = 1 if required else 0
        self.flag(pc.fill_null(pc.or_(pc.or_(pc.less(length, least),
                                             pc.greater(length, MAX_TEXT)),
                                      pc.match_substring(col, "\x00")), False))
        return col

    def count(self, name: str, *, required: bool = True) -> pa.Array:
        col = self.column(name, _I64)
        if required:
            self.required(col)
        self.flag(pc.fill_null(pc.or_(pc.less(col, 0), pc.greater(col, MAX_COUNT)), False))
        return col

    def choice(self, name: str, values: pa.Array, default: str | None,
               raws: list[bytes]) -> pa.Array:
        col = self.column(name, _STR)
        self.flag(pc.and_(col.is_valid(), pc.invert(pc.is_in(col, value_set=values))))
        if default is None:
            return self.required(col)
        self._missing_not_null(col, name, raws)
        return col.fill_null(default)

    def flag_default(self, name: str, default: bool, raws: list[bytes]) -> pa.Array:
        col = self.column(name, _BOOL)
        self._missing_not_null(col, name, raws)
        return col.fill_null(default)

    def _missing_not_null(self, col: pa.Array, name: str, raws: list[bytes]) -> None:
        """A field with a default may be left out, not given as null (the models refuse it)."""
        if not col.null_count:
            return
        rows = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
        for doc in np.unique(self.parent[rows]):
            if _null_given(raws[doc], name):
                self.bad[rows[self.parent[rows] == doc]] = True

    def time(self, name: str, *, required: bool = True) -> np.ndarray:
        """Microseconds since the epoch (0 where absent); the text must be RFC 3339."""
        col = self.column(name, _STR)
        if required:
            self.required(col)
        shaped = pc.fill_null(pc.match_substring_regex(col, _TIME), True)
        self.flag(pc.invert(shaped))
        col = pc.if_else(shaped, col, pa.nulls(len(col), _STR))
        return _micros(_cast_or_flag(self, col, TS))

    def day(self, name: str) -> np.ndarray:
        col = self.required(self.column(name, _STR))
        shaped = pc.fill_null(pc.match_substring_regex(col, _DAY), False)
        self.flag(pc.invert(shaped))
        col = pc.if_else(shaped, col, pa.nulls(len(col), _STR))
        days = _cast_or_flag(self, col, pa.date32())
        return days.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)

    def typed(self, name: str, typ: pa.DataType) -> pa.Array:
        return self.column(name, typ)


def _cast_or_flag(obj: _Object, col: pa.Array, typ: pa.DataType) -> pa.Array:
    """``col`` cast to ``typ``; a value Arrow cannot parse flags its row (rare: one by one)."""
    try:
        return col.cast(typ)
    except (pa.ArrowInvalid, ValueError):
        out = []
        for i, value in enumerate(col.to_pylist()):
            try:
                out.append(pa.array([value], _STR).cast(typ)[0].as_py())
            except (pa.ArrowInvalid, ValueError):
                obj.bad[i] = True
                out.append(None)
        return pa.array(out, typ)


def _micros(ts: pa.Array) -> np.ndarray:
    return ts.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)


def _null_given(raw: bytes, name: str) -> bool:
    """Whether ``raw`` may give ``name`` as an explicit null (an escaped key might, unseen)."""
    return b"\\u" in raw or _NULL_FIELD[name].search(raw) is not None


_NULL_FIELD = {name: re.compile(b'"' + name.encode() + rb'"\s*:\s*null')
               for name in ("verified", "kind", *_LISTS)}


def _list(snaps: _Object, name: str, raws: list[bytes]) -> _Object:
    """The items of one list field; a null or over-long list flags its document."""
    lists = snaps.values.field(name)
    for doc in np.flatnonzero(lists.is_null().to_numpy(zero_copy_only=False)):
        if _null_given(raws[doc], name):
            snaps.bad[doc] = True
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    snaps.flag(lengths > _LISTS[name])
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    obj = _Object(pc.list_flatten(lists), parent)
    starts = np.cumsum(lengths) - lengths  # each list's first item among the flattened
    obj.position = np.arange(len(parent), dtype=np.int64) - starts[parent]
    return obj


def _rows_to_docs(obj: _Object, n_docs: int) -> np.ndarray:
    """Documents with at least one bad row of ``obj``."""
    return np.bincount(obj.parent[obj.bad], minlength=n_docs) > 0


def _convert_block(raws: list[bytes], data: bytes | None, threads: bool
                   ) -> tuple[SnapshotTables, dict[str, np.ndarray], np.ndarray]:
    if data is None:
        data = b"\n".join(raws)
    # A line must not straddle Arrow's blocks; with threads, blocks are parsed in parallel.
    block = max(_THREAD_BLOCK, max(map(len, raws)) + 2) if threads else len(data) + 1
    try:
        table = pj.read_json(pa.BufferReader(data), parse_options=_PARSE,
                             read_options=pj.ReadOptions(use_threads=threads,
                                                         block_size=block))
    except (pa.ArrowException, ValueError) as exc:
        row = _ROW.search(str(exc))
        raise _Misfit(int(row.group(1)) if row else None) from None
    n = len(raws)
    if table.num_rows != n:  # two objects on one line
        raise _Misfit
    values = pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns],
                                        fields=list(table.schema))
    snaps = _Object(values, np.arange(n))
    now = (utc_now() - _EPOCH) // timedelta(microseconds=1)  # before the models' own

    # The snapshot and its profile.
    ids = snaps.identifier("account_id")
    platform = snaps.choice("platform", _PLATFORMS, None, raws)
    observed = snaps.time("observed_at")
    snaps.flag(pc.invert(pc.fill_null(pc.match_substring_regex(
        snaps.column("observed_at", _STR), _UTC), True)))
    raw_score = snaps.typed("raw_score", _F64)
    snaps.flag(pc.fill_null(pc.or_(pc.less(raw_score, 0.0), pc.greater(raw_score, 100.0)),
                            False))
    snaps.flag(pc.fill_null(pc.is_nan(raw_score), False))
    profile = _Object(values.field("profile"), np.arange(n))
    profile_columns, profile_created = _profile_columns(profile, raws)
    snaps.bad |= profile.bad

    founded = _FOUNDED_US[np.maximum(
        pc.index_in(platform, value_set=_PLATFORMS).fill_null(0).to_numpy(
            zero_copy_only=False), 0)]
    latest_now = now + _SKEW_US
    snaps.flag(observed > latest_now)
    snaps.flag(observed < founded)
    latest = observed + _SKEW_US
    snaps.flag((profile_created < founded) | (profile_created > latest))

    def in_time(obj: _Object, at: np.ndarray, present: np.ndarray | None = None) -> None:
        wrong = (at < founded[obj.parent]) | (at > latest[obj.parent])
        obj.flag(wrong if present is None else wrong & present)

    lists = {name: _list(snaps, name, raws) for name in _LISTS}

    history = lists["follower_history"]
    day = history.day("date")
    history_columns = [day, history.count("followers"),
                       history.count("following", required=False)]
    founded_day = founded // _US_PER_DAY
    latest_day = latest // _US_PER_DAY
    history.flag((day < founded_day[history.parent]) | (day > latest_day[history.parent]))
    history.flag(_repeated(history.parent, day.astype(np.int64)))
    history_columns[0] = pa.array(day, pa.int32()).cast(pa.date32())

    followers = lists["followers"]
    follower_id = followers.identifier("account_id")
    follower_columns, follower_created = _profile_columns(followers, raws)
    in_time(followers, follower_created)
    followed = followers.time("followed_at", required=False)
    present = followers.column("followed_at", _STR).is_valid().to_numpy(zero_copy_only=False)
    in_time(followers, followed, present)
    followed_col = pa.array(followed, pa.int64(), mask=~present).cast(TS)

    posts = lists["posts"]
    post_id = posts.identifier("post_id")
    post_created = posts.time("created_at")
    in_time(posts, post_created)
    post_kind = posts.choice("kind", _POST_KINDS, "original", raws)
    post_counts = [posts.count(c, required=False)
                   for c in ("reposts_count", "likes_count", "replies_count")]
    posts.flag(_repeated_text(posts.parent, post_id))

    engagements = lists["engagements"]
    actor = engagements.identifier("actor_id")
    engaged_post = engagements.identifier("post_id")
    engagement_kind = engagements.choice("kind", _ENGAGEMENT_KINDS, None, raws)
    at = engagements.time("at")
    created = _post_time(engagements.parent, engaged_post, posts.parent, post_id, post_created)
    engagements.flag(np.isnan(created) | (at < np.nan_to_num(created, nan=0))
                     | (at > latest[engagements.parent]))

    reposts = lists["reposts_made"]
    target = reposts.identifier("target_account_id")
    repost_post = reposts.identifier("post_id", required=False)
    repost_at = reposts.time("at")
    in_time(reposts, repost_at)

    bad = snaps.bad.copy()
    for obj in lists.values():
        bad |= _rows_to_docs(obj, n)
    ok = ~bad

    def ts(micros: np.ndarray) -> pa.Array:
        return pa.array(micros, pa.int64()).cast(TS)

    raw = {
        "profiles": [ids, platform, ts(observed), raw_score, *profile_columns],
        "follower_history": [ids.take(pa.array(history.parent)), *history_columns],
        "followers": [ids.take(pa.array(followers.parent)),
                      pa.array(followers.position, pa.int32()), follower_id,
                      *follower_columns, followed_col],
        "posts": [ids.take(pa.array(posts.parent)), post_id, ts(post_created), post_kind,
                  *post_counts],
        "engagements": [ids.take(pa.array(engagements.parent)), actor, engaged_post,
                        engagement_kind, ts(at)],
        "reposts_made": [ids.take(pa.array(reposts.parent)), target, repost_post,
                         ts(repost_at)],
    }
    parents = {"profiles": np.arange(n), **{name: obj.parent for name, obj in lists.items()}}
    tables, counts = {}, {}
    for name in TABLE_NAMES:
        keep = ok[parents[name]]
        table = pa.Table.from_arrays(raw[name], schema=SCHEMAS[name])
        tables[name] = table if keep.all() else table.filter(pa.array(keep))
        counts[name] = np.bincount(parents[name], minlength=n)[ok].astype(np.int64)
    return SnapshotTables(**tables), counts, ok


def _profile_columns(obj: _Object, raws: list[bytes]) -> tuple[list[pa.Array], np.ndarray]:
    """The profile columns of ``tables._PROFILE_FIELDS`` in order, and created_at."""
    created = obj.time("created_at")
    columns = [
        obj.text("username", required=True), obj.text("display_name"),
        pa.array(created, pa.int64()).cast(TS),
        obj.count("followers_count"), obj.count("following_count"), obj.count("posts_count"),
        obj.count("listed_count", required=False), obj.count("likes_count", required=False),
        obj.flag_default("verified", False, raws),
        obj.typed("default_avatar", _BOOL),
        obj.text("bio"), obj.text("url"), obj.text("location"),
    ]
    return columns, created


def _repeated(parent: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rows whose integer ``key`` appears more than once in the same document."""
    if not len(key):
        return np.zeros(0, bool)
    order = np.lexsort((key, parent))
    p, k = parent[order], key[order]
    same = (p[1:] == p[:-1]) & (k[1:] == k[:-1])
    out = np.zeros(len(key), bool)
    out[order[1:][same]] = True
    out[order[:-1][same]] = True
    return out


def _repeated_text(parent: np.ndarray, key: pa.Array) -> np.ndarray:
    """Rows whose text ``key`` appears more than once in the same document."""
    if not len(key):
        return np.zeros(0, bool)
    codes = pc.dictionary_encode(key.fill_null("")).indices.to_numpy(zero_copy_only=False)
    return _repeated(parent, codes.astype(np.int64))


def _post_time(parent: np.ndarray, post_id: pa.Array, post_parent: np.ndarray,
               post_ids: pa.Array, post_created: np.ndarray) -> np.ndarray:
    """created_at (microseconds, as float; NaN when none) of the post each row names."""
    if not len(post_id):
        return np.zeros(0)
    if not len(post_ids):
        return np.full(len(post_id), np.nan)
    known = pa.table({"p": pa.array(post_parent, pa.int64()), "k": post_ids,
                      "c": pa.array(post_created, pa.int64())})
    wanted = pa.table({"p": pa.array(parent, pa.int64()), "k": post_id,
                       "i": pa.array(np.arange(len(parent)), pa.int64())})
    joined = wanted.join(known.group_by(["p", "k"]).aggregate([("c", "min")]),
                         keys=["p", "k"], join_type="left outer")
    out = np.full(len(post_id), np.nan)
    rows = joined.column("i").to_numpy()
    found = joined.column("c_min")
    out[rows] = found.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    return out
