"""JSON Lines decoded in blocks: the same snapshots, the same refusals as the models, line by line.

The fast decoder may take a line only when the models would take it with the
same values; everything else must be reported exactly as ``iter_records``
reports it (line, field path, reason).  Each case below is one line of a
file that mixes them all, so a bad line also proves it does not spoil its
neighbours.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import mutate, snapshot_dict
from tests.hostile_inputs import BAD_FIELDS, HOSTILE, snapshot_bytes
from tests.strategies import snapshots
from trueclout.io import iter_records
from trueclout.service.batch import inputs
from trueclout.service.batch.decode import decode_data
from trueclout.tables import TABLE_NAMES, snapshots_to_tables


def _line(path: str, value: object, account: str = "acct-x") -> bytes:
    return json.dumps(mutate(snapshot_dict(account), path, value)).encode()


def _valid(i: int) -> bytes:
    return json.dumps(snapshot_dict(f"acct-{i}", followers=i % 4, posts=i % 3)).encode()


# Lines the models accept, some of them in forms the fast path leaves to the models.
UNUSUAL_BUT_VALID = [
    _line("profile.verified", ..., "missing-verified"),
    _line("posts[0].kind", "reply", "kind-given"),
    _line("raw_score", 7, "integer-score"),
    _line("raw_score", None, "null-score"),
    _line("observed_at", "2026-11-20T09:00:00+01:00", "offset-observed"),
    _line("profile.created_at", "2024-05-01T10:00:00.123456-03:30", "offset-created"),
    _line("followers[0].followed_at", None, "null-followed"),
    _line("followers[1].followed_at", ..., "missing-followed"),
    _line("profile.bio", 'said "hi": then left', "escaped-quote-colon"),
    _line("profile.bio", "tab\there", "tab-in-text"),
    _line("profile.username", "   ", "blank-username-is-text"),
    _line("profile.location", " far away ", "spaces-after-quotes"),
    _line("account_id", "ünïcødé-☃", "unicode-id"),
    _line("account_id", "x" * 128, "longest-id"),
    _line("reposts_made", ..., "no-reposts"),
    _line("follower_history", [], "empty-history"),
    json.dumps(snapshot_dict("spaced"), indent=None, separators=(" , ", " : ")).encode(),
    b"  " + _valid(990) + b"  \r",
]

# Lines the models refuse, beyond the shared corpus.
MORE_BAD = [
    _line("profile.verified", None, "null-verified"),
    _line("posts[0].kind", None, "null-kind"),
    _line("posts[0].kind", "story", "bad-kind"),
    _line("followers", None, "null-followers"),
    _line("followers", [None], "null-follower"),
    _line("followers", [1, 2], "number-followers"),
    _line("followers", {"a": 1}, "object-followers"),
    _line("profile", None, "null-profile"),
    _line("profile", [], "list-profile"),
    _line("engagements[0].at", "2020-01-01T00:00:00Z", "engaged-before-post"),
    _line("follower_history[1].date", "2026-11-15", "repeated-date"),
    json.dumps(mutate(snapshot_dict("repeated-post", engagements_per_post=0), "posts[1].post_id",
                      "p0")).encode(),
    _line("engagements[0].at", "2026-11-20T08:06:00Z", "engaged-after-observed"),
    _line("engagements[1].kind", ..., "engagement-without-kind"),
    _line("followers[0].created_at", "2001-01-01T00:00:00Z", "follower-before-platform"),
    _line("followers[2].followed_at", "2026-11-20T08:05:01Z", "followed-after-observed"),
    _line("profile.username", "", "empty-username"),
    _line("profile.username", ..., "no-username"),
    _line("profile.posts_count", ..., "no-posts-count"),
    _line("engagements[0].actor_id", ..., "no-actor"),
    _line("posts[0].created_at", ..., "post-without-time"),
    _line("profile.created_at", "2024-05-01T10Z", "hour-only"),  # Arrow reads these two
    _line("profile.created_at", "2024-05-01T10:00:00+01", "short-offset"),
    json.dumps({**snapshot_dict("observed-before-launch"), "observed_at": "2006-03-20T23:58:00Z",
                "profile": {**snapshot_dict()["profile"], "created_at": "2006-03-21T00:01:00Z"},
                "follower_history": [], "followers": [], "posts": [], "engagements": [],
                "reposts_made": []}).encode(),
    _line("observed_at", "2026-11-20t08:00:00Z", "lowercase-t"),
    _line("observed_at", "2026-11-20 08:00:00Z", "space-t"),
    _line("profile.created_at", "2024-02-30T00:00:00Z", "no-such-day"),
    _line("profile.created_at", "2024-05-01T24:00:00Z", "hour-24"),
    _line("profile.created_at", "2024-05-01T10:00:00.1234567Z", "seven-digits"),
    _line("follower_history[0].date", "2026-02-30", "no-such-date"),
    _line("account_id", "\u3000\u2003", "unicode-blank-id"),
    _line("account_id", "x" * 129, "long-id"),
    _line("followers[0].account_id", "a\x7fb", "control-id"),
    _line("profile.display_name", "nul\x00here", "nul-text"),
    _line("profile.listed_count", 10**12 + 1, "huge-count"),
    _line("profile.listed_count", 2**70, "beyond-int64"),
    _line("raw_score", -0.5, "negative-score"),
    _line("posts[0].created_at", "2026-11-21T08:00:00Z", "post-after-observed"),
    _line("reposts_made[0].at", "2001-01-01T00:00:00Z", "repost-before-platform"),
    snapshot_bytes().replace(b'"display_name": "Anna K"',
                             b'"display_name": "Anna K", "display_name" : "B"', 1),
    snapshot_bytes().replace(b'"followers_count": 10,', b'"followers_count": 10, '
                             b'"followers_count": 11,', 1),
    _line("followers[0].verified", None, "null-follower-verified"),
    snapshot_bytes().replace(b'"verified": false', b'"\\u0076erified": null', 1),
    _line("followers", snapshot_dict()["followers"][:1] * 5_001, "too-many-followers"),
    _valid(994) + b" " + _valid(995),
    b'{"account_id": "abc"}',
    b"[1, 2, 3]",
    b'"just text"',
    b"\xef\xbb\xbf" + _valid(991),
    b"\xff\xfe" + _valid(992),
    _valid(993)[:-30],
]


def _corpus() -> list[bytes]:
    lines: list[bytes] = []
    bad = [snapshot_bytes(path, value) for path, value, _, _ in BAD_FIELDS]
    bad += [h.body() for h in HOSTILE] + MORE_BAD
    for i, line in enumerate([*UNUSUAL_BUT_VALID, *bad]):
        lines += [_valid(i), b"", line.replace(b'"acct-1"', f'"acct-b{i}"'.encode(), 1)]
    return lines


def _reference(data: bytes, tmp_path: Path) -> tuple[list[str], list]:
    file = tmp_path / "reference.jsonl"
    file.write_bytes(data)
    records = list(iter_records(file))
    errors = [line for r in records if r.error is not None for line in r.error.lines()]
    return errors, [r.snapshot for r in records if r.snapshot is not None]


def _assert_same(data: bytes, tmp_path: Path) -> None:
    errors, valid = _reference(data, tmp_path)
    decoded = decode_data(data)
    assert [line for e in decoded.errors for line in e.lines()] == errors
    assert decoded.valid == len(valid)
    expected = snapshots_to_tables(valid)
    for name in TABLE_NAMES:
        assert decoded.tables is not None
        assert decoded.tables[name].equals(expected[name]), name
        assert decoded.counts[name].sum() == expected[name].num_rows


def test_every_line_is_judged_as_the_models_judge_it(tmp_path: Path) -> None:
    data = b"\n".join(_corpus()) + b"\n"
    _assert_same(data, tmp_path)
    decoded = decode_data(data)
    plain = len(UNUSUAL_BUT_VALID) + len(BAD_FIELDS) + len(HOSTILE) + len(MORE_BAD)
    assert decoded.fast >= plain  # the plain valid lines did not need the models


def test_a_last_line_without_newline_is_read(tmp_path: Path) -> None:
    _assert_same(_valid(1) + b"\n" + _valid(2), tmp_path)
    _assert_same(_valid(1) + b"\n" + _valid(2)[:-5], tmp_path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(snapshots(), min_size=1, max_size=4))
def test_generated_snapshots_decode_to_the_same_tables(snaps: list) -> None:
    lines = [s.model_dump_json().encode() for s in snaps]
    data = b"\n".join(lines) + b"\n"
    decoded = decode_data(data)
    assert not decoded.errors
    expected = snapshots_to_tables(snaps)
    for name in TABLE_NAMES:
        assert decoded.tables is not None and decoded.tables[name].equals(expected[name]), name


def test_staging_in_blocks_equals_staging_record_by_record(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(_corpus()))  # and no newline at the end
    monkeypatch.setattr(inputs, "BLOCK_BYTES", 4_000)  # many blocks, each of a few lines
    old_notes: list[str] = []
    new_notes: list[str] = []
    old = tmp_path / "old"
    old.mkdir()
    invalid = inputs._stage_json(source, old, inputs.OnError.skip, old_notes.append, 7)
    staged = inputs.open_batch_input(source, stage_in=tmp_path, report=new_notes.append,
                                     chunk_accounts=7)
    try:
        assert staged.invalid == invalid and new_notes == old_notes
        for name in TABLE_NAMES:
            a, b = pq.ParquetFile(old / f"{name}.parquet"), \
                pq.ParquetFile(staged.folder / f"{name}.parquet")
            assert a.read().equals(b.read()), name
            assert a.num_row_groups == b.num_row_groups
    finally:
        staged.cleanup()
