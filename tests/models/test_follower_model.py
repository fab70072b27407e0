"""The follower model: learns, persists without pickle, refuses mismatches, plugs into the seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from tests.factories import snapshot_dict
from tests.models.follower_builders import FAST_MODEL, cresci_folder
from trueclout.contract import AccountSnapshot
from trueclout.features.families.audience import AudienceScorer
from trueclout.features.families.follower_signals import (
    FOLLOWER_SIGNAL_DIRECTIONS,
    FOLLOWER_SIGNALS,
)
from trueclout.features.kernels.segments import Segments
from trueclout.features.pipeline import compute_features
from trueclout.models.follower_model import (
    MANIFEST_FILE,
    FollowerModel,
    FollowerModelError,
    disputed_directions,
    group_weights,
    youden_threshold,
)
from trueclout.tables import snapshots_to_tables
from trueclout.training.data.followers import read_followers


@pytest.fixture(scope="module")
def train_data(tmp_path_factory: pytest.TempPathFactory):
    folder = cresci_folder(tmp_path_factory.mktemp("train"), humans=80, fakes={"A": 50, "B": 50})
    data = read_followers(folder)
    return data.signals(), data.labels


@pytest.fixture(scope="module")
def test_data(tmp_path_factory: pytest.TempPathFactory):
    folder = cresci_folder(tmp_path_factory.mktemp("test"), humans=60, fakes={"A": 30, "B": 30},
                           seed=50)
    data = read_followers(folder)
    return data.signals(), data.labels


@pytest.fixture(scope="module")
def model(train_data) -> FollowerModel:
    X, y = train_data
    return FollowerModel(**FAST_MODEL).fit(X, y)


def test_learns_to_separate_bought_from_real_profiles(model, test_data) -> None:
    X, y = test_data
    p = model.fake_probability(X)
    assert p.shape == (len(y),) and np.all((p >= 0) & (p <= 1))
    assert roc_auc_score(y, p) > 0.95
    assert 0 < model.threshold_ < 1
    assert np.array_equal(model.predict(X), (p >= model.threshold_).astype(int))
    assert model.quantifier_.tpr > model.quantifier_.fpr
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_save_load_round_trip_gives_identical_probabilities(model, test_data,
                                                            tmp_path: Path) -> None:
    X, _ = test_data
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["booster.ubj", MANIFEST_FILE]
    manifest_text = (tmp_path / "m" / MANIFEST_FILE).read_text()
    assert str(tmp_path) not in manifest_text  # self-describing, no absolute paths
    loaded = FollowerModel.load(tmp_path / "m")
    assert np.array_equal(loaded.fake_probability(X), model.fake_probability(X))
    assert loaded.threshold_ == model.threshold_
    assert loaded.quantifier_ == model.quantifier_
    assert loaded.model_id_ == model.model_id_
    assert loaded.get_params() == model.get_params() | {"n_jobs": 1}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda names: [*names, "mystery_signal"], "does not compute: \\['mystery_signal'\\]"),
        (lambda names: [], "names no signals"),
    ],
)
def test_a_model_for_other_signals_is_refused(model, tmp_path: Path, edit, message) -> None:
    model.save(tmp_path)
    path = tmp_path / MANIFEST_FILE
    manifest = orjson.loads(path.read_bytes())
    manifest["feature_names"] = edit(manifest["feature_names"])
    path.write_bytes(orjson.dumps(manifest))
    with pytest.raises(FollowerModelError, match=message):
        FollowerModel.load(tmp_path)


def test_folders_that_are_not_follower_models_are_refused(model, tmp_path: Path) -> None:
    with pytest.raises(FollowerModelError, match="not a follower model"):
        FollowerModel.load(tmp_path)
    model.save(tmp_path)
    manifest = orjson.loads((tmp_path / MANIFEST_FILE).read_bytes())
    (tmp_path / MANIFEST_FILE).write_bytes(orjson.dumps(manifest | {"format": "other"}))
    with pytest.raises(FollowerModelError, match="format 'other'"):
        FollowerModel.load(tmp_path)
    (tmp_path / MANIFEST_FILE).write_bytes(orjson.dumps(manifest))
    (tmp_path / "booster.ubj").unlink()
    with pytest.raises(FollowerModelError, match="booster file booster.ubj is missing"):
        FollowerModel.load(tmp_path)


def test_training_is_reproducible_and_follows_the_estimator_contract(train_data) -> None:
    X, y = train_data
    a = FollowerModel(**FAST_MODEL, random_state=3)
    assert not hasattr(a, "booster_")  # __init__ only stores hyperparameters
    assert a.fit(X, y) is a
    b = clone(a).fit(X, y)
    assert a.model_id_ == b.model_id_
    assert np.array_equal(a.fake_probability(X), b.fake_probability(X))


def test_too_few_profiles_or_bad_labels_are_user_errors(train_data) -> None:
    X, y = train_data
    few = np.concatenate([np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:2]])
    with pytest.raises(FollowerModelError, match="at least 3 bought and 3 human"):
        FollowerModel(**FAST_MODEL).fit(X[few], y[few])
    with pytest.raises(FollowerModelError, match="0 \\(human\\) or 1 \\(bought\\)"):
        FollowerModel(**FAST_MODEL).fit(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="columns"):
        FollowerModel(**FAST_MODEL).fit(X[:, :5], y)
    with pytest.raises(FollowerModelError, match="not trained"):
        FollowerModel().fake_probability(X)


@settings(max_examples=40, deadline=None)
@given(row=st.integers(0, 179), bump=st.floats(0.1, 5.0),
       signal=st.sampled_from(sorted(FOLLOWER_SIGNAL_DIRECTIONS)))
def test_more_of_a_reassuring_signal_never_raises_the_fake_probability(
    model, train_data, row: int, bump: float, signal: str
) -> None:
    """Where the model keeps a signal's direction (it held in every group), it obeys it."""
    X, _ = train_data
    if signal not in model.directions_:
        return
    before = X[row : row + 1].copy()
    after = before.copy()
    j = FOLLOWER_SIGNALS.index(signal)
    if np.isnan(before[0, j]):
        return
    after[0, j] += bump * -FOLLOWER_SIGNAL_DIRECTIONS[signal]  # move toward "more human"
    assert model.fake_probability(after)[0] <= model.fake_probability(before)[0] + 1e-12


