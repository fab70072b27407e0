"""The artifact: what a saved model promises (same predictions, refusal of anything altered).

The learners do not care where columns come from, so these tests train on a
small toy matrix with known signal instead of the whole feature pipeline;
``toy_training_set`` and ``toy_model`` are shared with the registry and
evaluation tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from trueclout.models.account_model import LEVELS, OVERALL, TACTICS, TARGETS
from trueclout.models.artifact import (
    CARD_FILE,
    IncompatibleArtifactError,
    TamperedArtifactError,
    attach_reports,
    load_artifact,
    read_card,
)
from trueclout.training.data.labelled import TrainingSet
from trueclout.training.fit.account import TrainingConfig, train_artifact

TOY_REGISTRY_VERSION = "toy-registry-1"
TOY_CONFIG = TrainingConfig(folds=3, trees=30, max_depth=3, forest_trees=10, threads=1)


def toy_training_set(n: int = 900, n_features: int = 8, seed: int = 0) -> TrainingSet:
    """Accounts whose tactics depend on known columns; groups share a latent push."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features))
    groups = rng.integers(0, n // 4, n)
    push = rng.normal(size=n // 4)[groups]
    z = x.copy()
    x[rng.random(x.shape) < 0.05] = np.nan
    labels = {
        "bought_followers": (z[:, 0] + 0.5 * push + rng.normal(0, 0.5, n) > 1.2),
        "engagement_ring": (z[:, 1] + z[:, 2] + rng.normal(0, 0.5, n) > 1.6),
        "growth_burst": (z[:, 3] - z[:, 4] + rng.normal(0, 0.5, n) > 1.6),
    }
    labels = {k: v.astype(np.int8) for k, v in labels.items()}
    cheat = np.maximum.reduce(list(labels.values())) == 1
    kinds = np.where(cheat, "cheat", rng.choice(["steady", "viral", "community"], n))
    return TrainingSet(
        x=x,
        feature_names=tuple(f"f{i}" for i in range(n_features)),
        account_ids=np.array([f"acct-{seed}-{i}" for i in range(n)], dtype=object),
        labels=labels,
        groups=groups.astype(str).astype(object),
        context={"platform": rng.choice(["twitter", "tiktok"], n).astype(object),
                 "followers_count": 10 ** rng.uniform(1, 7, n),
                 "kind": kinds.astype(object)},
        source="toy",
        digest="0" * 64,
    )


def toy_features(data: TrainingSet) -> tuple[tuple[str, ...], str]:
    return data.feature_names, TOY_REGISTRY_VERSION


@dataclass(frozen=True)
class Frame:
    values: np.ndarray
    names: tuple[str, ...]


def toy_model(out: Path, data: TrainingSet | None = None,
              config: TrainingConfig = TOY_CONFIG, report: bool = False):
    data = data if data is not None else toy_training_set()
    return train_artifact(data, config, out, name="toy", registry_version=TOY_REGISTRY_VERSION,
                          follower_model=None, write_report=report)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    data = toy_training_set()
    return toy_model(tmp_path_factory.mktemp("models") / "toy", data), data


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_loaded_model_predicts_what_the_trained_one_did(trained) -> None:
    result, data = trained
    artifact = load_artifact(result.path, expected_features=toy_features(data))
    frame = Frame(data.x[:50], data.feature_names)
    before = result.fit.model.predict(frame)
    after = artifact.predict(frame)
    for tactic in TACTICS:
        np.testing.assert_allclose(after.tactics[tactic], before.tactics[tactic])
    np.testing.assert_allclose(after.risk, before.risk)
    np.testing.assert_array_equal(after.level, before.level)
    assert artifact.version == result.card["version"]
    assert artifact.feature_names == data.feature_names
    assert set(artifact.thresholds) == set(TARGETS)


def test_prediction_contract(trained) -> None:
    result, data = trained
    artifact = load_artifact(result.path, expected_features=toy_features(data))
    p = artifact.predict(Frame(data.x, data.feature_names), tactic_contributions=True)
    # Overall risk is never below any tactic's probability.
    for tactic in TACTICS:
        assert (p.risk >= p.tactics[tactic] - 1e-12).all()
    # The flag is exactly the high level.
    np.testing.assert_array_equal(p.flag, p.level == "high")
    assert set(np.unique(p.level)) <= set(LEVELS)
    # Contributions plus bias give the overall booster's margin (log-odds).
    margin = artifact.model.learner.scorers[OVERALL].score(data.x)
    np.testing.assert_allclose(p.contributions.sum(axis=1) + p.bias, margin, atol=1e-4)
    assert p.contributions.shape == (len(data), len(data.feature_names))
    assert set(p.tactic_contributions) == set(TACTICS)
    exact = artifact.predict(Frame(data.x[:5], data.feature_names), contributions="exact")
    np.testing.assert_allclose(exact.contributions.sum(axis=1) + exact.bias, margin[:5],
                               atol=1e-4)


def test_one_changed_byte_in_a_booster_is_refused(trained, tmp_path: Path) -> None:
    result, data = trained
    copy = _copy(result.path, tmp_path / "m")
    booster = copy / "account" / "xgboost" / "overall.ubj"
    raw = bytearray(booster.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    booster.write_bytes(bytes(raw))
    with pytest.raises(TamperedArtifactError, match=r"overall\.ubj does not match its sha256"):
        load_artifact(copy, expected_features=toy_features(data))


def test_an_edited_card_is_refused(trained, tmp_path: Path) -> None:
    result, data = trained
    copy = _copy(result.path, tmp_path / "m")
    card = json.loads((copy / CARD_FILE).read_text())
    card["thresholds"]["overall"]["high"]["threshold"] = 0.01  # flag everyone
    (copy / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True))
    with pytest.raises(TamperedArtifactError, match="card_sha256"):
        load_artifact(copy, expected_features=toy_features(data))


def test_a_missing_file_is_refused(trained, tmp_path: Path) -> None:
    result, data = trained
    copy = _copy(result.path, tmp_path / "m")
    (copy / "account" / "calibration.json").unlink()
    with pytest.raises(TamperedArtifactError, match="calibration.json is listed .* but missing"):
        load_artifact(copy, expected_features=toy_features(data))


def test_another_feature_list_is_refused(trained) -> None:
    result, data = trained
    renamed = (*data.feature_names[:-1], "f_new")
    with pytest.raises(IncompatibleArtifactError, match=r"missing \['f7'\].*unexpected"):
        load_artifact(result.path, expected_features=(renamed, TOY_REGISTRY_VERSION))
    reordered = (data.feature_names[1], data.feature_names[0], *data.feature_names[2:])
    with pytest.raises(IncompatibleArtifactError, match="another order"):
        load_artifact(result.path, expected_features=(reordered, TOY_REGISTRY_VERSION))
    with pytest.raises(IncompatibleArtifactError, match="registry version"):
        load_artifact(result.path, expected_features=(data.feature_names, "other-version"))


def test_a_frame_with_other_columns_is_refused(trained) -> None:
    result, data = trained
    artifact = load_artifact(result.path, expected_features=toy_features(data))
    with pytest.raises(IncompatibleArtifactError, match="feature list differs"):
        artifact.predict(Frame(data.x[:, :-1], data.feature_names[:-1]))


def test_forest_baseline_is_stored_as_arrays_and_reloads(trained) -> None:
    result, data = trained
    assert "baselines/random_forest.json.gz" in result.card["files"]
    assert not any(rel.endswith((".pkl", ".pkl.gz", ".joblib")) for rel in result.card["files"])
    artifact = load_artifact(result.path, expected_features=toy_features(data))
    baselines, notes = artifact.load_baselines()
    assert set(baselines) == {"logistic_regression", "random_forest"} and not notes
    # The stored baselines reproduce their out-of-fold-calibrated training behaviour.
    stored = result.fit.model.baselines
    for name, learner in baselines.items():
        np.testing.assert_allclose(learner.probabilities(data.x[:40])[OVERALL],
                                   stored[name].probabilities(data.x[:40])[OVERALL])


def test_forest_arrays_give_scikit_learns_probabilities() -> None:
    from sklearn.ensemble import RandomForestClassifier

    from trueclout.models.account_model import ForestScorer

    data = toy_training_set(n=400, seed=3)  # 5% of cells are NaN
    y = data.labels["engagement_ring"]
    forest = RandomForestClassifier(n_estimators=7, max_leaf_nodes=32, min_samples_leaf=3,
                                    random_state=0).fit(data.x, y)
    scorer = ForestScorer.from_json(json.loads(json.dumps(ForestScorer.from_sklearn(forest)
                                                          .to_json())))
    fresh = toy_training_set(n=300, seed=4).x
    fresh[:5] = np.nan  # rows with nothing known still land on a leaf
    np.testing.assert_allclose(scorer.score(fresh),
                               forest.predict_proba(fresh.astype(np.float32))[:, 1], atol=1e-12)


def test_a_resealed_pickle_never_runs(trained, tmp_path: Path) -> None:
    """A pickle slipped into a model with every digest recomputed is never unpickled."""
    import pickle

    from trueclout.models.artifact import card_digest, sha256_bytes
    from trueclout.training.evaluate.metrics import evaluate_artifact

    result, data = trained
    copy = _copy(result.path, tmp_path / "m")
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (marker,))

    import gzip

    evil = gzip.compress(pickle.dumps(Payload()))
    for rel in ("baselines/random_forest.pkl.gz", "baselines/random_forest.json.gz"):
        (copy / rel).write_bytes(evil)
    card = json.loads((copy / CARD_FILE).read_text())
    card["files"]["baselines/random_forest.pkl.gz"] = sha256_bytes(evil)
    card["files"]["baselines/random_forest.json.gz"] = sha256_bytes(evil)
    card["card_sha256"] = card_digest(card)
    (copy / CARD_FILE).write_text(json.dumps(card))
    artifact = load_artifact(copy, expected_features=toy_features(data))
    evaluation = evaluate_artifact(artifact, toy_training_set(n=200, seed=9))
    assert not marker.exists()
    assert "random_forest" not in evaluation.summary["learners"]
    assert any("random_forest" in note and "not a readable forest" in note
               for note in evaluation.summary["notes"])


def test_nothing_a_model_reaches_can_unpickle() -> None:
    """No module of the product imports a pickle loader: no path can reach one."""
    import ast

    root = Path(__file__).resolve().parents[2]
    loaders = {"pickle", "joblib", "cloudpickle", "dill", "skops", "shelve", "marshal"}
    found = []
    for folder in ("models", "service", "features", "training", "trueclout"):
        for file in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{file.relative_to(root)}: {n}" for n in names
                          if n.split(".")[0] in loaders]
                if (isinstance(node, ast.keyword) and node.arg == "allow_pickle"
                        and not (isinstance(node.value, ast.Constant) and not node.value.value)):
                    found.append(f"{file.relative_to(root)}: allow_pickle")
    assert not found


