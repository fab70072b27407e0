"""Labelled follower profiles from the formats people have: one table shape for all of them.

Three layouts are read, each from a folder:

- ``cresci``: ``humans_*.csv`` / ``fakes_*.csv`` (the Twitter v1.1 user export of
  the "Fame for sale" data set); the part of the name after the underscore is
  the group (``E13``, ``INT``, ``FSF``).
- ``instafake``: ``realAccountData.json`` / ``fakeAccountData.json`` (derived
  numbers only: lengths and digit counts, not the strings).
- ``tables``: a TrueClout table folder with ``followers.parquet`` and
  ``follower_labels.parquet`` (``account_id, position, follower_id, is_fake,
  market``), as the synthetic world writes it.

Every adapter returns ``LabelledFollowers``: the contract's follower-profile
columns plus ``observed_at``, ``is_fake``, ``group`` (the bare group name),
``dataset`` (the data set's folder name) and ``platform`` (``twitter`` for
cresci, ``instagram`` for instafake, ``synthetic`` for tables).  A data set's
group is known everywhere by its unit, ``dataset/group``: the thing evaluation
holds out, unique across data sets.

``read_labelled`` reads many data sets at once: each path is a data-set folder
or a root whose immediate subfolders are data-set folders (subfolders in no
known layout, like unlabelled timelines, are skipped and listed).  Two paths
that give the same data-set name are refused, since one data set on both
sides of a split would leak.  What a source does not
have stays null and becomes NaN signals, never a guess: InstaFake has no
strings, no dates and no likes; cresci-2015 has no follow times.  Ages are
measured at the source's own observation time (the crawl), never today.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.errors import UserError
from trueclout.features.families.follower_signals import (
    FOLLOWER_MEASUREMENTS,
    measure_followers,
    signals_from_measurements,
)
from trueclout.models.follower_model import FollowerModel
from trueclout.tables import SCHEMAS, TS

FORMATS: tuple[str, ...] = ("cresci", "instafake", "tables")
# The platform every row of a layout comes from.
PLATFORMS: dict[str, str] = {"cresci": "twitter", "instafake": "instagram", "tables": "synthetic"}

_PROFILE_COLUMNS = [f for f in SCHEMAS["followers"] if f.name not in ("account_id", "position")]

# The follower-profile table every adapter produces.  Unlike the contract every
# profile column may be null here: a research source may simply not have it.
LABELLED_SCHEMA = pa.schema(
    [pa.field(f.name, f.type, nullable=True) for f in _PROFILE_COLUMNS]
    + [
        pa.field("observed_at", TS, nullable=True),
        pa.field("is_fake", pa.int8(), nullable=False),
        pa.field("group", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
    ]
)


DATASETS_ENV = "TRUECLOUT_DATASETS"


def default_datasets_dir() -> Path:
    """Where the labelled research data sets live: ``$TRUECLOUT_DATASETS``, else
    ``../shared/datasets`` beside the repository (read by path, never copied in)."""
    import os

    from trueclout.models.artifact import SHIPPED_DIR

    given = os.environ.get(DATASETS_ENV)
    return Path(given) if given else SHIPPED_DIR.parents[2] / "shared" / "datasets"


def files_digest(data: LabelledFollowers) -> str:
    """sha256 over the names and bytes of every file the data came from, in a fixed order:
    the same digest means the same training data, without keeping a copy."""
    import hashlib

    digest = hashlib.sha256()
    for folder in sorted(data.folders.read):
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            digest.update(f"{folder.name}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class FollowerDataError(UserError):
    """A labelled follower folder or file that cannot be read; says which file, field and why."""


@dataclass(frozen=True)
class DataFolders:
    """Which folders a read took data sets from and which it skipped (in no known layout)."""

    read: tuple[Path, ...] = ()
    skipped: tuple[Path, ...] = ()

    def __add__(self, other: DataFolders) -> DataFolders:
        return DataFolders(self.read + other.read, self.skipped + other.skipped)


@dataclass(frozen=True)
class LabelledFollowers:
    """Follower profiles with a 0/1 label and the data set and group each came from.

    ``derived`` holds measurements a source gives directly instead of the raw
    field (InstaFake's username length instead of the username); they take
    precedence over what ``measure_followers`` would compute from the table.
    ``folders`` says where the rows were read from, so a command can say what
    it skipped; a subset keeps it.
    """

    profiles: pa.Table
    source: str
    derived: Mapping[str, np.ndarray] = field(default_factory=dict)
    folders: DataFolders = field(default_factory=DataFolders)

    def __len__(self) -> int:
        return self.profiles.num_rows

    @property
    def labels(self) -> np.ndarray:
        return self.profiles.column("is_fake").to_numpy(zero_copy_only=False).astype(np.int8)

    @property
    def groups(self) -> np.ndarray:
        """The bare group name per row (``E13``, ``real``, a market): not unique across sets."""
        return self._strings("group")

    @property
    def datasets(self) -> np.ndarray:
        return self._strings("dataset")

    @property
    def platforms(self) -> np.ndarray:
        return self._strings("platform")

    @property
    def units(self) -> np.ndarray:
        """``dataset/group`` per row: a group named once across data sets (what is held out)."""
        joined = pc.binary_join_element_wise(
            self.profiles.column("dataset"), self.profiles.column("group"), "/")
        return joined.to_numpy(zero_copy_only=False).astype(object)

    def _strings(self, name: str) -> np.ndarray:
        return self.profiles.column(name).to_numpy(zero_copy_only=False).astype(object)

    @property
    def observed_at(self) -> np.ndarray:
        """Observation time per profile, seconds since the epoch (NaN where unknown)."""
        col = self.profiles.column("observed_at")
        micros = pc.cast(col, pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(micros, dtype=np.float64) / 1e6

    def seconds(self, name: str) -> np.ndarray:
        """A timestamp column in seconds since the epoch (NaN where unknown)."""
        from trueclout.features.kernels.columns import to_seconds

        return to_seconds(self.profiles.column(name))

    def measurements(self) -> dict[str, np.ndarray]:
        """Measured from the table, with a source's derived numbers taking their place.

        A derived number replaces the measurement only where it is known: in a
        set of several data sets, a Twitter row has no InstaFake username
        length but has a username to measure.
        """
        measured = measure_followers(self.profiles, self.observed_at)
        for name, values in self.derived.items():
            given = np.asarray(values, np.float64)
            if name in measured:
                given = np.where(np.isnan(given), measured[name], given)
            measured[name] = given
        return measured

    def signals(self) -> np.ndarray:
        """The ``FOLLOWER_SIGNALS`` matrix of these profiles (NaN where the source lacks data)."""
        return signals_from_measurements(self.measurements())

    def lacks(self) -> list[str]:
        """Measurements this source cannot give for any profile (all unknown)."""
        m = self.measurements()
        return [name for name in FOLLOWER_MEASUREMENTS if np.isnan(m[name]).all()]

    def class_counts(self) -> dict[str, int]:
        y = self.labels
        return {"n_fake": int((y == 1).sum()), "n_human": int((y == 0).sum())}

    def take(self, rows: np.ndarray) -> LabelledFollowers:
        """The profiles at these row positions (or where a boolean mask holds)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return LabelledFollowers(
            self.profiles.take(pa.array(rows, pa.int64())),
            self.source,
            {k: np.asarray(v)[rows] for k, v in self.derived.items()},
            self.folders,
        )

    def select(
        self,
        *,
        platforms: Collection[str] | None = None,
        datasets: Collection[str] | None = None,
        groups: Collection[str] | None = None,
    ) -> LabelledFollowers:
        """The rows whose platform, data set and group are all among those given (None: any).

        ``groups`` matches a bare group (``E13``) or a unit (``cresci-2015/E13``).
        Refuses a selection that keeps nothing, naming what was asked and what exists.
        """
        keep = np.ones(len(self), dtype=bool)
        asked: list[str] = []
        for name, wanted, values in (
            ("platform", platforms, (self.platforms,)),
            ("dataset", datasets, (self.datasets,)),
            ("group", groups, (self.groups, self.units)),
        ):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else sorted(set(map(str, wanted)))
            asked.append(f"{name} in {wanted}")
            keep &= np.logical_or.reduce([np.isin(v.astype(str), wanted) for v in values])
        if not keep.any():
            raise FollowerDataError(
                f"no follower profiles with {' and '.join(asked) or 'anything'}; the data has "
                f"platforms {sorted(set(self.platforms))}, data sets {sorted(set(self.datasets))}"
                f" and groups {sorted(set(self.units))}")
        return self.take(keep)


def who_follow(data: LabelledFollowers) -> LabelledFollowers:
    """The profiles that could be in a follower sample: those that follow someone.

    A bot that follows nobody (80% of one porn-spam family, a third of the
    stock bots) never appears among any account's followers, so it teaches
    the follower model nothing about audiences, and its look (follows none,
    followed by some) would teach it backwards.  Profiles whose following
    count is unknown stay.
    """
    from trueclout.features.kernels.columns import to_float

    following = to_float(data.profiles.column("following_count"))
    return data.take(~(following < 1))


def concat_followers(parts: Sequence[LabelledFollowers]) -> LabelledFollowers:
    """One set from several (derived measurements become NaN where a part lacks them)."""
    if not parts:
        return LabelledFollowers(LABELLED_SCHEMA.empty_table(), "empty")
    names = sorted({k for p in parts for k in p.derived})
    derived = {
        k: np.concatenate([np.asarray(p.derived.get(k, np.full(len(p), np.nan))) for p in parts])
        for k in names
    }
    source = "+".join(dict.fromkeys(p.source for p in parts))
    folders = DataFolders()
    for p in parts:
        folders += p.folders
    return LabelledFollowers(
        pa.concat_tables([p.profiles for p in parts]).combine_chunks(), source, derived,
        DataFolders(tuple(dict.fromkeys(folders.read)), tuple(dict.fromkeys(folders.skipped))),
    )


_EXPECTED_FILES = (
    "humans_*.csv / fakes_*.csv (cresci), realAccountData.json / fakeAccountData.json "
    "(instafake), or followers.parquet with follower_labels.parquet (tables)"
)


def follower_layouts(folder: Path) -> list[str]:
    """Every layout whose files a folder holds, in ``FORMATS`` order (empty: none)."""
    folder = Path(folder)
    found = []
    if any(folder.glob("humans_*.csv")) or any(folder.glob("fakes_*.csv")):
        found.append("cresci")
    if (folder / "realAccountData.json").exists() or (folder / "fakeAccountData.json").exists():
        found.append("instafake")
    if (folder / "follower_labels.parquet").exists():
        found.append("tables")
    return found


def detect_follower_format(folder: Path) -> str:
    """Which layout a folder holds, from its file names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FollowerDataError(f"{folder}: not a folder of labelled followers")
    layouts = follower_layouts(folder)
    if not layouts:
        raise FollowerDataError(f"{folder}: no labelled followers found; expected "
                                f"{_EXPECTED_FILES}")
    return layouts[0]


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise FollowerDataError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def read_followers(folder: Path, fmt: str | None = None) -> LabelledFollowers:
    """Labelled followers from one data-set folder (layout detected when ``fmt`` is None).

    The folder's name becomes the data set's name.
    """
    folder = Path(folder)
    _check_format(fmt)
    fmt = fmt or detect_follower_format(folder)
    readers = {"cresci": read_cresci, "instafake": read_instafake, "tables": read_tables}
    data = readers[fmt](folder)
    if len(data) == 0:
        raise FollowerDataError(f"{folder}: holds no follower profiles")
    return LabelledFollowers(data.profiles, data.source, data.derived, DataFolders((folder,)))


def read_labelled(paths: Sequence[Path], fmt: str | None = None) -> LabelledFollowers:
    """Labelled followers from data-set folders and roots of them, one table for all.

    A path in a known layout (``fmt``'s, when given) is one data set; any other
    folder is a root whose immediate subfolders in that layout are data sets
    and whose other subfolders are skipped (listed in ``folders.skipped``).
    Rows come sorted by data-set name, each set in its adapter's order.
    Refused: a path that does not exist, a root with no data set in it, and
    two folders of the same name (one data set would sit on both sides of a
    split).
    """
    _check_format(fmt)
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise FollowerDataError("no data given; name a data-set folder or a root of them")

    def is_dataset(folder: Path) -> bool:
        layouts = follower_layouts(folder)
        return fmt in layouts if fmt is not None else bool(layouts)

    found: dict[str, Path] = {}
    skipped: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FollowerDataError(f"{path}: no such folder")
        if not path.is_dir():
            raise FollowerDataError(f"{path}: not a folder of labelled followers (a file)")
        if is_dataset(path):
            members = [path]
        else:
            subfolders = sorted(p for p in path.iterdir()
                                if p.is_dir() and not p.name.startswith("."))
            members = [p for p in subfolders if is_dataset(p)]
            skipped += [p for p in subfolders if p not in members]
            if not members:
                layout = f"the {fmt} layout" if fmt else "a known layout"
                raise FollowerDataError(
                    f"{path}: holds no labelled data set (neither it nor a subfolder is in "
                    f"{layout}); expected {_EXPECTED_FILES}")
        for folder in members:
            name = _dataset_name(folder)
            if name in found:
                raise FollowerDataError(
                    f"{folder}: data set {name!r} is already read from {found[name]}; "
                    "name each data set once (it would leak into both sides of a split)")
            found[name] = folder
    parts = [read_followers(found[name], fmt) for name in sorted(found)]
    data = concat_followers(parts)
    return LabelledFollowers(data.profiles, data.source, data.derived,
                             DataFolders(tuple(found[name] for name in sorted(found)),
                                         tuple(skipped)))


def _dataset_name(folder: Path) -> str:
    """A data set is known by its folder's name (``.`` resolved to the real one)."""
    return Path(folder).resolve().name


# --- cresci-2015 (Twitter v1.1 user export) -------------------------------------------

# Contract column -> column of the Twitter export.  lang, time_zone, geo_enabled and the
# profile theme are not in the contract, so the model never sees them.
CRESCI_COLUMNS: dict[str, str] = {
    "follower_id": "id",
    "username": "screen_name",
    "display_name": "name",
    "created_at": "created_at",
    "followers_count": "followers_count",
    "following_count": "friends_count",
    "posts_count": "statuses_count",
    "listed_count": "listed_count",
    "likes_count": "favourites_count",
    "verified": "verified",
    "default_avatar": "default_profile_image",
    "bio": "description",
    "url": "url",
    "location": "location",
}
CRESCI_OBSERVED = "updated"  # the crawl time: ages are measured then
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_NULL_TOKENS = ("NULL", "null", "None", "NaN", "nan")
_TRUE_TOKENS = ("1", "1.0", "true", "True", "TRUE")
_FALSE_TOKENS = ("", "0", "0.0", "false", "False", "FALSE")


def read_cresci(folder: Path) -> LabelledFollowers:
    """``humans_*.csv`` (label 0) and ``fakes_*.csv`` (label 1), any subset, in name order."""
    folder = Path(folder)
    files = [(f, 0) for f in sorted(folder.glob("humans_*.csv"))]
    files += [(f, 1) for f in sorted(folder.glob("fakes_*.csv"))]
    if not files:
        raise FollowerDataError(f"{folder}: no humans_*.csv or fakes_*.csv files")
    return concat_followers([_read_cresci_file(f, label) for f, label in files])


def _read_cresci_file(path: Path, label: int) -> LabelledFollowers:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FollowerDataError(f"{path}: not a readable CSV file ({exc})") from exc
    group = path.stem.split("_", 1)[1] or path.stem
    n = len(frame)

    def column(name: str):
        if name not in frame.columns:
            return pd.Series([""] * n, dtype=object)
        return frame[name].astype(object)

    def where(problem, name: str, what: str) -> FollowerDataError:
        i = int(np.flatnonzero(problem.to_numpy())[0])
        value = column(name).iloc[i]
        return FollowerDataError(
            f"{path.name}, record {i + 1}: column {name!r}: {value!r} is not {what}"
        )

    arrays: dict[str, pa.Array] = {}
    for target, source in CRESCI_COLUMNS.items():
        raw = column(source)
        missing = raw.isin(_NULL_TOKENS)
        typ = LABELLED_SCHEMA.field(target).type
        if target == "created_at":
            arrays[target] = _parse_times(
                raw, missing, lambda bad, name=source: where(bad, name, "a date")
            )
        elif pa.types.is_integer(typ):
            arrays[target] = _parse_counts(raw, missing | (raw == ""), source, where)
        elif pa.types.is_boolean(typ):
            # The export writes a flag as 1 or as nothing: empty means false.
            bad = ~(raw.isin(_TRUE_TOKENS) | raw.isin(_FALSE_TOKENS) | missing)
            if bad.any():
                raise where(bad, source, "a 0/1 flag")
            arrays[target] = pa.array(np.where(missing, None, raw.isin(_TRUE_TOKENS)), pa.bool_())
        elif target == "follower_id":
            arrays[target] = pa.array(raw.where(~(missing | (raw == "")), None), pa.string())
        else:
            # An empty text is known to be empty (no bio); NULL is unknown.
            arrays[target] = pa.array(raw.where(~missing, None), pa.string())
    raw_obs = column(CRESCI_OBSERVED)
    arrays["observed_at"] = _parse_times(
        raw_obs, raw_obs.isin(_NULL_TOKENS), lambda bad: where(bad, CRESCI_OBSERVED, "a time")
    )
    return _labelled(arrays, n, label, group, "cresci", _dataset_name(path.parent))


def _parse_counts(raw, missing, name: str, where) -> pa.Array:
    import pandas as pd

    missing = missing.to_numpy()
    values = pd.to_numeric(raw.where(~missing, None), errors="coerce").to_numpy(np.float64)
    known = ~np.isnan(values)
    unreadable = ~known & ~missing
    with np.errstate(invalid="ignore"):
        invalid = known & ((values < 0) | (values != np.floor(values)))
    bad = unreadable | invalid
    if bad.any():
        raise where(pd.Series(bad), name, "a whole number >= 0")
    return pa.array(np.where(np.isnan(values), 0, values).astype(np.int64),
                    mask=np.isnan(values), type=pa.int64())


def _parse_times(raw, missing, error) -> pa.Array:
    """Twitter's ``Fri Apr 06 10:58:22 +0000 2007`` or ISO 8601 (UTC when no zone is given)."""
    import pandas as pd

    missing = missing | (raw == "")
    text = raw.where(~missing, None)
    parsed = pd.to_datetime(text, format=TWITTER_TIME, errors="coerce", utc=True)
    retry = parsed.isna() & ~missing
    if retry.any():
        parsed[retry] = pd.to_datetime(text[retry], format="ISO8601", errors="coerce", utc=True)
    bad = parsed.isna() & ~missing
    if bad.any():
        raise error(bad)
    micros = parsed.to_numpy("datetime64[us]").astype(np.int64)
    return pa.array(micros, mask=parsed.isna().to_numpy(), type=pa.int64()).cast(TS)


def _labelled(
    arrays: dict[str, pa.Array], n: int, label: int | np.ndarray, group: str | np.ndarray,
    source: str, dataset: str, derived: Mapping[str, np.ndarray] | None = None,
) -> LabelledFollowers:
    """The table of one adapter; ``source`` is its layout, which fixes the platform."""
    columns = []
    identity = {"group": group, "dataset": dataset, "platform": PLATFORMS[source]}
    for f in LABELLED_SCHEMA:
        if f.name in arrays:
            columns.append(arrays[f.name].cast(f.type))
        elif f.name == "is_fake":
            columns.append(pa.array(np.broadcast_to(np.asarray(label, np.int8), (n,)), pa.int8()))
        elif f.name in identity:
            values = np.broadcast_to(np.asarray(identity[f.name], object), (n,))
            columns.append(pa.array(values, pa.string()))
        else:
            columns.append(pa.nulls(n, f.type))
    table = pa.Table.from_arrays(columns, schema=LABELLED_SCHEMA)
    return LabelledFollowers(table, source, dict(derived or {}))


# --- InstaFake (derived numbers only) ------------------------------------------------

INSTAFAKE_FILES: dict[str, int] = {"realAccountData.json": 0, "fakeAccountData.json": 1}
INSTAFAKE_COUNTS: dict[str, str] = {
    "followers_count": "userFollowerCount",
    "following_count": "userFollowingCount",
    "posts_count": "userMediaCount",
}
# Measurements given instead of strings (usernames and bios are not in the data set).
INSTAFAKE_DERIVED: dict[str, str] = {
    "bio_length": "userBiographyLength",
    "username_length": "usernameLength",
    "username_digits": "usernameDigitCount",
}
INSTAFAKE_PICTURE = "userHasProfilPic"  # default_avatar is its negation
INSTAFAKE_LABEL = "isFake"
# userIsPrivate has no counterpart in the contract and is not used.


def read_instafake(folder: Path) -> LabelledFollowers:
    """``realAccountData.json`` (label 0) and/or ``fakeAccountData.json`` (label 1)."""
    folder = Path(folder)
    parts = [
        _read_instafake_file(folder / name, label)
        for name, label in INSTAFAKE_FILES.items()
        if (folder / name).exists()
    ]
    if not parts:
        raise FollowerDataError(f"{folder}: no realAccountData.json or fakeAccountData.json")
    return concat_followers(parts)


def _read_instafake_file(path: Path, label: int) -> LabelledFollowers:
    import orjson

    try:
        records = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FollowerDataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(records, list):
        raise FollowerDataError(f"{path}: expected a JSON list of account objects")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise FollowerDataError(f"{path.name}, record {i + 1}: is not a JSON object")
    import pandas as pd

    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    n = len(frame)

    def numbers(key: str) -> np.ndarray:
        if key not in frame.columns:
            return np.full(n, np.nan)
        raw = frame[key].astype(object)
        given = raw.notna().to_numpy()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64, copy=True)
        with np.errstate(invalid="ignore"):
            bad = given & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FollowerDataError(
                f"{path.name}, record {i + 1}: {key}: {raw.iloc[i]!r} is not a number >= 0"
            )
        return values

    labels = numbers(INSTAFAKE_LABEL)
    wrong = ~np.isnan(labels) & (labels != label)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise FollowerDataError(
            f"{path.name}, record {i + 1}: {INSTAFAKE_LABEL}: {labels[i]:g} contradicts the "
            f"file, which holds {'fake' if label else 'real'} accounts"
        )
    arrays: dict[str, pa.Array] = {}
    for target, key in INSTAFAKE_COUNTS.items():
        v = numbers(key)
        if (v != np.floor(v))[~np.isnan(v)].any():
            i = int(np.flatnonzero(v != np.floor(v))[0])
            raise FollowerDataError(f"{path.name}, record {i + 1}: {key}: is not a whole number")
        arrays[target] = pa.array(np.nan_to_num(v).astype(np.int64), mask=np.isnan(v))
    picture = numbers(INSTAFAKE_PICTURE)
    arrays["default_avatar"] = pa.array(picture == 0, mask=np.isnan(picture))
    derived = {target: numbers(key) for target, key in INSTAFAKE_DERIVED.items()}
    with np.errstate(invalid="ignore"):
        derived["bio_blank"] = np.where(np.isnan(derived["bio_length"]), np.nan,
                                        (derived["bio_length"] == 0).astype(np.float64))
    group = "fake" if label else "real"
    return _labelled(arrays, n, label, group, "instafake", _dataset_name(path.parent), derived)


# --- TrueClout table folders (the synthetic world) -------------------------------------

FOLLOWER_LABELS_FILE = "follower_labels.parquet"
FOLLOWER_LABEL_COLUMNS: tuple[str, ...] = ("account_id", "position", "is_fake")


def read_tables(folder: Path) -> LabelledFollowers:
    """``followers.parquet`` joined to ``follower_labels.parquet`` on (account_id, position).

    Followers without a label are left out.  The observation time of each
    follower is its account's ``observed_at`` from ``profiles.parquet``.
    """
    import pyarrow.parquet as pq

    from trueclout.tables import conform

    folder = Path(folder)
    for name in ("followers.parquet", FOLLOWER_LABELS_FILE):
        if not (folder / name).exists():
            raise FollowerDataError(f"{folder}: a table folder needs {name}")
    followers = conform(pq.read_table(folder / "followers.parquet"), "followers")
    labels = pq.read_table(folder / FOLLOWER_LABELS_FILE)
    profiles = (
        pq.read_table(folder / "profiles.parquet", columns=["account_id", "observed_at"])
        if (folder / "profiles.parquet").exists()
        else None
    )
    return labelled_from_tables(followers, labels, profiles, where=str(folder),
                                dataset=_dataset_name(folder))


def labelled_from_tables(
    followers: pa.Table,
    labels: pa.Table,
    profiles: pa.Table | None = None,
    *,
    where: str = "follower labels",
    dataset: str = "synthetic",
) -> LabelledFollowers:
    """Join follower rows to their labels; ``profiles`` (account_id, observed_at) dates them.

    ``dataset`` names the set (its folder's name when read from one).
    """
    missing = [c for c in FOLLOWER_LABEL_COLUMNS if c not in labels.column_names]
    if missing:
        raise FollowerDataError(f"{where}: follower labels lack columns {missing}")
    is_fake = labels.column("is_fake")
    values = pc.cast(is_fake, pa.float64()).to_numpy(zero_copy_only=False)
    if is_fake.null_count or not np.isin(values, (0, 1)).all():
        raise FollowerDataError(f"{where}: follower labels: is_fake must be 0 or 1 on every row")
    keep = ["account_id", "position", "is_fake"] + (
        ["market"] if "market" in labels.column_names else []
    )
    labels = labels.select(keep).cast(
        pa.schema([pa.field("account_id", pa.string()), pa.field("position", pa.int32()),
                   pa.field("is_fake", pa.int8())]
                  + ([pa.field("market", pa.string())] if "market" in keep else []))
    )
    rows = followers.append_column("_row", pa.array(np.arange(followers.num_rows), pa.int64()))
    joined = rows.join(labels, keys=["account_id", "position"], join_type="inner")
    if profiles is not None:
        joined = joined.join(
            profiles.select(["account_id", "observed_at"]).cast(
                pa.schema([pa.field("account_id", pa.string()), pa.field("observed_at", TS)])
            ),
            keys="account_id",
            join_type="left outer",
        )
    joined = joined.sort_by("_row")
    n = joined.num_rows
    arrays = {f.name: joined.column(f.name).combine_chunks() for f in _PROFILE_COLUMNS}
    if "observed_at" in joined.column_names:
        arrays["observed_at"] = joined.column("observed_at").combine_chunks()
    label = joined.column("is_fake").to_numpy(zero_copy_only=False).astype(np.int8)
    fallback = np.where(label == 1, "fake", "human").astype(object)
    if "market" in joined.column_names:
        market = joined.column("market")
        unknown = pc.is_null(market).to_numpy(zero_copy_only=False)
        group = np.where(unknown, fallback, market.to_numpy(zero_copy_only=False))
    else:
        group = fallback
    return _labelled(arrays, n, label, group, "tables", dataset)


# --- training in one call ---------------------------------------------------------------


def fit_follower_model(data: LabelledFollowers, *, seed: int = 0, n_jobs: int = 1,
                       **params: Any) -> FollowerModel:
    """The follower model fitted on labelled profiles (``params``: FollowerModel options).

    Each data set's group (``units``) weighs the same within its class, and
    the calibration holds whole groups out.
    """
    return FollowerModel(random_state=seed, n_jobs=n_jobs, **params).fit(
        data.signals(), data.labels, data.units
    )


def train_follower_model(
    followers: pa.Table,
    labels: pa.Table,
    profiles: pa.Table | None = None,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    **params: Any,
) -> FollowerModel:
    """Fit the follower model on a snapshot set's labelled followers (the synthetic world's).

    ``followers`` has the contract's ``followers`` columns, ``labels`` the
    ``follower_labels`` columns, and ``profiles`` (``account_id``,
    ``observed_at``) dates each follower so that ages are measured at the
    snapshot.  For a simulated world::

        train_follower_model(world.tables.followers, world.follower_labels,
                             world.tables.profiles, seed=7)
    """
    data = labelled_from_tables(followers, labels, profiles, where="synthetic followers")
    return fit_follower_model(data, seed=seed, n_jobs=n_jobs, **params)
