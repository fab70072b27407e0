"""The training reference: how each feature was distributed in the data a model learned from.

A model is only as good as the population it was trained on.  To notice when
the service scores a population the model never saw, each artifact carries
``reference/features.json``: per feature, decile edges over the training
values that are not NaN, the share of training accounts in each bin, and the
NaN share as a bin of its own (missing data is information: a platform that
stops sending followers shifts every audience feature to NaN).

Drift is the population stability index of new data against that reference::

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

with half a count added to every bin of the observed sample and the
training shares floored at ``FLOOR``, so that a bin the training data never
filled counts as a large, finite shift.  Rules of thumb used throughout
TrueClout (docs/ANALYSTS.md): below 0.1 stable, 0.1 to 0.25 "watch", above
0.25 "drifted".  A finite sample of an unchanged population has a PSI of
about (bins - 1) / n on its own (``noise_floor``), so a few hundred accounts
are needed before the thresholds mean anything: below ``MIN_ACCOUNTS`` a
report's verdict is "not enough data".

Values are binned as float32, the precision models train on, so that a value
sitting exactly on an edge falls in the same bin at training and at scoring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

REFERENCE_FILE = "reference/features.json"
FORMAT = "trueclout-feature-reference"
FORMAT_VERSION = 1
DEFAULT_BINS = 10
FLOOR = 1e-4
SMOOTHING = 0.5  # pseudo-count per bin of an observed sample
WATCH_PSI = 0.1
DRIFTED_PSI = 0.25
# Below this many accounts drift gives no verdict ("not enough data").  Measured on the
# shipped default's reference (47 features, 200 samples of n accounts drawn from the training
# distribution itself): some feature crossed "drifted" in 99% of samples at n=50 and 14% at
# n=100, and "watch" in 95% at n=150, 47% at n=200 and 3% at n=300 (none at 500).  The
# largest of many features' PSI is what the verdict reads, and it falls as 1/n.
MIN_ACCOUNTS = 300
NOT_ENOUGH_DATA = "not enough data"

Status = Literal["stable", "watch", "drifted"]
# A whole report's verdict: a status, or none below ``MIN_ACCOUNTS``.
Verdict = Literal["stable", "watch", "drifted", "not enough data"]


def status_of(psi: float) -> Status:
    """The documented reading of one PSI value."""
    if psi > DRIFTED_PSI:
        return "drifted"
    if psi > WATCH_PSI:
        return "watch"
    return "stable"


def noise_floor(n_accounts: int, bins: int = DEFAULT_BINS) -> float:
    """The PSI an unchanged population shows from sampling alone.

    About (bins - 1) / n for n accounts over ``bins + 1`` bins (the NaN bin included).
    """
    return float("inf") if n_accounts <= 0 else bins / n_accounts


def population_stability(expected: np.ndarray, actual_counts: np.ndarray) -> float:
    """PSI of observed bin counts against expected bin shares.

    The observed shares get half a count in every bin (an empty bin in a sample
    of n says the share is small, not zero); the reference shares, from the
    whole training set, are floored at ``FLOOR``.
    """
    counts = np.asarray(actual_counts, dtype=np.float64)
    total = float(counts.sum())
    if total <= 0:
        return float("nan")
    expected = np.asarray(expected, dtype=np.float64)
    actual = (counts + SMOOTHING) / (total + SMOOTHING * len(counts))
    reference = np.maximum(expected, FLOOR)
    terms = (actual - reference) * np.log(actual / reference)
    # A bin empty in the training data and in the sample says nothing either way.
    terms[(expected == 0) & (counts == 0)] = 0.0
    return float(terms.sum())


@dataclass(frozen=True)
class FeatureBins:
    """One feature's reference: bin ``i`` holds ``edges[i-1] <= v < edges[i]``; NaN is last."""

    name: str
    family: str
    edges: tuple[float, ...]
    proportions: tuple[float, ...]  # len(edges) + 1 value bins, then the NaN bin

    @property
    def n_bins(self) -> int:
        return len(self.proportions)

    @property
    def nan_share(self) -> float:
        return self.proportions[-1]

    def bin_index(self, values: np.ndarray) -> np.ndarray:
        """The bin of each value (float32, as models see it); NaN goes to the last bin."""
        values = np.asarray(values, dtype=np.float32)
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float32), values, side="right")
        index[np.isnan(values)] = self.n_bins - 1
        return index

    def counts(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.bin_index(values), minlength=self.n_bins)

    def psi(self, counts: np.ndarray) -> float:
        return population_stability(np.asarray(self.proportions), counts)

    @classmethod
    def fit(cls, name: str, family: str, values: np.ndarray,
            bins: int = DEFAULT_BINS) -> FeatureBins:
        values = np.asarray(values, dtype=np.float32)
        known = values[~np.isnan(values)]
        if len(known):
            cuts = np.quantile(known, np.arange(1, bins) / bins, method="lower")
            edges = tuple(float(v) for v in np.unique(cuts.astype(np.float32)))
        else:
            edges = ()
        draft = cls(name, family, edges, (0.0,) * (len(edges) + 2))
        counts = draft.counts(values)
        shares = counts / max(1, len(values))
        return cls(name, family, edges, tuple(float(s) for s in shares))


