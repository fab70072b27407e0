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
class DigitRuns:
    """Runs of consecutive digits, in byte order: their string, length and end (exclusive)."""

    row: np.ndarray
    length: np.ndarray
    end: np.ndarray


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

    @cached_property
    def row(self) -> np.ndarray:
        return np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)

    @cached_property
    def first_byte(self) -> np.ndarray:
        """Each string's first byte (0 for empty strings)."""
        if len(self.data) == 0:
            return np.zeros(self.n, dtype=np.uint8)
        first = self.data[np.minimum(self.offsets[:-1], len(self.data) - 1)]
        return np.where(self.lengths > 0, first, np.uint8(0))

    @cached_property
    def ascii(self) -> bool:
        """No byte of any string is above 127 (so bytes are characters)."""
        return len(self.data) == 0 or int(self.data.max()) < 128

    @cached_property
    def digit_runs(self) -> DigitRuns:
        """Every run of consecutive ASCII digits, found from where runs start and end:
        after one pass over the bytes, the work is proportional to the runs."""
        digit = (self.data >= 48) & (self.data <= 57)
        nonempty = self.lengths > 0
        # A run starts at a digit after a non-digit or at a string's first byte...
        opens = digit.copy()
        opens[1:] &= ~digit[:-1]
        first = self.offsets[:-1][nonempty]
        opens[first] = digit[first]
        # ... and ends at a digit before a non-digit or at a string's last byte.
        closes = digit.copy()
        closes[:-1] &= ~digit[1:]
        last = self.offsets[1:][nonempty] - 1
        closes[last] = digit[last]
        start = np.flatnonzero(opens)
        end = np.flatnonzero(closes) + 1
        row = np.searchsorted(self.offsets, start, side="right") - 1
        return DigitRuns(row, (end - start).astype(np.float64), end)

    def take(self, rows: np.ndarray) -> StringBytes:
        """The strings at ``rows``, as a new (compact) StringBytes."""
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        at = np.repeat(self.offsets[:-1][rows] - offsets[:-1], lengths)
        at += np.arange(int(offsets[-1]), dtype=np.int64)
        return StringBytes(self.data[at], offsets, self.valid[rows])


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
    kind = values.type
    if kind == _STRING:
        off_type = np.int32
    elif kind == _LARGE_STRING:
        off_type = np.int64
    elif pa.types.is_null(kind):
        n = len(values)
        return StringBytes(np.zeros(0, np.uint8), np.zeros(n + 1, np.int64), np.zeros(n, bool))
    else:
        return string_bytes(values.cast(pa.string()))
    n = len(values)
    _, offsets_buf, data_buf = values.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, dtype=off_type)[values.offset : values.offset + n + 1]
    start = int(offsets[0]) if n else 0
    offsets = offsets.astype(np.int64) if start == 0 else offsets - np.int64(start)
    data = np.zeros(0, np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    data = data[start : start + int(offsets[-1]) if n else 0]
    if values.null_count == 0:
        return StringBytes(data, offsets, np.ones(n, dtype=bool))
    valid = _validity(values)
    lengths = offsets[1:] - offsets[:-1]
    if lengths[~valid].any():
        # Null slots may still own bytes in some writers: treat them as empty.
        keep = np.repeat(valid, lengths)
        data = data[keep]
        lengths = np.where(valid, lengths, 0)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
    return StringBytes(data, offsets, valid)


_STRING = pa.string()
_LARGE_STRING = pa.large_string()


def char_length(values: pa.Array | pa.ChunkedArray | StringBytes) -> np.ndarray:
    """Length in characters (not bytes); NaN for nulls.

    A character is a byte that does not continue a UTF-8 sequence (``10xxxxxx``),
    which is how Arrow's ``utf8_length`` counts; ASCII text needs no count at all.
    """
    sb = values if isinstance(values, StringBytes) else string_bytes(values)
    if sb.ascii:
        lengths = sb.lengths
    else:
        starts = np.zeros(len(sb.data) + 1, dtype=np.int64)
        np.cumsum((sb.data & 0xC0) != 0x80, out=starts[1:])
        lengths = starts[sb.offsets[1:]] - starts[sb.offsets[:-1]]
    return np.where(sb.valid, lengths, np.nan)


def _to_float(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def digit_count(sb: StringBytes) -> np.ndarray:
    """ASCII digits per string; NaN for nulls."""
    runs = sb.digit_runs
    out = np.bincount(runs.row, weights=runs.length, minlength=sb.n)
    return np.where(sb.valid, out, np.nan)


def digit_runs(sb: StringBytes) -> tuple[np.ndarray, np.ndarray]:
    """(longest run of consecutive digits, digits at the end) per string; NaN for nulls.

    ``john_smith1987`` -> (4, 4); ``anna.k`` -> (0, 0).
    """
    runs = sb.digit_runs
    longest = np.zeros(sb.n)
    trailing = np.zeros(sb.n)
    if len(runs.row):
        # Runs come in byte order, so each string's runs are consecutive.
        first = np.flatnonzero(np.concatenate(([True], runs.row[1:] != runs.row[:-1])))
        longest[runs.row[first]] = np.maximum.reduceat(runs.length, first)
        at_end = runs.end == sb.offsets[1:][runs.row]
        trailing[runs.row[at_end]] = runs.length[at_end]
    return (np.where(sb.valid, longest, np.nan), np.where(sb.valid, trailing, np.nan))


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
    lengths = sb.lengths
    if int(lengths.max()) < _TERMS.shape[0]:
        terms = _TERMS.ravel()[lengths[rows] * _TERMS.shape[1] + counts]
    else:
        p = counts / lengths[rows].astype(np.float64)
        terms = -p * np.log2(p)
    h = np.bincount(rows, weights=terms, minlength=sb.n)
    has = (lengths > 0) & sb.valid
    out[has] = h[has]
    return out


def _entropy_terms(longest: int) -> np.ndarray:
    """``-p log2 p`` for ``p = count / length``, indexed ``[length, count]``: the same
    numbers ``byte_entropy`` would compute for each byte, looked up instead."""
    length = np.arange(longest + 1, dtype=np.float64)[:, None]
    count = np.arange(longest + 1, dtype=np.int64)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / length
        return np.nan_to_num(-p * np.log2(p))


_TERMS = _entropy_terms(64)


# Bytes that Arrow's utf8_trim_whitespace (and str.isspace) treat as ASCII whitespace.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def has_content(sb: StringBytes) -> np.ndarray:
    """True where a string holds anything but ASCII whitespace (False for nulls).

    Most strings start with content, which their first byte shows; only those
    that start with whitespace are scanned.
    """
    content = (sb.lengths > 0) & ~_ASCII_SPACE[sb.first_byte]
    unsure = ((sb.lengths > 1) & ~content).nonzero()[0]
    if len(unsure):
        content[unsure] = _any_content(sb.take(unsure))
    return content & sb.valid


def _any_content(sb: StringBytes) -> np.ndarray:
    """``has_content`` of non-empty strings, every byte scanned."""
    return np.logical_or.reduceat(~_ASCII_SPACE[sb.data], sb.offsets[:-1])


def blank(values: pa.Array | pa.ChunkedArray, sb: StringBytes | None = None) -> np.ndarray:
    """1 where the text is empty or only whitespace, 0 where it has content, NaN where null.

    ``sb`` may pass the column's bytes when the caller already has them.
    """
    sb = string_bytes(values) if sb is None else sb
    # A string whose first byte is ASCII but not whitespace has content by any
    # definition; the empty ones are blank; the others are scanned.
    out = np.where(sb.valid, (sb.lengths == 0).astype(np.float64), np.nan)
    unsure = ((sb.lengths > 0) & _UNSURE_START[sb.first_byte] & sb.valid).nonzero()[0]
    if len(unsure) == 0:
        return out
    candidates = sb.take(unsure)
    if candidates.ascii:
        out[unsure] = ~_any_content(candidates)
        return out
    # Non-ASCII text may hold Unicode spaces: let Arrow decide.
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    trimmed = pc.utf8_trim_whitespace(values.take(pa.array(unsure)))
    out[unsure] = _to_float(pc.cast(pc.equal(pc.utf8_length(trimmed), 0), pa.float64()))
    return out


# First bytes that leave open whether a string has content: ASCII whitespace, non-ASCII.
_UNSURE_START = _ASCII_SPACE.copy()
_UNSURE_START[128:] = True


# Up to this many strings (one snapshot), dictionary-encoding them costs less
# than the word-wise hash; beyond it the hash wins by a wide margin.
_DICTIONARY_LIMIT = 20_000
_WORD_MULT = np.uint64(0x9E3779B97F4A7C15)
_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def mix64(x: np.ndarray) -> np.ndarray:
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
    parts = [chunk for c in columns for chunk in _string_chunks(c)]
    # One memo table over all chunks: indices agree across columns (first seen, first).
    encoded = pc.dictionary_encode(pa.chunked_array(parts, type=pa.string())).chunks
    idx = np.concatenate([_indices(chunk) for chunk in encoded]) if encoded else np.zeros(
        0, np.int64)
    codes = mix64(idx.astype(np.uint64) + np.uint64(1))
    if (idx < 0).any():
        codes[idx < 0] = 0
    sizes = [len(c.valid) if isinstance(c, StringBytes) else len(c) for c in columns]
    return list(np.split(codes, np.cumsum(sizes)[:-1]))


def _string_chunks(column: pa.Array | pa.ChunkedArray | StringBytes) -> list[pa.Array]:
    if isinstance(column, StringBytes):
        return [to_arrow(column).cast(pa.string())]
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [c if c.type == _STRING else c.cast(pa.string()) for c in chunks]


def _indices(chunk: pa.DictionaryArray) -> np.ndarray:
    """Dictionary indices as int64, -1 for nulls."""
    indices = chunk.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    return indices.to_numpy(zero_copy_only=False).astype(np.int64)


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
    """Hash each string eight bytes at a time: ``h = (h ^ word) * M`` over its words,
    seeded with its length, then mixed.

    A string's last word holds its remaining 1-8 bytes in its low bytes (the
    rest zero); it is read as the 8 bytes ending at the string's end, shifted,
    so no read runs past a string of 8 bytes or more, and the buffer is never
    copied.  Strings all of one length (ids) are read as strided columns.
    """
    lengths = sb.lengths
    h = lengths.astype(np.uint64) * _WORD_MULT
    if sb.n == 0 or int(lengths.max()) == 0:
        return mix64(h)
    length = int(lengths[0])
    if length >= 8 and int(lengths.min()) == int(lengths.max()):
        _hash_columns(sb.data, sb.n, length, h)
    else:
        _hash_rows(sb, h)
    return mix64(h)


def _hash_columns(data: np.ndarray, n: int, length: int, h: np.ndarray) -> None:
    """``_word_hash`` of ``n`` strings of ``length`` >= 8 bytes laid end to end, in place."""
    full, rest = divmod(length, 8)
    for k in range(full):
        h ^= np.ndarray(buffer=data, dtype="<u8", shape=(n,), strides=(length,), offset=8 * k)
        h *= _WORD_MULT
    if rest:
        last = np.ndarray(buffer=data, dtype="<u8", shape=(n,), strides=(length,),
                          offset=length - 8)
        h ^= last >> np.uint64(8 * (8 - rest))
        h *= _WORD_MULT


def _hash_rows(sb: StringBytes, h: np.ndarray) -> None:
    """``_word_hash`` of strings of any lengths, in place; one gather per word."""
    data = sb.data
    if len(data) < 8:
        data = np.zeros(8, dtype=np.uint8)
        data[: len(sb.data)] = sb.data
    words = _windows(data)
    lengths = sb.lengths
    short = np.flatnonzero((lengths > 0) & (lengths < 8))
    if len(short):  # one word, which may run past the buffer: read it clipped
        size = (8 * lengths[short]).astype(np.uint64)
        mask = np.left_shift(np.uint64(1), size) - np.uint64(1)
        h[short] = (h[short] ^ (_word_at(words, sb.offsets[short]) & mask)) * _WORD_MULT
    rows = np.flatnonzero(lengths >= 8)
    if len(rows) == 0:
        return
    start, end = sb.offsets[rows], sb.offsets[rows + 1]
    n_words = (lengths[rows] + 7) >> 3
    shift = (8 * (8 * n_words - lengths[rows])).astype(np.uint64)
    hr = h[rows]
    for k in range(int(n_words.max())):
        last = n_words == k + 1
        if not last.any():
            w = words[start + 8 * k]
        elif last.all():
            w = words[end - 8] >> shift
        else:
            w = words[np.where(last, end - 8, start + 8 * k)] >> np.where(last, shift,
                                                                          np.uint64(0))
        hr ^= w
        hr *= _WORD_MULT
        if last.any():  # finished strings leave the loop
            h[rows[last]] = hr[last]
            more = ~last
            rows, start, end, n_words, shift, hr = (rows[more], start[more], end[more],
                                                    n_words[more], shift[more], hr[more])
            if len(rows) == 0:
                return


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
    upper = (sb.data >= 65) & (sb.data <= 90)
    data = sb.data | (upper.view(np.uint8) << np.uint8(5))
    runs = sb.digit_runs
    if len(runs.row) == 0:
        return StringBytes(data, sb.offsets, sb.valid)
    first = runs.end - runs.length.astype(np.int64)
    data[first] = 35  # "#"
    # Every digit but the first of its run goes.
    keep = (sb.data < 48) | (sb.data > 57)
    keep[first] = True
    removed = np.bincount(runs.row, weights=runs.length - 1, minlength=sb.n).astype(np.int64)
    offsets = np.zeros(sb.n + 1, dtype=np.int64)
    np.cumsum(sb.lengths - removed, out=offsets[1:])
    return StringBytes(data[keep], offsets, sb.valid)


def edge_key(sb: StringBytes, rows: np.ndarray) -> np.ndarray:
    """A 64-bit key of the strings at ``rows`` from their length and first and last 8 bytes.

    Equal strings get equal keys, so strings whose keys differ differ; strings
    of up to 16 bytes that differ get different keys but for a 64-bit
    collision, longer ones may share a key and need ``hash64`` to tell them
    apart.  Two word reads per string, however long it is.
    """
    length = sb.lengths[rows]
    start = sb.offsets[:-1][rows]
    data = sb.data if len(sb.data) >= 8 else np.zeros(8, np.uint8)
    if len(sb.data) < 8:
        data[: len(sb.data)] = sb.data
    words = _windows(data)
    head = np.minimum(length, 8)
    mask = np.where(head >= 8, _BYTE_MASKS[8],
                    np.left_shift(np.uint64(1), (8 * head).astype(np.uint64)) - np.uint64(1))
    first = _word_at(words, start) & mask
    last = _word_at(words, start + np.maximum(length - 8, 0)) & mask
    # Multiplying spreads low bits upwards, where ``pack`` keeps them.
    return (first * _WORD_MULT) ^ (last * _EDGE_MULT) ^ (length.astype(np.uint64) * _LENGTH_MULT)


_EDGE_MULT = np.uint64(0xC2B2AE3D27D4EB4F)
_LENGTH_MULT = np.uint64(0x165667B19E3779F9)


def _word_at(words: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 8-byte word starting at each byte position ``at``; bytes past the
    end of the buffer read as 0."""
    last = len(words) - 1
    read = np.minimum(at, last)
    return words[read] >> (8 * (at - read)).astype(np.uint64)
