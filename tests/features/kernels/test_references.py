"""The vectorised kernels against plain-Python references, one value at a time.

The kernels were rewritten for speed (fewer numpy calls, fast paths for
common shapes); these references pin down what they must compute, so a
faster kernel cannot drift from the old numbers unnoticed.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trueclout.features.families.engagement import _window_counts
from trueclout.features.kernels import strings as S
from trueclout.features.kernels.dictionary import per_value
from trueclout.features.kernels.segments import Segments, account_index, run_sums

MASK64 = (1 << 64) - 1
MULT = 0x9E3779B97F4A7C15

# Short and long, ASCII and not, digits and whitespace, and nulls.
texts = st.lists(st.none() | st.text(alphabet="ab1 9_Zé日\t", max_size=40), max_size=50)
ids = st.lists(st.text(alphabet="0123456789ab", min_size=1, max_size=30), max_size=60)


def mix64(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def reference_hash(value: str | None) -> int:
    """The documented word hash: seeded with the length, ``h = (h ^ word) * M`` per
    little-endian 8-byte word (the last zero-padded), then mixed; nulls hash to 0."""
    if value is None:
        return 0
    data = value.encode()
    h = (len(data) * MULT) & MASK64
    for at in range(0, len(data), 8):
        h = ((h ^ int.from_bytes(data[at:at + 8], "little")) * MULT) & MASK64
    return mix64(h)


def arrays(values: list) -> list[pa.Array | pa.ChunkedArray]:
    """The same strings as a plain array, a slice of a longer one, and in chunks."""
    arr = pa.array(values, pa.string())
    padded = pa.array(["x" * 9, *values, "tail"], pa.string()).slice(1, len(values))
    half = len(values) // 2
    chunked = pa.chunked_array([arr.slice(0, half), arr.slice(half)], type=pa.string())
    return [arr, padded, chunked]


@settings(max_examples=80, deadline=None)
@given(texts)
def test_hash64_is_the_documented_word_hash(values: list) -> None:
    expected = np.array([reference_hash(v) for v in values], dtype=np.uint64)
    for arr in arrays(values):
        np.testing.assert_array_equal(S.hash64(arr), expected)


@pytest.mark.parametrize("length", [1, 7, 8, 9, 16, 18, 19, 24, 25])
def test_hash64_of_fixed_length_ids(length: int) -> None:
    rng = np.random.default_rng(length)
    values = ["".join(rng.choice(list("0123456789"), length)) for _ in range(300)]
    expected = np.array([reference_hash(v) for v in values], dtype=np.uint64)
    np.testing.assert_array_equal(S.hash64(pa.array(values)), expected)


@settings(max_examples=80, deadline=None)
@given(texts)
def test_string_measures_match_python(values: list) -> None:
    for arr in arrays(values):
        sb = S.string_bytes(arr)
        longest, trailing = S.digit_runs(sb)
        for i, v in enumerate(values):
            if v is None:
                assert np.isnan(S.char_length(sb)[i]) and np.isnan(longest[i])
                continue
            runs = [len(r) for r in re.findall(r"[0-9]+", v)]
            end = re.search(r"[0-9]*$", v)
            assert S.char_length(sb)[i] == len(v)
            assert S.digit_count(sb)[i] == sum(runs)
            assert longest[i] == max(runs, default=0)
            assert trailing[i] == len(end.group(0))


@settings(max_examples=80, deadline=None)
@given(texts)
def test_blank_and_content_match_python(values: list) -> None:
    blank = S.blank(pa.array(values, pa.string()))
    content = S.has_content(S.string_bytes(pa.array(values, pa.string())))
    ascii_space = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
    for i, v in enumerate(values):
        if v is None:
            assert np.isnan(blank[i]) and not content[i]
            continue
        # Blank by Unicode whitespace (what Arrow trims); content by ASCII whitespace.
        assert blank[i] == (1.0 if v.strip() == "" else 0.0)
        assert content[i] == bool(v.strip(ascii_space))


@settings(max_examples=60, deadline=None)
@given(texts)
def test_entropy_matches_python(values: list) -> None:
    got = S.byte_entropy(S.string_bytes(pa.array(values, pa.string())))
    for i, v in enumerate(values):
        data = (v or "").encode()
        if not data:
            assert np.isnan(got[i])
            continue
        counts = Counter(data)
        expected = sum(-(c / len(data)) * math.log2(c / len(data))
                       for _, c in sorted(counts.items()))
        assert got[i] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_skeleton_and_edge_keys(values: list) -> None:
    sb = S.string_bytes(pa.array(values, pa.string()))
    skel = S.skeleton(sb)
    for i, v in enumerate(values):
        got = bytes(skel.data[skel.offsets[i]:skel.offsets[i + 1]]).decode()
        expected = re.sub(r"[0-9]+", "#", re.sub(r"[A-Z]", lambda m: m.group(0).lower(), v or ""))
        assert got == expected
    # Equal strings share an edge key; distinct short strings do not.
    keys = S.edge_key(sb, np.arange(sb.n))
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if a is not None and b is not None:
                if a == b:
                    assert keys[i] == keys[j]
                elif len(a.encode()) <= 16 and len(b.encode()) <= 16:
                    assert keys[i] != keys[j]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), max_size=60))
def test_run_sums_and_counts_match_bincount(rows: list[tuple[int, int]]) -> None:
    account = np.sort(np.array([r[0] for r in rows], dtype=np.int64))
    value = np.array([r[1] for r in rows], dtype=np.int64)
    counts = np.bincount(account, minlength=5)
    expected = np.bincount(account, weights=value, minlength=5)
    np.testing.assert_array_equal(run_sums(value, counts), expected)
    flag = value > 1
    seg = Segments(account, 5)
    np.testing.assert_array_equal(seg.count(flag), np.bincount(account[flag], minlength=5))


def test_large_inputs_take_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels switch formulation with the size of their input; both give the same numbers."""
    from trueclout.features.kernels import segments

    rng = np.random.default_rng(5)
    account = np.sort(rng.integers(0, 50, 10_000))
    value = rng.integers(0, 9, 10_000)
    flags = [np.where(rng.random(10_000) < 0.1, np.nan, rng.random(10_000) < 0.3) * 1.0
             for _ in range(3)]
    ties = rng.integers(0, 20, 10_000) * 0.5  # equal values keep their row order
    seg = Segments(account, 50)
    big = (run_sums(value, seg.sizes), seg.count(value > 4), seg.flag_means(flags),
           seg.sorted(ties).rows)
    monkeypatch.setattr(segments, "_FEW_ROWS", 10**9)
    monkeypatch.setattr(segments, "_LEXSORT_BELOW", 10**9)
    seg = Segments(account, 50)
    small = (run_sums(value, seg.sizes), seg.count(value > 4), seg.flag_means(flags),
             seg.sorted(ties).rows)
    for a, b in zip(big, small, strict=True):
        np.testing.assert_array_equal(a, b)
    # Reference flag means: the plain per-column mean.
    np.testing.assert_array_equal(big[2], np.column_stack([seg.mean(f) for f in flags]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 400)), max_size=80),
       st.sampled_from([1, 2, 3, 4_096]))
