"""String structure kernels: known answers, nulls, slices and non-ASCII text."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from trueclout.features.kernels.strings import (
    blank,
    byte_entropy,
    char_length,
    digit_count,
    digit_runs,
    string_bytes,
)


def test_digit_runs_and_counts() -> None:
    arr = pa.array(["john_smith1987", "anna.k", "a1b22c333", "", None, "42"])
    sb = string_bytes(arr)
    longest, trailing = digit_runs(sb)
    np.testing.assert_array_equal(digit_count(sb)[:4], [4, 0, 6, 0])
    np.testing.assert_array_equal(longest[:4], [4, 0, 3, 0])
    np.testing.assert_array_equal(trailing[:4], [4, 0, 3, 0])
    assert np.isnan(longest[4]) and np.isnan(digit_count(sb)[4])
    assert longest[5] == 2 and trailing[5] == 2


def test_sliced_and_chunked_arrays_are_read_at_their_offset() -> None:
    arr = pa.array(["aa11", "bbb", "c2c2c2", "d"]).slice(1, 2)
    longest, _ = digit_runs(string_bytes(arr))
    np.testing.assert_array_equal(longest, [0, 1])
    chunked = pa.chunked_array([["x1"], ["yy22"]])
    np.testing.assert_array_equal(digit_count(string_bytes(chunked)), [1, 2])


def test_entropy_known_values() -> None:
    h = byte_entropy(string_bytes(pa.array(["aaaa", "abab", "abcd", "", None])))
    assert h[0] == 0.0
    assert h[1] == pytest.approx(1.0)
    assert h[2] == pytest.approx(2.0)
    assert math.isnan(h[3]) and math.isnan(h[4])


def test_lengths_count_characters_not_bytes_and_blank() -> None:
    arr = pa.array(["Zoë", "  ", "日本語のプロフィール", None])
    np.testing.assert_array_equal(char_length(arr)[:3], [3, 2, 10])
    b = blank(arr)
    assert b[0] == 0 and b[1] == 1 and b[2] == 0 and np.isnan(b[3])