def test_youden_threshold_sits_in_the_middle_of_a_clean_gap() -> None:
    y = np.array([0, 0, 1, 1])
    assert youden_threshold(y, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(0.5)
    # One human among the fakes: flagging it costs a third of the humans, missing a fake a
    # quarter of the fakes, so the best cut keeps the human out.
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.7, 0.6, 0.8, 0.9, 0.95])
    assert 0.7 < youden_threshold(y, p) <= 0.8
    # Weights decide it: a human that weighs ten times as much is worth missing a fake for.
    assert 0.7 < youden_threshold(y, p, np.array([1, 1, 10, 1, 1, 1, 1.0])) <= 0.8


def test_groups_weigh_the_same_within_their_class() -> None:
    y = np.array([0] * 10 + [1] * 100 + [1] * 10)
    groups = np.array(["h"] * 10 + ["big"] * 100 + ["small"] * 10, dtype=object)
    w = group_weights(y, groups)
    assert w[y == 1][:100].sum() == pytest.approx(w[-10:].sum())  # big market = small one
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())  # and the classes weigh the same
    assert w.mean() == pytest.approx(1.0)


def test_a_direction_false_in_one_group_is_imposed_and_the_dispute_recorded() -> None:
    rng = np.random.default_rng(0)
    n = 200
    X = np.full((3 * n, len(FOLLOWER_SIGNALS)), np.nan)
    posts, age = FOLLOWER_SIGNALS.index("log_posts"), FOLLOWER_SIGNALS.index("log_age_days")
    y = np.repeat([0, 1, 1], n)
    groups = np.repeat(["humans", "quiet_fakes", "chatty_bots"], n).astype(object)
    X[:, posts] = np.concatenate([rng.normal(6, 1, n), rng.normal(2, 1, n), rng.normal(9, 1, n)])
    X[:, age] = np.concatenate([rng.normal(7, 0.5, n), rng.normal(5, 0.5, n),
                                rng.normal(5, 0.5, n)])
    disputed = disputed_directions(X[:, [posts, age]], y, groups, ["log_posts", "log_age_days"])
    assert disputed == {"log_posts": ["chatty_bots"]}  # fakes are younger everywhere
    model = FollowerModel(**FAST_MODEL, features=("log_posts", "log_age_days")).fit(X, y, groups)
    assert model.directions_ == {"log_posts": -1, "log_age_days": -1}
    assert model.manifest()["monotone_disputed_by"] == {"log_posts": ["chatty_bots"]}
    quiet = np.full((2, len(FOLLOWER_SIGNALS)), np.nan)
    quiet[:, age] = 5.0
    quiet[:, posts] = [2.0, 9.0]  # more posts never raise the odds, whatever chatty bots do
    p_few, p_many = model.fake_probability(quiet)
    assert p_many <= p_few
    assert model.held_out_by_ == "stratified"  # one group of humans: none can be held out


def test_it_is_the_audience_seam(model, test_data) -> None:
    assert isinstance(model, AudienceScorer)
    X, y = test_data
    p = model.fake_probability(X)
    seg = Segments(np.repeat([0, 1], [60, len(y) - 60]), 3)
    est = model.estimate_share(p, seg, np.array([1000.0, 5000.0, 10.0]))
    assert est.share.shape == (3,)
    assert est.share[0] < 0.2 < est.share[1]  # the first 60 rows are humans, the rest fakes
    assert np.isnan(est.share[2])


def test_plugs_into_the_feature_pipeline(model) -> None:
    snaps = [AccountSnapshot.model_validate(snapshot_dict(f"a{i}", followers=5 * i))
             for i in range(3)]
    frame = compute_features(snapshots_to_tables(snaps), audience_scorer=model)
    share = frame.values[:, list(frame.names).index("audience_model_fake_share")]
    assert np.isnan(share[0])  # no followers sampled: unknown, not zero
    assert not np.isnan(share[1:]).any()


def test_no_group_of_humans_is_flagged_beyond_the_guard() -> None:
    from trueclout.models.follower_model import human_guard

    rng = np.random.default_rng(1)
    y = np.repeat([0, 0, 1], 500)
    groups = np.repeat(["casual_2013", "everyone", "market"], 500).astype(object)
    # Casual users score like fakes far more often than the rest of the humans do.
    p = np.concatenate([rng.beta(5, 3, 500), rng.beta(2, 8, 500), rng.beta(9, 1, 500)])
    cut = human_guard(p, y, groups, 0.05)
    for group in ("casual_2013", "everyone"):
        assert (p[groups == group] >= cut).mean() <= 0.05
    assert (p[groups == "casual_2013"] >= np.nextafter(cut, 0) - 0.02).mean() > 0.05  # lowest
    assert human_guard(p[y == 1], y[y == 1], groups[y == 1], 0.05) == 0.0  # no humans