def test_window_counts_match_a_scan(rows: list[tuple[int, int]], block: int) -> None:
    keys = np.sort(np.array([(p << 32) | s for p, s in rows], dtype=np.int64))
    expected = [sum(1 for k in keys[i:] if k <= key + 120) for i, key in enumerate(keys)]
    np.testing.assert_array_equal(_window_counts(keys, 120, block=block), expected)


@settings(max_examples=60, deadline=None)
@given(ids, st.integers(1, 4))
def test_dictionary_columns_give_the_plain_answers(values: list, pieces: int) -> None:
    """Lookups over dictionary-encoded chunks (each with its own dictionary) agree with
    lookups over the plain strings, and so do account indices."""
    accounts = pa.array(sorted(set(values))[:5] or ["none"])
    cuts = np.linspace(0, len(values), pieces + 1).astype(int)
    chunks = [pa.array(values[a:b], pa.string()).dictionary_encode()
              for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    encoded = pa.chunked_array(chunks, type=chunks[0].type)
    plain = pa.array(values, pa.string())
    lengths = per_value(encoded, lambda d: np.array([len(x) for x in d.to_pylist()]), np.int64)
    np.testing.assert_array_equal(lengths, [len(v) for v in values])
    np.testing.assert_array_equal(account_index(encoded, accounts),
                                  account_index(plain, accounts))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["acct-1", "acct-10", "acct-2", "b"]), min_size=1,
                max_size=30))
def test_index_of_one_account(keys: list) -> None:
    got = account_index(pa.array(keys), pa.array(["acct-1"]))
    np.testing.assert_array_equal(got, [0 if k == "acct-1" else -1 for k in keys])
