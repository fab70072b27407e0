"""Names, bios, ids: short strings built column-wise in Arrow, never one Python call per row.

Every builder takes per-row keys (``sim.randomness``) and returns an Arrow string
array.  Vocabularies are small, international and made up for this project;
the *structure* of the strings (digit runs, template reuse, random letters)
carries the fingerprints of purchased accounts, never particular words.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.features.kernels.strings import string_bytes
from trueclout.training.sim import randomness as rnd
from trueclout.training.sim.params import (
    CRUDE_USERNAME_DIGITS,
    FSF_USERNAME_DIGITS,
    FSF_USERNAME_PATTERNS,
    HUMAN_USERNAME_DIGIT_WIDTHS,
    HUMAN_USERNAME_DIGITS,
    HUMAN_USERNAME_UPPER,
    INT_USERNAME_DIGITS,
    INT_USERNAME_PATTERNS,
)

FIRST_NAMES = pa.array([
    "anna", "ben", "carla", "david", "elena", "farid", "giulia", "hana", "ivan", "jade",
    "kofi", "lena", "marco", "nadia", "omar", "paula", "quinn", "rosa", "sami", "tara",
    "umar", "vera", "wei", "ximena", "yusuf", "zoe", "aiko", "bruno", "chloe", "diego",
    "emma", "felix", "grace", "hugo", "ines", "jonas", "kira", "luca", "maya", "nils",
    "olga", "pedro", "rania", "sofia", "tomas", "ulla", "viktor", "wanda", "yara", "ziad",
    "amara", "bilal", "celine", "dario", "esra", "femi", "gaspard", "helga", "ilya", "joao",
    "adriana", "alessio", "antonia", "beatrice", "benedikt", "camille", "caroline", "cristina",
    "dominik", "eduardo", "federica", "florian", "francesca", "gabriel", "giovanni", "isabella",
    "jasmine", "johanna", "katarina", "leonardo", "madeleine", "marianne", "matthias",
    "nathalie", "patrick", "rebecca", "roberto", "samuel", "serena", "stefano", "theresa",
    "valentina", "vincent", "yasmine", "zacharias", "fernanda", "augustin", "clemente",
    "dorothea", "kwabena",
])
LAST_NAMES = pa.array([
    "smith", "rossi", "muller", "garcia", "kowalski", "nakamura", "okafor", "silva", "novak",
    "dubois", "jensen", "kim", "haddad", "ivanova", "lopez", "moreau", "nguyen", "olsen",
    "petrov", "quint", "ramos", "schulz", "tanaka", "ueda", "varga", "weber", "yilmaz",
    "zhang", "bianchi", "costa", "das", "evans", "fischer", "greco", "horvat", "ito",
    "jovanovic", "khan", "larsen", "mendes", "nowak", "ortiz", "park", "reyes", "santos",
    "anderson", "bergmann", "castillo", "delacroix", "esposito", "ferreira", "gallagher",
    "hoffmann", "johansson", "kowalczyk", "lindqvist", "marchetti", "nakagawa", "oliveira",
    "pellegrini", "richardson", "schneider", "thompson", "vasquez", "whitfield", "alvarez",
    "brennan", "carvalho", "donovan", "eriksson", "fontaine", "gonzalez", "hartmann",
    "iglesias", "jankowski", "kaminski", "lombardi", "morrison", "nascimento", "okonkwo",
    "petersen", "quintero", "rodriguez", "sullivan", "villanueva",
])
WORDS = pa.array([
    "maps", "coffee", "cycling", "jazz", "code", "design", "garden", "books", "film", "travel",
    "photo", "chess", "surf", "vegan", "yoga", "data", "beats", "pixel", "craft", "hiking",
    "robots", "science", "tea", "vinyl", "poetry", "football", "climbing", "sketch", "bread",
    "birds", "stars", "ocean", "retro", "comics", "running", "sailing", "lego", "ramen", "opera",
])
ROLES = pa.array([
    "teacher", "nurse", "engineer", "student", "designer", "writer", "chef", "developer",
    "researcher", "photographer", "musician", "journalist", "architect", "lawyer", "farmer",
    "founder", "editor", "coach", "illustrator", "pharmacist", "analyst", "librarian",
])
CITIES = pa.array([
    "Lisbon", "Nairobi", "Osaka", "Lyon", "Austin", "Krakow", "Bogota", "Manila", "Turin",
    "Leeds", "Accra", "Porto", "Seoul", "Hamburg", "Izmir", "Quito", "Perth", "Ghent",
    "Bergen", "Cairo", "Pune", "Monterrey", "Tbilisi", "Halifax", "Valencia", "Cork",
])
COUNTRIES = pa.array([
    "Portugal", "Kenya", "Japan", "France", "United States", "Poland", "Colombia",
    "Philippines", "Italy", "United Kingdom", "Ghana", "South Korea", "Germany", "Turkey",
    "Ecuador", "Australia", "Belgium", "Norway", "Egypt", "India", "Mexico", "Canada",
])
DOMAINS = pa.array(["blog", "studio", "portfolio", "notes", "works", "journal", "lab", "site"])
TLDS = pa.array([".com", ".net", ".io", ".org", ".me", ".dev", ".art"])
SEPARATORS = pa.array(["", "_", ""])
# Template bios of look-alike ("premium") fakes: plausible, but a few hundred
# variants shared by a whole stock, so identical bios recur across followers.
FAKE_BIO_HEADS = pa.array(["Living my best life", "Dream big", "Just vibes", "Blessed",
                           "Good energy only", "Follow your heart"])
FAKE_BIO_MIDS = pa.array([" | ", " * ", " ~ ", " - "])
FAKE_BIO_TAILS = pa.array(["music lover", "travel addict", "fitness", "foodie", "fashion",
                           "nature", "coffee first"])

_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_B64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


def pick(vocab: pa.Array, k: np.ndarray, stream: str) -> pa.Array:
    return vocab.take(pa.array(rnd.integers(k, stream, len(vocab))))


def join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def number_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def digits(k: np.ndarray, stream: str, width: np.ndarray | int) -> pa.Array:
    """Random numbers with exactly ``width`` digits (1-9 per element)."""
    width = np.broadcast_to(np.asarray(width, dtype=np.int64), np.shape(k))
    low = 10 ** (width - 1)
    return number_text(low + (rnd.uniform(k, stream) * (9 * low)).astype(np.int64))


def letters(k: np.ndarray, stream: str, lengths: np.ndarray | int) -> pa.Array:
    """Random lowercase strings of the given lengths (generated usernames)."""
    lengths = np.broadcast_to(np.asarray(lengths, dtype=np.int64), np.shape(k)).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    row = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(offsets[-1]) - offsets[:-1][row]
    picked = rnd.integers(rnd.key(k[row], pos), stream, len(_LETTERS))
    data = _LETTERS[picked]
    return pa.Array.from_buffers(pa.string(), len(lengths),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data.tobytes())])


def where(mask: np.ndarray, yes: pa.Array | str | None, no: pa.Array | str | None) -> pa.Array:
    """Element-wise choice between two string arrays (or scalars; None is null)."""
    mask_arr = pa.array(np.asarray(mask, dtype=bool))
    return pc.if_else(mask_arr, _as_str(yes), _as_str(no))


def _as_str(v: pa.Array | str | None) -> pa.Array | pa.Scalar:
    return v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.scalar(v, pa.string())


Option = Callable[[np.ndarray], pa.Array] | pa.Array | str | None


def choose(k: np.ndarray, stream: str, weights: list[float], options: list[Option]) -> pa.Array:
    """Per row, one of several string patterns, drawn with the given weights.

    An option is a builder called with the keys of the rows that drew it (so
    each pattern is built only where used), a full-length array, or a constant
    (None is null).
    """
    which = rnd.choice(k, stream, weights)
    return scatter(which, lambda i, rows: _build(options[i], k, rows))


def _build(option: Option, k: np.ndarray, rows: np.ndarray) -> pa.Array:
    if callable(option):
        return option(k[rows]).cast(pa.string())
    if isinstance(option, pa.Array | pa.ChunkedArray):
        return option.take(pa.array(rows)).cast(pa.string())
    return pa.array([option] * len(rows), pa.string())


def scatter(group: np.ndarray, build: Callable[[int, np.ndarray], pa.Array]) -> pa.Array:
    """Build a string column one group of rows at a time, then put rows back in order."""
    group = np.asarray(group)
    if len(group) == 0:
        return pa.array([], pa.string())
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.unique(group))
    ends = np.append(bounds[1:], len(order))
    parts = [build(int(group[order[b]]), order[b:e]) for b, e in zip(bounds, ends, strict=True)]
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def numeric_ids(h: np.ndarray, width: int = 19) -> pa.Array:
    """Platform-style numeric ids: decimal strings of exactly ``width`` digits."""
    low = 10 ** (width - 1)
    span = np.uint64(min(9 * low, 2**63 - 1 - low))  # 19 digits must still fit int64
    return number_text((np.asarray(h, dtype=np.uint64) % span).astype(np.int64) + low)


def channel_ids(h: np.ndarray) -> pa.Array:
    """YouTube-style channel ids: ``UC`` and 22 url-safe base64 characters."""
    h2 = rnd.mix64(h ^ rnd.tag("channel-id"))
    n = len(h)
    chars = np.empty((n, 24), dtype=np.uint8)
    chars[:, 0], chars[:, 1] = ord("U"), ord("C")
    for j in range(22):  # 22 characters from 128 bits: a loop over positions, not rows
        word, shift = (h, 6 * j) if j < 10 else (h2, 6 * (j - 10))
        chars[:, 2 + j] = _B64[((word >> np.uint64(shift % 64)) & np.uint64(63)).astype(np.int64)]
    offsets = (np.arange(n + 1, dtype=np.int32) * 24)
    return pa.Array.from_buffers(pa.string(), n,
                                 [None, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())])


def person_ids(h: np.ndarray, platform: np.ndarray) -> pa.Array:
    """Ids that look the same for every kind of account on a platform (no label in an id)."""
    from trueclout.training.sim.params import INSTAGRAM, YOUTUBE

    h = np.asarray(h, dtype=np.uint64)

    def build(p: int, rows: np.ndarray) -> pa.Array:
        if p == YOUTUBE:
            return channel_ids(h[rows])
        return numeric_ids(h[rows], 17 if p == INSTAGRAM else 19)

    return scatter(np.asarray(platform), build)


def _first(k: np.ndarray) -> pa.Array:
    return pick(FIRST_NAMES, k, "u-first")


def _last(k: np.ndarray) -> pa.Array:
    return pick(LAST_NAMES, k, "u-last")


def _word(k: np.ndarray, stream: str = "u-word") -> pa.Array:
    return pick(WORDS, k, stream)


def _sep(k: np.ndarray) -> pa.Array:
    return pick(SEPARATORS, k, "u-sep")


def _upper(k: np.ndarray, name: pa.Array, p: float = HUMAN_USERNAME_UPPER) -> pa.Array:
    """The name capitalised for a share ``p`` of people (the same people for every part)."""
    return where(rnd.chance(k, "u-upper", p), pc.utf8_capitalize(name), name)


def human_username(k: np.ndarray) -> pa.Array:
    """How people name themselves: names and words, capitalised or not, sometimes a number.

    Fitted to cresci-2015's humans (E13): the share with a capital letter and
    the share and width of trailing numbers are measured; the pattern weights
    were chosen among a few candidates for the smallest worst KS distance of
    length, entropy, digit share and digit run (Twitter cuts names at 15).
    """
    def first(k: np.ndarray) -> pa.Array:
        return _upper(k, _first(k))

    def last(k: np.ndarray) -> pa.Array:
        return _upper(k, _last(k))

    def word(k: np.ndarray, stream: str = "u-word") -> pa.Array:
        return _upper(k, _word(k, stream))

    name = choose(k, "u-pattern", [0.15, 0.2, 0.25, 0.2, 0.05, 0.1, 0.05], [
        lambda k: join(first(k), _sep(k), last(k)),
        lambda k: join(first(k), _sep(k), word(k)),
        lambda k: join(pc.utf8_slice_codeunits(first(k), 0, 1), last(k)),
        lambda k: join(word(k), _sep(k), first(k)),
        lambda k: join(word(k), _sep(k), word(k, "u-word2"), "s"),
        first,
        last,
    ])
    width = 1 + rnd.choice(k, "u-digits-width", HUMAN_USERNAME_DIGIT_WIDTHS)
    return where(rnd.chance(k, "u-digits", HUMAN_USERNAME_DIGITS),
                 join(name, digits(k, "u-number", width)), name)


def generated_username(k: np.ndarray) -> pa.Array:
    """What account factories generate: names or random letters, then a run of digits.

    The number of digits follows InstaFake's fakes (``CRUDE_USERNAME_DIGITS``:
    45% none, the rest one to eight).
    """
    base = choose(k, "g-pattern", [0.5, 0.3, 0.2], [
        lambda k: join(_first(k), _last(k)),
        lambda k: letters(k, "g-letters", 5 + rnd.integers(k, "g-len", 6)),
        lambda k: join(_first(k), "_", _word(k)),
    ])
    width = rnd.choice(k, "g-run", CRUDE_USERNAME_DIGITS)
    width = np.where(width == 5, 5 + rnd.integers(k, "g-long", 4), width)
    return where(width > 0, join(base, digits(k, "g-digits", np.maximum(width, 1))), base)


def int_username(k: np.ndarray) -> pa.Array:
    """The INT market's screen names (Cresci et al. 2015): a name and a few random letters.

    First + 2-5 letters, last + 2-5 letters, first + last + 0-5 letters, or
    last + 3 letters + first (``INT_USERNAME_PATTERNS``), in lower case; a few
    end in a number (85% of them one digit, else two).
    """
    def tail(k: np.ndarray, low: int, high: int) -> pa.Array:
        return letters(k, "i-tail", low + rnd.integers(k, "i-tail-len", high - low + 1))

    name = choose(k, "i-pattern", list(INT_USERNAME_PATTERNS), [
        lambda k: join(_first(k), tail(k, 2, 5)),
        lambda k: join(_last(k), tail(k, 2, 5)),
        lambda k: join(_first(k), _last(k), tail(k, 0, 5)),
        lambda k: join(_last(k), tail(k, 3, 3), _first(k)),
    ])
    return where(rnd.chance(k, "i-digits", INT_USERNAME_DIGITS),
                 join(name, digits(k, "i-digit-run", 1 + rnd.chance(k, "i-run", 0.15))), name)


def fsf_username(k: np.ndarray) -> pa.Array:
    """The FSF market's screen names (Cresci et al. 2015), capitalised.

    Last + 3 letters + First, First + Last (two in three with a number: 77% one
    digit, else two),
    First + letters, or First + initial + 8 digits (``FSF_USERNAME_PATTERNS``);
    Twitter cuts them at 15 characters.
    """
    first = pc.utf8_capitalize(_first(k))
    last = pc.utf8_capitalize(_last(k))
    rows = np.arange(len(k))

    def at(a: pa.Array, rows: np.ndarray) -> pa.Array:
        return a.take(pa.array(rows))

    def numbered(k: np.ndarray, rows: np.ndarray) -> pa.Array:
        name = join(at(first, rows), at(last, rows))
        return where(rnd.chance(k, "s-digits", FSF_USERNAME_DIGITS),
                     join(name, digits(k, "s-digit-run", 1 + rnd.chance(k, "s-run", 0.23))), name)

    which = rnd.choice(k, "s-pattern", list(FSF_USERNAME_PATTERNS))
    options = [
        lambda k, r: join(at(last, r), letters(k, "s-mid", 3), at(first, r)),
        numbered,
        lambda k, r: join(at(first, r), letters(k, "s-tail", 3 + rnd.integers(k, "s-len", 6))),
        lambda k, r: join(at(first, r), pc.utf8_upper(pc.utf8_slice_codeunits(at(last, r), 0, 1)),
                          digits(k, "s-suggested", 8)),
    ]
    return scatter(which, lambda i, r: options[i](k[r], rows[r]))


def shorten(values: pa.Array, limit: np.ndarray | int) -> pa.Array:
    """Each string cut to at most ``limit`` characters (per row or for all); ASCII text."""
    sb = string_bytes(values)
    keep = np.minimum(sb.lengths, np.broadcast_to(np.asarray(limit, np.int64), (sb.n,)))
    return _gather(sb.data, sb.offsets[:-1], keep, sb.valid)


def _gather(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
            valid: np.ndarray | None = None) -> pa.Array:
    """The strings ``data[start:start + length]`` of each row, as one Arrow array."""
    lengths = np.asarray(lengths, np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    # int32 positions (Arrow's own offset width) keep the index small.
    index = np.repeat((np.asarray(starts, np.int64) - offsets[:-1]).astype(np.int32), lengths)
    index += np.arange(offsets[-1], dtype=np.int32)
    mask = None if valid is None or valid.all() else pa.py_buffer(
        np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), len(lengths),
                                 [mask, pa.py_buffer(offsets.astype(np.int32)),
                                  pa.py_buffer(np.ascontiguousarray(data[index]).tobytes())])


def full_name(k: np.ndarray) -> pa.Array:
    return join(pc.utf8_capitalize(pick(FIRST_NAMES, k, "d-first")), " ",
                pc.utf8_capitalize(pick(LAST_NAMES, k, "d-last")))


def display_name(k: np.ndarray, username: pa.Array,
                 weights: tuple[float, ...] = (0.6, 0.2, 0.12, 0.08)) -> pa.Array:
    """A full name, a first name, the username or none (null), with these weights."""
    return choose(k, "d-pattern", list(weights), [
        full_name, lambda k: pc.utf8_capitalize(pick(FIRST_NAMES, k, "d-first")), username, None,
    ])


def human_bio(k: np.ndarray) -> pa.Array:
    def role(k: np.ndarray) -> pa.Array:
        return pick(ROLES, k, "b-role")

    def cap(a: pa.Array) -> pa.Array:
        return pc.utf8_capitalize(a)

    def w1(k: np.ndarray) -> pa.Array:
        return pick(WORDS, k, "b-w1")

    def w2(k: np.ndarray) -> pa.Array:
        return pick(WORDS, k, "b-w2")

    def city(k: np.ndarray) -> pa.Array:
        return pick(CITIES, k, "b-city")

    return choose(k, "b-pattern", [0.25, 0.2, 0.2, 0.15, 0.2], [
        lambda k: join(cap(role(k)), " in ", city(k), ". ", cap(w1(k)), ", ", w2(k), "."),
        lambda k: join(cap(w1(k)), " & ", w2(k), " | ", role(k)),
        lambda k: join("I write about ", w1(k), " and ", w2(k), ". Views my own."),
        lambda k: join(cap(role(k)), " since ", number_text(1995 + rnd.integers(k, "b-since", 30)),
                       " - ", w1(k), " nerd"),
        lambda k: join(city(k), " / ", w1(k), " / ", w2(k), " / ", role(k)),
    ])


@cache
def _filler() -> tuple[np.ndarray, np.ndarray]:
    """A fixed stretch of words (built once) that bios are cut from, and where its words start."""
    vocab = np.array(WORDS.to_pylist() + ROLES.to_pylist() + CITIES.to_pylist(), dtype=object)
    picks = rnd.integers(rnd.key(0, "bio-filler", np.arange(_FILLER_WORDS)), "word", len(vocab))
    marks = np.where(rnd.chance(np.arange(_FILLER_WORDS, dtype=np.uint64), "bio-mark", 0.15),
                     ". ", " ")
    text = "".join(w + m for w, m in zip(vocab[picks], marks, strict=True))
    data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    starts = np.flatnonzero(data[:-1] == ord(" ")) + 1
    return data, starts[data[starts] != ord(" ")]


_FILLER_WORDS = 20_000
_LONGEST_BIO = 1_000


def sized_bio(k: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Bios of exactly the given lengths: a personal sentence, continued with more words.

    Only the length and the emptiness of a bio are measured; its words come
    from the project's own small vocabularies, and two people share a bio
    only if they share a key.
    """
    lengths = np.asarray(lengths, np.int64)
    if lengths.max(initial=0) > _LONGEST_BIO:
        raise ValueError(f"bios are at most {_LONGEST_BIO} characters")
    pool, words = _filler()
    # A fixed set of starts (never one that depends on the batch), so a bio is a
    # function of its key alone.
    usable = words[words < len(pool) - _LONGEST_BIO - 1]
    filler = _gather(pool, usable[rnd.integers(k, "b-filler", len(usable))], lengths)
    return shorten(join(human_bio(k), " ", filler), lengths)


def premium_bio(k: np.ndarray) -> pa.Array:
    return join(pick(FAKE_BIO_HEADS, k, "pb-head"), pick(FAKE_BIO_MIDS, k, "pb-mid"),
                pick(FAKE_BIO_TAILS, k, "pb-tail"))


def url(k: np.ndarray, username: pa.Array) -> pa.Array:
    return join("https://", username, pick(DOMAINS, k, "url-domain"), pick(TLDS, k, "url-tld"))