SIGNING_KEY = "k" * 40


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch):
    from trueclout.settings import get_settings

    def use(key: str | None) -> None:
        if key is None:
            monkeypatch.delenv("TRUECLOUT_MODEL_SIGNING_KEY", raising=False)
        else:
            monkeypatch.setenv("TRUECLOUT_MODEL_SIGNING_KEY", key)
        get_settings.cache_clear()

    yield use
    monkeypatch.delenv("TRUECLOUT_MODEL_SIGNING_KEY", raising=False)
    get_settings.cache_clear()


def _reseal_with_lower_threshold(folder: Path) -> None:
    """What a tamperer can do without the key: edit the card and recompute its digest."""
    from trueclout.models.artifact import card_digest

    card = json.loads((folder / CARD_FILE).read_text())
    card["thresholds"]["overall"]["high"]["threshold"] = 0.99  # let cheats through
    card["card_sha256"] = card_digest(card)
    (folder / CARD_FILE).write_text(json.dumps(card))


def test_with_a_key_models_are_signed_and_tampering_is_refused(signing_key, tmp_path: Path
                                                                ) -> None:
    from trueclout.models.signing import SignatureError

    data = toy_training_set(n=300, seed=1)
    signing_key(SIGNING_KEY)
    signed = toy_model(tmp_path / "signed", data).path
    artifact = load_artifact(signed, expected_features=toy_features(data))
    assert artifact.signature_status == "verified"

    edited = _copy(signed, tmp_path / "edited")
    _reseal_with_lower_threshold(edited)
    with pytest.raises(SignatureError, match=r"edited/card\.json: signature does not match"):
        load_artifact(edited, expected_features=toy_features(data))

    signing_key("o" * 40)  # signed with another key
    with pytest.raises(SignatureError, match="signature does not match"):
        load_artifact(signed, expected_features=toy_features(data))

    signing_key(None)
    unsigned = toy_model(tmp_path / "unsigned", data).path
    loaded = load_artifact(unsigned, expected_features=toy_features(data))
    assert loaded.signature_status == "unsigned" and "unsigned" in loaded.signature_note
    assert load_artifact(edited, expected_features=toy_features(data)).signature_status == (
        "signed-unchecked")  # without the key nothing is refused, and that is said
    signing_key(SIGNING_KEY)
    with pytest.raises(SignatureError, match=r"unsigned/card\.json: the model is not signed"):
        load_artifact(unsigned, expected_features=toy_features(data))


