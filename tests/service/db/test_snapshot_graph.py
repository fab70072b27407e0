"""The edges a stored snapshot gives the ring refresher: the vectorised reading equals the
plain one, item by item (times through ``datetime.fromisoformat``, ids UTF-8 encoded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import snapshot_dict
from trueclout.service.db.edges import SnapshotGraph, _micros, _micros_many

SAMPLES = sorted((Path(__file__).resolve().parents[3] / "data" / "samples").glob("*.json"))
RECEIVED = datetime(2026, 12, 7, tzinfo=UTC)


def plain(document: bytes) -> tuple[list, list, list, bytes, bytes]:
    """The reading item by item: the reference the vectorised one must equal."""
    from trueclout.features.graph.build import KINDS

    codes = {name: code for code, name in enumerate(KINDS)}
    view = orjson.loads(document)
    engagements = list(dict.fromkeys(
        (e["actor_id"], e["post_id"], codes[e["kind"]], _micros(e["at"]))
        for e in view.get("engagements") or ()))
    reposts = list(dict.fromkeys((r["target_account_id"], r.get("post_id"), _micros(r["at"]))
                                 for r in view.get("reposts_made") or ()))
    posts = list(dict.fromkeys((p["post_id"], _micros(p["created_at"]))
                               for p in view.get("posts") or ()))
    encoded = [s.encode() for s in ([e[0] for e in engagements] + [e[1] for e in engagements]
                                    + [r[0] for r in reposts] + [r[1] or "" for r in reposts]
                                    + [p[0] for p in posts])]
    return (engagements, reposts, posts, b"".join(encoded),
            np.array([len(b) for b in encoded], dtype="<u2").tobytes())


def assert_same(document: bytes) -> None:
    graph = SnapshotGraph.of(document, platform="twitter", account_id="a", received_at=RECEIVED)
    engagements, reposts, posts, ids, lengths = plain(document)
    assert (graph.engagements, graph.reposts, graph.posts) == (engagements, reposts, posts)
    packed = graph.packed()
    assert (packed["ids"], packed["id_lengths"]) == (ids, lengths)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_the_samples_read_alike(path: Path) -> None:
    assert_same(path.read_bytes())


def test_an_empty_snapshot_and_non_ascii_ids() -> None:
    assert_same(orjson.dumps(snapshot_dict(followers=0)))
    doc = snapshot_dict(followers=2)
    for i, engagement in enumerate(doc.get("engagements", [])):
        engagement["actor_id"] = f"ünï-{i}-名前"
    assert_same(orjson.dumps(doc))


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.builds(lambda t, tz, us: t.replace(tzinfo=tz, microsecond=us),
                  st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)), offsets,
                  st.integers(0, 999_999))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(times, st.sampled_from(["iso", "Z", "seconds", "lower"])),
                max_size=20))
def test_times_read_alike_whatever_their_spelling(values: list) -> None:
    spelt = []
    for t, style in values:
        if style == "Z":
            spelt.append(t.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        elif style == "seconds":
            spelt.append(t.replace(microsecond=0).isoformat())
        elif style == "lower":
            spelt.append(t.astimezone(UTC).isoformat().replace("+00:00", "z").replace("T", "t"))
        else:
            spelt.append(t.isoformat())
    assert _micros_many(spelt) == [_micros(v) for v in spelt]
