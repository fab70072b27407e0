"""The generic checks: each takes a ``Subject`` and raises ``AssertionError`` when it misbehaves.

They know nothing about any one model; ``subjects.py`` adapts each estimator
and detector to the small ``Subject`` interface, and ``test_checks_fail.py``
shows each check rejecting a subject broken in exactly its way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# One output column per name, rows first; ``ITEM`` says which item each row describes.
Outputs = dict[str, np.ndarray]
ITEM = "item"
SEED = 7
SHUFFLE_SEED = 20260501


class Subject(ABC):
    """One estimator or detector as the checks see it: fit with a seed, outputs per item.

    ``outputs(fitted, items)`` describes the items (indices into the
    subject's evaluation set) in the order given, one or more rows each, with
    an ``ITEM`` column naming the item of every row: a model gives one row
    per scored row, the ring detector one per account of a community.
    ``shuffle``, when given, also reorders whatever rows the subject reads
    inside the batch (follower rows, edges).
    """

    name: str
    n_items: int
    # Training-row order may move outputs by this much (absolute and relative); 0: bit for bit.
    order_tolerance: float = 0.0
    # Columns that number things across one batch (ids of blocks or groups): left out when one
    # item scored alone is compared with its rows in a batch, where other items take numbers.
    batch_numbering: tuple[str, ...] = ()
    persists: bool = False

    def __init__(self) -> None:
        self._reference: Any = None

    @abstractmethod
    def fit(self, seed: int, shuffle: np.random.Generator | None = None) -> Any:
        """A fresh fit; ``shuffle`` permutes the training rows (accounts, edges) first."""

    @abstractmethod
    def outputs(self, fitted: Any, items: np.ndarray,
                shuffle: np.random.Generator | None = None) -> Outputs:
        """Per-item outputs of ``fitted`` for ``items``, in that order."""

    def round_trip(self, fitted: Any, folder: Path) -> Any:
        """Save ``fitted`` under ``folder`` and load it back (subjects that persist)."""
        raise NotImplementedError(f"{self.name} does not persist")

    def reference(self) -> Any:
        """The fit at ``SEED``, made once and shared by the checks that only read it."""
        if self._reference is None:
            self._reference = self.fit(SEED)
        return self._reference

    def everything(self) -> np.ndarray:
        return np.arange(self.n_items)

    def __repr__(self) -> str:
        return self.name


def assert_same_outputs(expected: Outputs, got: Outputs, *, what: str,
                        tolerance: float = 0.0) -> None:
    """Same columns, shapes and values: exact, or within ``tolerance`` for floats (NaN == NaN)."""
    assert sorted(got) == sorted(expected), f"{what}: columns {sorted(got)} != {sorted(expected)}"
    for name, want in expected.items():
        have = np.asarray(got[name])
        want = np.asarray(want)
        assert have.shape == want.shape, f"{what}: {name} has shape {have.shape}, not {want.shape}"
        message = f"{what}: column {name!r} differs"
        if tolerance and want.dtype.kind == "f":
            np.testing.assert_allclose(have, want, rtol=tolerance, atol=tolerance,
                                       err_msg=message)
        else:
            np.testing.assert_array_equal(have, want, err_msg=message, strict=True)


def by_item(outputs: Outputs) -> Outputs:
    """Rows in item order (a stable sort keeps each item's own rows in theirs)."""
    order = np.argsort(outputs[ITEM], kind="stable")
    return {name: np.asarray(col)[order] for name, col in outputs.items()}


def rows_of(outputs: Outputs, item: int, leave_out: Sequence[str] = ()) -> Outputs:
    keep = np.asarray(outputs[ITEM]) == item
    return {name: np.asarray(col)[keep] for name, col in outputs.items() if name not in leave_out}


def check_seed_idempotence(subject: Subject) -> None:
    """Two fits with one seed predict bit for bit the same: a model is rebuilt from its card.

    Fails on any randomness the seed does not govern (a global generator, the
    clock, thread timing).
    """
    items = subject.everything()
    first = subject.outputs(subject.reference(), items)
    second = subject.outputs(subject.fit(SEED), items)
    assert_same_outputs(first, second, what=f"{subject.name}: refitted with seed {SEED}")


def check_training_order(subject: Subject) -> None:
    """Shuffling the training rows (accounts, edges) leaves every item's outputs as they were.

    Learners that are legitimately order-sensitive are checked in the
    configuration where invariance must hold, and ``subjects.py`` says why
    per subject (``ORDER_SENSITIVE``): the follower model draws its training
    noise row by row and assigns calibration folds by position
    (``StratifiedKFold``), so only its booster margins without noise or
    subsampling are order-free; XGBoost's ``subsample`` picks rows by
    position, so the account model is checked with ``subsample=1``; the
    audience quantifier's rates come from the follower model's positional
    folds.  ``order_tolerance`` allows for sums taken in another order.
    """
    items = subject.everything()
    base = subject.outputs(subject.reference(), items)
    shuffled = subject.fit(SEED, shuffle=np.random.default_rng(SHUFFLE_SEED))
    assert_same_outputs(base, subject.outputs(shuffled, items), tolerance=subject.order_tolerance,
                        what=f"{subject.name}: trained on shuffled rows")


def check_scoring_order(subject: Subject) -> None:
    """Scoring a batch in another order (items, and the rows inside it) permutes the outputs only.

    This holds for every subject, order-sensitive learners included: only
    training may look at row order, never scoring.
    """
    rng = np.random.default_rng(SHUFFLE_SEED)
    fitted = subject.reference()
    base = by_item(subject.outputs(fitted, subject.everything()))
    permuted = subject.outputs(fitted, rng.permutation(subject.n_items), shuffle=rng)
    assert_same_outputs(base, by_item(permuted), what=f"{subject.name}: batch scored shuffled")


def check_round_trip(subject: Subject, folder: Path) -> None:
    """Saved and loaded, a subject predicts bit for bit what it did before saving."""
    fitted = subject.reference()
    items = subject.everything()
    loaded = subject.round_trip(fitted, folder)
    assert_same_outputs(subject.outputs(fitted, items), subject.outputs(loaded, items),
                        what=f"{subject.name}: after save and load")


def check_one_in_many(subject: Subject, picks: int = 4) -> None:
    """An item scored alone gets exactly the outputs it gets as one row of a batch.

    The online path scores one account, the batch path millions; they must
    not disagree.  Checked for the first, last and a few middle items.
    """
    fitted = subject.reference()
    many = subject.outputs(fitted, subject.everything())
    chosen = np.unique(np.linspace(0, subject.n_items - 1, picks).round().astype(int))
    for item in chosen:
        alone = subject.outputs(fitted, np.array([item]))
        assert_same_outputs(rows_of(many, item, subject.batch_numbering),
                            rows_of(alone, item, subject.batch_numbering),
                            what=f"{subject.name}: item {item} alone vs in a batch")