def test_signing_an_existing_model_vouches_for_its_files(signing_key, tmp_path: Path) -> None:
    from trueclout.models.artifact import sign_artifact
    from trueclout.models.signing import SignatureError

    data = toy_training_set(n=300, seed=1)
    signing_key(None)
    folder = toy_model(tmp_path / "m", data).path
    version = read_card(folder)["version"]
    with pytest.raises(SignatureError, match="TRUECLOUT_MODEL_SIGNING_KEY is not set"):
        sign_artifact(folder)
    signing_key(SIGNING_KEY)
    sign_artifact(folder)
    loaded = load_artifact(folder, expected_features=toy_features(data))
    assert loaded.signature_status == "verified" and loaded.version == version
    (folder / "account" / "calibration.json").write_text("{}")
    with pytest.raises(TamperedArtifactError):
        sign_artifact(folder)  # a damaged model is never signed


def test_same_seed_gives_identical_model_files(trained, tmp_path: Path) -> None:
    result, data = trained
    again = toy_model(tmp_path / "again", data)
    assert again.card["version"] == result.card["version"]
    first, second = read_card(result.path)["files"], read_card(again.path)["files"]
    assert first == second


def test_reports_can_be_attached_without_changing_the_version(trained, tmp_path: Path) -> None:
    result, data = trained
    copy = _copy(result.path, tmp_path / "m")
    card = attach_reports(copy, {"report/extra.json": b"{}"}, evaluations={"x": {"n": 1}})
    assert card["version"] == result.card["version"]
    loaded = load_artifact(copy, expected_features=toy_features(data))
    assert loaded.card["evaluations"] == {"x": {"n": 1}}
    with pytest.raises(Exception, match="reports go under report/"):
        attach_reports(copy, {"account/xgboost/overall.ubj": b""})


def test_card_describes_the_model(trained) -> None:
    result, _ = trained
    card = read_card(result.path)
    assert card["features"]["registry_version"] == TOY_REGISTRY_VERSION
    assert card["training"]["data"]["accounts"] == 900
    assert card["training"]["class_imbalance"].startswith("xgboost: scale_pos_weight")
    assert set(card["libraries"]) >= {"xgboost", "scikit-learn", "numpy", "python"}
    for level in ("elevated", "high"):
        th = card["thresholds"]["overall"][level]
        assert {"target_precision", "threshold", "precision", "recall"} <= set(th)
    assert all(len(d) == 64 for d in card["files"].values())
    assert set(card["metrics"]["learners"]) == {"xgboost", "logistic_regression",
                                                "random_forest"}
