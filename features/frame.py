"""FeatureFrame: one row of features per account, plus what backed them and why.

``values`` is what models read (registry order, NaN = unknown).
``sufficiency`` says per family how much data backed each row (followers
sampled, real history days, engagements), so a thin row lowers confidence
instead of passing for a clean one.  ``context`` holds the extra numbers
that reason messages quote (followers gained in the burst days, sample
sizes, ...).  pandas appears only in ``to_pandas``, the I/O edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# Key prefixes of a saved frame's per-family and context arrays.
_SUFFICIENCY, _CONTEXT = "sufficiency:", "context:"


@dataclass(frozen=True)
class FamilyResult:
    """What one family kernel returns: features, context numbers and sufficiency per account."""

    features: dict[str, np.ndarray]
    context: dict[str, np.ndarray]
    sufficiency: np.ndarray


@dataclass(frozen=True)
class FeatureRow:
    """One account's features, sufficiency and context, as plain Python numbers."""

    account_id: str
    values: np.ndarray
    names: tuple[str, ...]
    sufficiency: dict[str, float]
    context: dict[str, float]

    def value(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def as_dict(self) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.names, self.values, strict=True)}


@dataclass(frozen=True)
class FeatureFrame:
    """Features of many accounts, rows in ``profiles`` order."""

    account_ids: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]
    sufficiency: Mapping[str, np.ndarray]
    context: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        n = len(self.account_ids)
        if self.values.shape != (n, len(self.names)):
            raise ValueError(f"values must be {n} x {len(self.names)}, got {self.values.shape}")
        for kind, mapping in (("sufficiency", self.sufficiency), ("context", self.context)):
            for key, arr in mapping.items():
                if len(arr) != n:
                    raise ValueError(f"{kind} {key!r} has {len(arr)} entries for {n} accounts")

    def __len__(self) -> int:
        return len(self.account_ids)

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def column(self, name: str) -> np.ndarray:
        """One feature for every account."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no feature {name!r} in this frame") from None

    def index_of(self, account_id: str) -> int:
        hits = np.flatnonzero(self.account_ids == account_id)
        if len(hits) == 0:
            raise KeyError(f"account {account_id!r} is not in this frame")
        return int(hits[0])

    def take(self, indices: Sequence[int] | np.ndarray) -> FeatureFrame:
        """The rows at these positions (in this order)."""
        idx = np.asarray(indices, dtype=np.int64)
        return FeatureFrame(
            account_ids=self.account_ids[idx],
            values=self.values[idx],
            names=self.names,
            sufficiency={k: v[idx] for k, v in self.sufficiency.items()},
            context={k: v[idx] for k, v in self.context.items()},
        )

    def select(self, account_ids: Iterable[str]) -> FeatureFrame:
        """The rows of these accounts, in the order given."""
        return self.take([self.index_of(a) for a in account_ids])

    def row(self, i: int) -> FeatureRow:
        """Row ``i`` as plain numbers, for reasons and the online path."""
        return FeatureRow(
            account_id=str(self.account_ids[i]),
            values=self.values[i],
            names=self.names,
            sufficiency={k: float(v[i]) for k, v in self.sufficiency.items()},
            context={k: float(v[i]) for k, v in self.context.items()},
        )

    def save(self, path: Path) -> None:
        """Write the frame as a ``.npz`` of plain arrays: ``load`` never runs code."""
        arrays = {"account_ids": np.asarray(self.account_ids, dtype=str), "values": self.values,
                  "names": np.asarray(self.names, dtype=str)}
        arrays |= {f"{_SUFFICIENCY}{k}": v for k, v in self.sufficiency.items()}
        arrays |= {f"{_CONTEXT}{k}": v for k, v in self.context.items()}
        with Path(path).open("wb") as file:
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path: Path) -> FeatureFrame:
        """A frame ``save`` wrote (no pickled objects are read)."""
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(
                account_ids=data["account_ids"].astype(object),
                values=data["values"],
                names=tuple(data["names"].tolist()),
                sufficiency={k.removeprefix(_SUFFICIENCY): data[k] for k in data.files
                             if k.startswith(_SUFFICIENCY)},
                context={k.removeprefix(_CONTEXT): data[k] for k in data.files
                         if k.startswith(_CONTEXT)},
            )

    @classmethod
    def concat(cls, frames: Sequence[FeatureFrame]) -> FeatureFrame:
        """Frames of consecutive chunks as one frame (same features required)."""
        if not frames:
            raise ValueError("nothing to concatenate")
        names = frames[0].names
        if any(f.names != names for f in frames):
            raise ValueError("frames have different features")
        keys_s = list(frames[0].sufficiency)
        keys_c = list(frames[0].context)
        return cls(
            account_ids=np.concatenate([f.account_ids for f in frames]),
            values=np.concatenate([f.values for f in frames]),
            names=names,
            sufficiency={k: np.concatenate([f.sufficiency[k] for f in frames]) for k in keys_s},
            context={k: np.concatenate([f.context[k] for f in frames]) for k in keys_c},
        )

    def to_pandas(self, *, sufficiency: bool = False, context: bool = False) -> pd.DataFrame:
        """Features as a DataFrame indexed by ``account_id`` (optionally with
        ``sufficiency_<family>`` and ``context_<name>`` columns)."""
        import pandas as pd

        df = pd.DataFrame(self.values, columns=list(self.names),
                          index=pd.Index(self.account_ids, name="account_id"))
        extra: dict[str, np.ndarray] = {}
        if sufficiency:
            extra |= {f"sufficiency_{k}": v for k, v in self.sufficiency.items()}
        if context:
            extra |= {f"context_{k}": v for k, v in self.context.items()}
        if extra:
            df = pd.concat([df, pd.DataFrame(extra, index=df.index)], axis=1)
        return df
