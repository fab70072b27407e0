"""The edges a stored snapshot gives the ring refresher: read off the validated snapshot
(the API's decoded Structs or the pydantic model), they equal the plain reading of its
JSON, item by item (times through ``datetime.fromisoformat``, ids UTF-8 encoded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, TypeAdapter

from tests.factories import snapshot_dict
from trueclout.contract import AccountSnapshot, validate_json
from trueclout.fast_contract import decode_snapshot
from trueclout.service.db.edges import SnapshotGraph, _micros_many

SAMPLES = sorted((Path(__file__).resolve().parents[3] / "data" / "samples").glob("*.json"))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: str) -> int:
    return (datetime.fromisoformat(value) - EPOCH) // timedelta(microseconds=1)


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
    engagements, reposts, posts, ids, lengths = plain(document)
    decoded = decode_snapshot(document)
    assert decoded is not None
    for snapshot in (decoded, validate_json(AccountSnapshot, document)):
        graph = SnapshotGraph.of(snapshot)
        assert (graph.platform, graph.account_id, graph.observed_at) == (
            snapshot.platform, snapshot.account_id, snapshot.observed_at)
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
@given(st.lists(st.tuples(times, st.booleans()), max_size=20))
def test_times_read_alike_whatever_their_offset(values: list) -> None:
    """As msgspec (``datetime.timezone``) or pydantic (its own ``TzInfo``) parsed them."""
    as_parsed = [TypeAdapter(AwareDatetime).validate_python(t.isoformat()) if by_pydantic else t
                 for t, by_pydantic in values]
    assert _micros_many(as_parsed) == [
        (t - EPOCH) // timedelta(microseconds=1) for t in as_parsed]
