"""Names, bios, ids: short strings built column-wise in Arrow, never one Python call per row.

Every builder takes per-row keys (``sim_random``) and returns an Arrow string
array.  Vocabularies are small, international and made up for this project;
the *structure* of the strings (digit runs, template reuse, random letters)
carries the fingerprints of purchased accounts, never particular words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.training import sim_random as rnd

FIRST_NAMES = pa.array([
    "anna", "ben", "carla", "david", "elena", "farid", "giulia", "hana", "ivan", "jade",
    "kofi", "lena", "marco", "nadia", "omar", "paula", "quinn", "rosa", "sami", "tara",
    "umar", "vera", "wei", "ximena", "yusuf", "zoe", "aiko", "bruno", "chloe", "diego",
    "emma", "felix", "grace", "hugo", "ines", "jonas", "kira", "luca", "maya", "nils",
    "olga", "pedro", "rania", "sofia", "tomas", "ulla", "viktor", "wanda", "yara", "ziad",
    "amara", "bilal", "celine", "dario", "esra", "femi", "gaspard", "helga", "ilya", "joao",
])
LAST_NAMES = pa.array([
    "smith", "rossi", "muller", "garcia", "kowalski", "nakamura", "okafor", "silva", "novak",
    "dubois", "jensen", "kim", "haddad", "ivanova", "lopez", "moreau", "nguyen", "olsen",
    "petrov", "quint", "ramos", "schulz", "tanaka", "ueda", "varga", "weber", "yilmaz",
    "zhang", "bianchi", "costa", "das", "evans", "fischer", "greco", "horvat", "ito",
    "jovanovic", "khan", "larsen", "mendes", "nowak", "ortiz", "park", "reyes", "santos",
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
# The few bios and places a follower farm cycles through (Cresci et al. 2015:
# farm accounts fill bio and location, from a narrow repertoire).
FARM_BIOS = pa.array(["Hello world", "Love life", "Music is my life", "Just me",
                      "Smile", "Live laugh love"])
FARM_PLACES = pa.array(["New York", "London", "Los Angeles", "Paris", "Roma"])

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
    from trueclout.training.sim_params import INSTAGRAM, YOUTUBE

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


def human_username(k: np.ndarray) -> pa.Array:
    """How people name themselves: names and words, sometimes a short number or a year."""
    return choose(k, "u-pattern", [0.25, 0.2, 0.15, 0.12, 0.1, 0.1, 0.08], [
        lambda k: join(_first(k), _sep(k), _last(k)),
        lambda k: join(_first(k), _sep(k), _word(k)),
        lambda k: join(pc.utf8_slice_codeunits(_first(k), 0, 1), _last(k)),
        lambda k: join(_word(k), _sep(k), _first(k)),
        lambda k: join(_first(k), _last(k), number_text(rnd.integers(k, "u-short", 99) + 1)),
        lambda k: join(_first(k), _sep(k), _last(k),
                       number_text(1965 + rnd.integers(k, "u-year", 45))),
        lambda k: join(_word(k), _sep(k), _word(k, "u-word2"), "s"),
    ])


def generated_username(k: np.ndarray) -> pa.Array:
    """What account factories generate: long digit runs and random letters."""
    return choose(k, "g-pattern", [0.45, 0.3, 0.25], [
        lambda k: join(_first(k), _last(k), digits(k, "g-digits", 4 + rnd.integers(k, "g-run", 5))),
        lambda k: join(letters(k, "g-letters", 6 + rnd.integers(k, "g-len", 6)),
                       digits(k, "g-digits2", 2 + rnd.integers(k, "g-run2", 3))),
        lambda k: join(_first(k), "_", digits(k, "g-digits3", 6 + rnd.integers(k, "g-run3", 3))),
    ])


def farm_username(k: np.ndarray) -> pa.Array:
    """Follower-farm names: plausible name pairs, few digits (Cresci et al. 2015, INT/FSF)."""
    return choose(k, "f-pattern", [0.5, 0.3, 0.2], [
        lambda k: join(_first(k), _last(k)),
        lambda k: join(_first(k), "_", _last(k), _word(k)),
        lambda k: join(_last(k), _first(k), digits(k, "f-digits", 2)),
    ])


def full_name(k: np.ndarray) -> pa.Array:
    return join(pc.utf8_capitalize(pick(FIRST_NAMES, k, "d-first")), " ",
                pc.utf8_capitalize(pick(LAST_NAMES, k, "d-last")))


def display_name(k: np.ndarray, username: pa.Array) -> pa.Array:
    return choose(k, "d-pattern", [0.6, 0.2, 0.12, 0.08], [
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


def premium_bio(k: np.ndarray) -> pa.Array:
    return join(pick(FAKE_BIO_HEADS, k, "pb-head"), pick(FAKE_BIO_MIDS, k, "pb-mid"),
                pick(FAKE_BIO_TAILS, k, "pb-tail"))


def url(k: np.ndarray, username: pa.Array) -> pa.Array:
    return join("https://", username, pick(DOMAINS, k, "url-domain"), pick(TLDS, k, "url-tld"))