@dataclass(frozen=True)
class Reference:
    """Every feature's reference distribution, in the model's feature order."""

    features: tuple[FeatureBins, ...]
    n_accounts: int
    registry_version: str
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @classmethod
    def fit(cls, x: np.ndarray, names: Sequence[str], families: Mapping[str, str], *,
            registry_version: str, source: str = "", bins: int = DEFAULT_BINS) -> Reference:
        """The reference of a feature matrix (rows: accounts, columns: ``names``)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(names):
            raise ValueError(f"x must be n x {len(names)}, not {x.shape}")
        features = tuple(FeatureBins.fit(name, families[name], x[:, j], bins)
                         for j, name in enumerate(names))
        return cls(features, int(x.shape[0]), registry_version, source)

    def bin_indices(self, x: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Bin of every value, rows x features (in this reference's order): what windows keep."""
        columns = self._columns(names)
        x = np.asarray(x)
        out = np.empty((x.shape[0], len(self.features)), dtype=np.int16)
        for j, (feature, column) in enumerate(zip(self.features, columns, strict=True)):
            out[:, j] = feature.bin_index(x[:, column])
        return out

    def counts_of_bins(self, bins: np.ndarray) -> list[np.ndarray]:
        """Counts per bin of each feature from ``bin_indices`` rows."""
        return [np.bincount(bins[:, j], minlength=f.n_bins) for j, f in enumerate(self.features)]

    def psi(self, counts: Sequence[np.ndarray]) -> np.ndarray:
        """PSI of each feature given its bin counts."""
        return np.array([f.psi(c) for f, c in zip(self.features, counts, strict=True)])

    def _columns(self, names: Sequence[str]) -> list[int]:
        index = {name: j for j, name in enumerate(names)}
        missing = [f.name for f in self.features if f.name not in index]
        if missing:
            raise ValueError(f"the data lacks feature(s) {missing[:5]} of the reference")
        return [index[f.name] for f in self.features]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "registry_version": self.registry_version,
            "n_accounts": self.n_accounts,
            "source": self.source,
            "nan_bin": "last",
            "features": [{"name": f.name, "family": f.family, "edges": list(f.edges),
                          "proportions": list(f.proportions)} for f in self.features],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1, sort_keys=True, allow_nan=False)
                + "\n").encode()

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Reference:
        if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"not a {FORMAT} v{FORMAT_VERSION} document")
        features = tuple(FeatureBins(f["name"], f["family"], tuple(f["edges"]),
                                     tuple(f["proportions"])) for f in doc["features"])
        for f in features:
            if len(f.proportions) != len(f.edges) + 2:
                raise ValueError(f"{f.name}: {len(f.proportions)} shares for "
                                 f"{len(f.edges)} edges")
        return cls(features, int(doc["n_accounts"]), str(doc["registry_version"]),
                   str(doc.get("source", "")))


def reference_of(x: np.ndarray, names: Sequence[str], *, registry_version: str | None = None,
                 source: str = "") -> Reference:
    """The reference of a training matrix; families from the feature registry ("other" for a
    name it does not know), the version the model was built for (default: the running one)."""
    from trueclout.features.registry import FEATURES_BY_FAMILY, REGISTRY_VERSION

    family_of = {n: family for family, members in FEATURES_BY_FAMILY.items() for n in members}
    families = {name: family_of.get(name, "other") for name in names}
    return Reference.fit(x, names, families, source=source,
                         registry_version=registry_version or REGISTRY_VERSION)


class NoReferenceError(Exception):
    """The artifact was built before models carried a training reference."""


def read_reference(artifact_dir: Path) -> Reference:
    """The reference inside an artifact, after its digest is checked against the card.

    Raises ``NoReferenceError`` for artifacts built without one, and the
    artifact's own errors for a tampered or unreadable one.
    """
    from trueclout.models.artifact import ArtifactError, read_card, read_verified

    card = read_card(Path(artifact_dir))
    if REFERENCE_FILE not in card["files"]:
        raise NoReferenceError(
            f"model {card.get('version')} ({artifact_dir}) carries no training reference "
            f"({REFERENCE_FILE}): it was built before models kept one; retrain it (or rebuild "
            "the default with `make model`) to monitor drift")
    data = read_verified(Path(artifact_dir), REFERENCE_FILE, card["files"])
    try:
        return Reference.from_json(json.loads(data))
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{artifact_dir}: {REFERENCE_FILE} is not readable ({exc})") from None
