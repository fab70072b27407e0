"""The audience family measures for a follower model only the signals it reads.

A fitted ``FollowerModel`` names its signals (``feature_names_``); the others
are left NaN in the matrix it is handed.  Its probabilities, and so every
feature, must be exactly those of the full matrix.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.builders import organic_account, tables_of, with_crude_fakes, with_pod
from trueclout.features.families.audience import _signals_read
from trueclout.features.families.follower_signals import FOLLOWER_SIGNALS, FollowerProfiles
from trueclout.features.kernels.columns import SnapshotColumns
from trueclout.features.pipeline import compute_features
from trueclout.models.artifact import SHIPPED_DIR, load_artifact


@pytest.fixture(scope="module")
def follower_model():
    return load_artifact(SHIPPED_DIR).follower_model


class ReadsEverything:
    """The shipped model behind a scorer that does not say what it reads."""

    def __init__(self, model) -> None:
        self.model = model

    def fake_probability(self, signals: np.ndarray) -> np.ndarray:
        assert not np.isnan(signals[:, FOLLOWER_SIGNALS.index("username_length")]).all()
        return self.model.fake_probability(signals)

    def estimate_share(self, probabilities, segments, followers_count):
        return self.model.estimate_share(probabilities, segments, followers_count)


def _tables():
    return tables_of(organic_account("a", seed=1), with_crude_fakes(organic_account("b", seed=2)),
                     with_pod(organic_account("c", seed=3)))


def test_features_are_identical_with_the_trimmed_matrix(follower_model) -> None:
    tables = _tables()
    trimmed = compute_features(tables, audience_scorer=follower_model)
    full = compute_features(tables, audience_scorer=ReadsEverything(follower_model))
    assert trimmed.values.tobytes() == full.values.tobytes()
    assert trimmed.context.keys() == full.context.keys()
    for name in trimmed.context:
        assert trimmed.context[name].tobytes() == full.context[name].tobytes(), name


def test_the_trimmed_matrix_holds_the_read_columns_and_nan_elsewhere(follower_model) -> None:
    read = _signals_read(follower_model)
    assert read and read < set(FOLLOWER_SIGNALS)
    cols = SnapshotColumns(_tables())
    observed = cols.observed_at[cols.segments("followers").ids]
    full = FollowerProfiles(cols.tables.followers, observed).matrix()
    trimmed = FollowerProfiles(cols.tables.followers, observed).matrix(read)
    for j, name in enumerate(FOLLOWER_SIGNALS):
        if name in read:
            assert trimmed[:, j].tobytes() == full[:, j].tobytes(), name
        else:
            assert np.isnan(trimmed[:, j]).all(), name


@pytest.mark.parametrize("names", [None, "log_posts", ["log_posts", "not_a_signal"], 7])
def test_a_scorer_without_a_usable_list_gets_every_signal(names) -> None:
    class Scorer:
        feature_names_ = names

    assert _signals_read(Scorer()) is None
