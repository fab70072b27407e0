"""Structure of short strings (usernames, names, bios), vectorised over Arrow buffers.

Only structure is measured (lengths, digit runs, byte entropy), never words:
a signal that depends on the language of free text penalises accounts that do
not write in English, a documented failure of bot scores.  Every function
works on the raw UTF-8 bytes and offsets of an Arrow string array, with one
numpy pass over all bytes: no Python loop per string.

Ids and templates are grouped through 64-bit codes (``hash64``,
``shared_codes``): equal strings get equal codes, so kernels can group them
with integer sorts instead of hash tables of strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class StringBytes:
    """The bytes of ``n`` strings laid end to end; ``row`` names the string of each byte."""

    data: np.ndarray  # uint8, all strings concatenated
    offsets: np.ndarray  # int64, n + 1
    valid: np.ndarray  # bool, n: False where the value is null

    @property
    def n(self) -> int:
        return len(self.valid)

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def row(self) -> np.ndarray:
        return np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)


def _validity(values: pa.Array) -> np.ndarray:
    """Validity of each slot, unpacked from the Arrow bitmap (no compute kernel)."""
    n = len(values)
    if values.null_count == 0:
        return np.ones(n, dtype=bool)
    bits = np.frombuffer(values.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[values.offset : values.offset + n].view(bool)


def string_bytes(values: pa.Array | pa.ChunkedArray) -> StringBytes:
    """Zero-copy view of an Arrow string column (nulls become empty strings, ``valid`` False)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_null(values.type):
        n = len(values)
        return StringBytes(np.zeros(0, np.uint8), np.zeros(n + 1, np.int64), np.zeros(n, bool))
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    n = len(values)
    validity, offsets_buf, data_buf = values.buffers()[:3]
    off_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=off_type)[values.offset : values.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = np.zeros(0, np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    start = offsets[0] if n else 0
    data = data[start : offsets[-1] if n else 0]
    offsets = offsets - start
    valid = _validity(values)
    if not valid.all():
        lengths = np.diff(offsets)
        if lengths[~valid].any():
            # Null slots may still own bytes in some writers: treat them as empty.
            lengths = np.where(valid, lengths, 0)
            keep = np.repeat(valid, np.diff(offsets))
            data = data[keep]
            offsets = np.concatenate(([0], np.cumsum(lengths)))
    return StringBytes(data, offsets, valid)


def char_length(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Length in characters (not bytes); NaN for nulls."""
    lengths = pc.utf8_length(values)
    return _to_float(lengths)


def _to_float(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _digit(sb: StringBytes) -> np.ndarray:
    return (sb.data >= 48) & (sb.data <= 57)


def digit_count(sb: StringBytes) -> np.ndarray:
    """ASCII digits per string; NaN for nulls."""
    out = np.bincount(sb.row, weights=_digit(sb), minlength=sb.n)
    return np.where(sb.valid, out, np.nan)


def digit_runs(sb: StringBytes) -> tuple[np.ndarray, np.ndarray]:
    """(longest run of consecutive digits, digits at the end) per string; NaN for nulls.

    ``john_smith1987`` -> (4, 4); ``anna.k`` -> (0, 0).
    """
    run = _run_lengths(_digit(sb), sb.offsets)
    longest = np.zeros(sb.n)
    trailing = np.zeros(sb.n)
    nonempty = sb.lengths > 0
    if nonempty.any():
        longest[nonempty] = np.maximum.reduceat(run, sb.offsets[:-1][nonempty])
        trailing[nonempty] = run[sb.offsets[1:][nonempty] - 1]
    return (np.where(sb.valid, longest, np.nan), np.where(sb.valid, trailing, np.nan))


def _run_lengths(flag: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each byte, the length of the run of True ending there (0 where False).

    Runs never cross string boundaries.
    """
    if len(flag) == 0:
        return np.zeros(0, np.int64)
    index = np.int32 if len(flag) < 2**31 else np.int64
    f = flag.astype(index)
    cs = np.cumsum(f, dtype=index)
    starts = np.zeros(len(flag), bool)
    starts[offsets[:-1][offsets[:-1] < len(flag)]] = True
    reset = ~flag | starts
    base = np.maximum.accumulate(np.where(reset, cs - f, 0))
    return (cs - base) * f


def byte_entropy(sb: StringBytes) -> np.ndarray:
    """Shannon entropy (bits per byte) of each string's bytes; NaN for null or empty.

    Generated usernames (``xk4q9z2m``) have near-maximal entropy for their
    length; human ones repeat letters.  Byte counts come from one sort of
    (string, byte) codes.
    """
    out = np.full(sb.n, np.nan)
    if len(sb.data) == 0:
        return out
    index = np.int32 if sb.n < 2**23 else np.int64
    row = np.repeat(np.arange(sb.n, dtype=index), sb.lengths)
    codes = np.sort((row << 8) | sb.data.astype(index))
    first = np.empty(len(codes), dtype=bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(codes)))
    rows = codes[starts] >> 8
    lengths = sb.lengths.astype(np.float64)
    p = counts / lengths[rows]
    h = np.bincount(rows, weights=-p * np.log2(p), minlength=sb.n)
    has = (lengths > 0) & sb.valid
    out[has] = h[has]
    return out


# Bytes that Arrow's utf8_trim_whitespace (and str.isspace) treat as ASCII whitespace.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def has_content(sb: StringBytes) -> np.ndarray:
    """True where a string holds anything but ASCII whitespace (False for nulls)."""
    content = np.zeros(sb.n, dtype=bool)
    nonempty = sb.lengths > 0
    if nonempty.any():
        content[nonempty] = np.logical_or.reduceat(~_ASCII_SPACE[sb.data],
                                                   sb.offsets[:-1][nonempty])
    return content & sb.valid


def blank(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """1 where the text is empty or only whitespace, 0 where it has content, NaN where null."""
    sb = string_bytes(values)
    if len(sb.data) and sb.data.max() >= 128:
        # Non-ASCII text may hold Unicode spaces: let Arrow decide.
        trimmed = pc.utf8_trim_whitespace(values)
        is_blank = pc.equal(pc.utf8_length(trimmed), 0)
        return _to_float(pc.cast(is_blank, pa.float64()))
    return np.where(sb.valid, (~has_content(sb)).astype(np.float64), np.nan)


# Up to this many strings (one snapshot), dictionary-encoding them costs less
# than the word-wise hash; beyond it the hash wins by a wide margin.
_DICTIONARY_LIMIT = 20_000
_WORD_MULT = np.uint64(0x9E3779B97F4A7C15)
_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole hash."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash64(values: pa.Array | pa.ChunkedArray | StringBytes) -> np.ndarray:
    """A 64-bit hash of each string (uint64): equal strings, equal hashes, in any call.

    Distinct strings collide with probability about 2**-64.  Hashing eight
    bytes at a time is several times faster than Arrow's dictionary encoder
    when millions of mostly distinct ids are grouped.  Nulls hash to 0, like
    the empty string: check validity where that matters.
    """
    sb = values if isinstance(values, StringBytes) else string_bytes(values)
    h = _word_hash(sb)
    return h if sb.valid.all() else np.where(sb.valid, h, np.uint64(0))


def shared_codes(*columns: pa.Array | pa.ChunkedArray | StringBytes) -> list[np.ndarray]:
    """uint64 codes of several string columns, equal exactly where the strings are equal.

    Consistent across the columns of one call (not across calls).  Small
    inputs (one snapshot) are dictionary-encoded together, which costs a few
    microseconds however long the strings; large ones are hashed with
    ``hash64``.  Nulls get 0.
    """
    if sum(len(c.valid) if isinstance(c, StringBytes) else len(c)
           for c in columns) > _DICTIONARY_LIMIT:
        return [hash64(c) for c in columns]
    flat = [to_arrow(c) if isinstance(c, StringBytes) else
            (c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c) for c in columns]
    whole = pa.concat_arrays([c.cast(pa.string()) for c in flat]) if len(flat) > 1 else flat[0]
    idx = pc.dictionary_encode(whole).indices.fill_null(-1)
    idx = idx.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(idx < 0, np.uint64(0), _mix64(idx.astype(np.uint64) + np.uint64(1)))
    return list(np.split(codes, np.cumsum([len(c) for c in flat])[:-1]))


def to_arrow(sb: StringBytes) -> pa.Array:
    """The strings of ``sb`` as an Arrow string array (nulls kept)."""
    validity = None if sb.valid.all() else pa.py_buffer(np.packbits(sb.valid,
                                                                    bitorder="little"))
    offsets = sb.offsets.astype(np.int32 if len(sb.data) < 2**31 else np.int64)
    kind = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(kind, sb.n, [validity, pa.py_buffer(offsets),
                                              pa.py_buffer(sb.data)],
                                 null_count=int(sb.n - sb.valid.sum()))


def _windows(data: np.ndarray) -> np.ndarray:
    """Every 8-byte window of ``data`` as an unaligned little-endian uint64 (a view)."""
    return np.ndarray(buffer=data, dtype="<u8", shape=(len(data) - 7,), strides=(1,))


def _word_hash(sb: StringBytes) -> np.ndarray:
    """Hash each string eight bytes at a time: one pass over the strings per 8-byte word.

    Words are read from a view of the buffer itself; the few strings at its
    very end, whose last word would run past it, are hashed again from a
    small zero-padded copy of the tail, so the big buffer is never copied.
    """
    lengths = sb.lengths
    n_words = (lengths + 7) >> 3
    most = int(n_words.max()) if sb.n else 0
    if most == 0:
        return _mix64(np.zeros(sb.n, dtype=np.uint64))
    starts = sb.offsets[:-1]
    data = sb.data if len(sb.data) >= 8 else np.zeros(8, np.uint8)
    h = _hash_words(_windows(data), starts, lengths, n_words)
    overrun = np.flatnonzero(starts + 8 * n_words > len(sb.data))
    if len(overrun):
        tail_from = int(starts[overrun].min())
        tail = np.concatenate([sb.data[tail_from:], np.zeros(8 * most + 8, np.uint8)])
        h[overrun] = _hash_words(_windows(tail), starts[overrun] - tail_from,
                                 lengths[overrun], n_words[overrun])
    return _mix64(h)


def _hash_words(words: np.ndarray, at: np.ndarray, lengths: np.ndarray,
                n_words: np.ndarray) -> np.ndarray:
    """``h = (h ^ word) * M`` over each string's words, seeded with its length.

    Strings that run out of words drop out once most have, so a few long
    bios do not cost a pass over every short string; ids of one length (the
    common case) need no masking until their last word.
    """
    h = lengths.astype(np.uint64) * _WORD_MULT
    last_mask = _BYTE_MASKS[lengths - 8 * np.maximum(n_words - 1, 0)]
    out, rows = h, None
    at = at.copy()
    fewest, most = int(n_words.min()), int(n_words.max())
    for k in range(most):
        if k >= fewest and 2 * int((n_words > k).sum()) < len(n_words):
            keep = np.flatnonzero(n_words > k)
            if rows is None:
                out, rows = h, keep
            else:
                out[rows] = h
                rows = rows[keep]
            h, at, n_words, last_mask = h[keep], at[keep], n_words[keep], last_mask[keep]
            fewest = int(n_words.min())
        # Reads past the end are clipped (those strings are redone from the
        # padded tail); finished strings read some word their mask zeroes.
        # ``at`` ascends with the offsets, so its last entry is its largest.
        w = words[at] if at[-1] < len(words) else words[np.minimum(at, len(words) - 1)]
        if k + 1 >= fewest:  # some strings end at (or before) this word
            if fewest == most:
                w &= last_mask
            else:
                w &= np.where(n_words > k + 1, _BYTE_MASKS[8],
                              np.where(n_words == k + 1, last_mask, np.uint64(0)))
        h ^= w
        if k >= fewest:  # finished strings must stay as they are
            np.multiply(h, _WORD_MULT, out=h, where=n_words > k)
        else:
            h *= _WORD_MULT
        at += 8
    if rows is None:
        return h
    out[rows] = h
    return out


def concat_bytes(parts: list[StringBytes]) -> StringBytes:
    """Several string columns as one, end to end (to hash or group them in one pass)."""
    data = np.concatenate([p.data for p in parts])
    shift = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
    offsets = np.concatenate([parts[0].offsets[:1]] + [p.offsets[1:] + k
                                                        for p, k in zip(parts, shift, strict=True)])
    return StringBytes(data, offsets.astype(np.int64), np.concatenate([p.valid for p in parts]))


def skeleton(sb: StringBytes) -> StringBytes:
    """Each string's structure: ASCII lowercased, every run of digits collapsed to ``#``.

    ``Anna_1987`` and ``anna_42`` share the skeleton ``anna_#``: accounts made
    from one template differ only in their numbers.  Non-ASCII bytes are kept
    as they are, so no script or language is favoured.
    """
    if len(sb.data) == 0:
        return sb
    digit = _digit(sb)
    follows_digit = np.zeros_like(digit)
    follows_digit[1:] = digit[:-1]
    follows_digit[sb.offsets[:-1][sb.lengths > 0]] = False
    keep = ~(digit & follows_digit)
    upper = (sb.data >= 65) & (sb.data <= 90)
    data = np.where(digit, np.uint8(35), sb.data | (upper.view(np.uint8) << np.uint8(5)))
    kept = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    return StringBytes(data[keep], kept[sb.offsets], sb.valid)

